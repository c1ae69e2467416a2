"""`run_bot.py report`: the inbox for maintainers who do not use Telegram, from a real SQLite file."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from cli_runner import run_cli

from bot.maintainers.report import group_similar
from bot.storage.store import Store


def fill(data_dir: Path) -> None:
    with Store.open(data_dir) as store:
        for text in ("horaires de la piscine de Vitry ?", "horaire piscine vitry", "Horaires piscine Vitry svp"):
            store.record_question("fallback", None, text, text.lower(), [])
        store.record_question("suggest", None, "bourse au lycée", "bourse lycee", ["prepa-talents-bourse"])
        store.record_question("answer", "cio-quest-ce", "c koi un cio", "c quoi un cio", [])
        store.record_question("fallback", None, "appelez moi au 06 12 34 56 78", "appelez moi", [])
        store.record_feedback("cio-gratuit", False)
        store.record_feedback("cio-gratuit", False)
        store.record_feedback("cio-gratuit", True)


def test_grouping_puts_rewordings_together() -> None:
    groups = group_similar([("a", "horaires piscine vitry"), ("b", "horaire piscine vitry"), ("c", "bourse lycee")])
    assert [g.count for g in groups] == [2, 1]


def test_markdown_report(tmp_path: Path) -> None:
    fill(tmp_path)
    result = run_cli("report", env={"BOT_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "| 3 | horaires de la piscine de Vitry ? |" in out
    assert "bourse au lycée" in out
    assert "c koi un cio" not in out  # answered questions keep no text
    assert "06 12 34 56 78" not in out and "[téléphone]" in out  # masked before storage
    assert "| cio-gratuit | 2 | 1 |" in out


def test_csv_report(tmp_path: Path) -> None:
    fill(tmp_path)
    result = run_cli("report", "--format", "csv", env={"BOT_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    declined = [r for r in rows if r["section"] == "declined"]
    assert declined[0]["count"] == "3"
    assert {r["entry"] for r in rows if r["section"] == "feedback"} == {"cio-gratuit"}


def test_stale_entries_are_listed(tmp_path: Path) -> None:
    import shutil

    knowledge = tmp_path / "knowledge"
    shutil.copytree(Path(__file__).resolve().parent.parent / "knowledge", knowledge)
    path = knowledge / "faq" / "afev.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"verified: \d{4}-\d\d-\d\d", "verified: 2024-01-10", text, count=1), encoding="utf-8")
    fill(tmp_path / "data")
    result = run_cli("report", "--knowledge", str(knowledge), env={"BOT_DATA_DIR": str(tmp_path / "data")})
    assert result.returncode == 0, result.stderr
    assert "vérifiée le 2024-01-10" in result.stdout


def test_report_without_a_base_says_so(tmp_path: Path) -> None:
    result = run_cli("report", env={"BOT_DATA_DIR": str(tmp_path / "nothing")})
    assert result.returncode == 1
    assert "Aucune base" in result.stderr
    assert not (tmp_path / "nothing").exists()  # nothing created by looking
