"""Question sets: messages written as families write them, each with the reply expected.

A question expects one of: an entry (`expect: id` or a list of ids), a theme
(`expect_topic: stage-3e`, for sets written blind to the FAQ, graded by theme), a decline
(`expect: decline`), the helplines (`expect: helpline`) or no helplines (`expect: ordinary`).
A question may say its language (`lang: ar`). `eval` scores the bot on a set; the sets listed
in `knowledge/fit/sets.yaml` are learnt from (`fit`) and read by the bot as examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.loader import expectations
from bot.knowledge.yaml_source import YamlError, load_yaml

FIT_DIR = "fit"
SETS_FILE = "sets.yaml"  # in knowledge/fit/: the question sets the fit learns from


@dataclass(frozen=True)
class Question:
    text: str
    expected: tuple[str, ...]  # entry ids, topic ids, or one of the words below
    by_topic: bool = False
    lang: str | None = None

    @property
    def kind(self) -> str:
        if self.expected in (("decline",), ("helpline",), ("ordinary",)):
            return self.expected[0]
        return "topic" if self.by_topic else "entry"


def load_questions(path: Path) -> list[Question]:
    data = load_yaml(path) or {}  # the project's loader: "q: non" stays text, not False
    questions = []
    for item in data["questions"]:
        topic = expectations(item.get("expect_topic"))
        expected = topic or expectations(item.get("expect"))
        if not expected:
            raise ValueError(f"question sans « expect » : {item.get('q')!r}")
        lang = item.get("lang")
        questions.append(Question(str(item["q"]), expected, bool(topic), str(lang) if lang else None))
    return questions


def listed_sets(root: Path) -> tuple[list[Path], str | None]:
    """The question sets listed in knowledge/fit/sets.yaml, and what is wrong with the list."""
    listing = root / FIT_DIR / SETS_FILE
    if not listing.exists():
        return [], None
    try:
        names = (load_yaml(listing) or {}).get("sets") or []
    except (YamlError, AttributeError, OSError) as exc:  # OSError: a folder, a file it may not read
        return [], f"{FIT_DIR}/{SETS_FILE} illisible ({exc}) : aucun jeu de questions appris"
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return [], f"{FIT_DIR}/{SETS_FILE} : « sets » doit être une liste de chemins de fichiers"
    paths, refused = [], []
    for name in names:
        try:
            paths.append((listing.parent / name).resolve())
        except (OSError, ValueError):  # a name the system cannot take ("a\0b"): left out
            refused.append(repr(name))
    if refused:
        return paths, f"{FIT_DIR}/{SETS_FILE} : chemin impossible, laissé de côté : {', '.join(refused)}"
    return paths, None
