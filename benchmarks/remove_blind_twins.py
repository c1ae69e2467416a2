"""Remove from knowledge/fit/written/ the messages identical to one of a still-blind set's.

A training message identical to a blind one (the same words, case and punctuation aside) teaches
the fit that very question, and the blind set then measures nothing for it. The still-blind
folders are listed in benchmarks/still_blind.yaml; `tests/test_policy.py` fails while such a twin
is left. This script removes each twin's whole item (its `q` and the lines under it), keeps every
other line and comment as it is, and notes in the file's header which blind sets were checked.
Run `python run_bot.py fit` afterwards: the training data changed.

Run:  python benchmarks/remove_blind_twins.py            (--dry-run: only list them)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
STILL_BLIND_FILE = REPO / "benchmarks" / "still_blind.yaml"
WRITTEN = REPO / "knowledge" / "fit" / "written"
ITEM = re.compile(r"^( *)- q:")


def plain(text: str) -> str:
    """The words of a message, lower-cased: how twins are recognised."""
    return " ".join(re.findall(r"\w+", str(text).lower()))


def still_blind() -> list[str]:
    return list(yaml.safe_load(STILL_BLIND_FILE.read_text(encoding="utf-8"))["still_blind"])


def blind_texts(folders: list[str]) -> set[str]:
    return {plain(item["q"]) for folder in folders
            for path in sorted((REPO / "benchmarks" / folder).glob("*.yaml"))
            for item in yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]}


def without_twins(text: str, blind: set[str]) -> tuple[str, list[str]]:
    """The file's text without the items whose message is a twin, and those messages."""
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    removed: list[str] = []
    i = 0
    while i < len(lines):
        start = ITEM.match(lines[i])
        if not start:
            kept.append(lines[i])
            i += 1
            continue
        indent = len(start.group(1))
        end = i + 1  # the item goes on while its lines are indented under its "- "
        while end < len(lines) and lines[end].strip() and len(lines[end]) - len(lines[end].lstrip(" ")) > indent:
            end += 1
        item = yaml.safe_load("".join(line[indent:] for line in lines[i:end]))[0]
        if plain(item["q"]) in blind:
            removed.append(str(item["q"]))
        else:
            kept.extend(lines[i:end])
        i = end
    return "".join(kept), removed


def noted(text: str, folders: list[str]) -> str:
    """The header says which blind sets the file was checked against (once per set)."""
    header, sep, body = text.partition("questions:\n")
    missing = [f for f in folders if not re.search(rf"\b{f}\b", header)]
    if not sep or not missing:
        return text
    return f"{header}# Messages identical to one of {', '.join(missing)} were removed.\n{sep}{body}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="list the twins, change nothing")
    args = parser.parse_args()
    folders = still_blind()
    blind = blind_texts(folders)
    total = 0
    for path in sorted(WRITTEN.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        cleaned, removed = without_twins(text, blind)
        if not removed:
            continue
        total += len(removed)
        print(f"{path.relative_to(REPO)} : {len(removed)} — " + " | ".join(removed))
        if not args.dry_run:
            cleaned = noted(cleaned, folders)
            before = yaml.safe_load(text)["questions"]
            after = yaml.safe_load(cleaned)["questions"]
            assert len(after) == len(before) - len(removed), path  # nothing else touched
            path.write_text(cleaned, encoding="utf-8")
    verb = "à retirer" if args.dry_run else "retirés"
    print(f"{total} message(s) identique(s) à un jeu encore aveugle ({', '.join(folders)}) {verb}.")
    if total and not args.dry_run:
        print("Relancez ensuite : python run_bot.py fit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
