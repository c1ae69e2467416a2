"""What families in the 94 ask first, asked through `ask` as a maintainer would: the right theme."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cli_runner import REPO, run_cli

# The questions quoted in the issue that asked for these themes (each got "je ne sais pas").
FIRST_QUESTIONS = {
    "Qui est concerné par le système Affelnet ?": "affelnet",
    "comment marche affelnet à Créteil, combien de vœux, c'est quand": "affelnet",
    "ai-je bien fait de choisir la seconde générale ? bac pro ?": "apres-3e",
    "c'est quoi un bac pro": "apres-3e",
    "CAP boulangerie en apprentissage, comment trouver un patron": "apprentissage",
    "comment demander la bourse de collège, on a reçu un papier": "bourses",
    "mon fils est en ULIS avec un dossier MDPH, que faire après la 3e": "handicap",
    "peut-on faire appel de la décision d'orientation": "appel-orientation",
    "Parcoursup c'est quand cette année": "parcoursup",
    "il a 16 ans et ne va plus au lycée": "decrochage",
}


def test_what_families_ask_first_reaches_its_theme() -> None:
    result = run_cli("ask", "--json", stdin="\n".join(FIRST_QUESTIONS) + "\n")
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        row = json.loads(line)
        assert row["status"] == "answer" and row["topic"] == FIRST_QUESTIONS[row["question"]], row


def test_the_menu_puts_what_families_ask_most_first() -> None:
    from bot.knowledge.loader import load_knowledge

    kb, _ = load_knowledge(REPO / "knowledge", check_eval=False)
    menu = list(kb.topics)
    assert menu[0] == "securite"  # the help theme, always visible
    assert menu.index("apres-3e") < menu.index("ecole-melies")
    assert set(menu) == {path.stem for path in (REPO / "knowledge" / "faq").glob("*.yaml")}


def test_check_warns_of_a_sentence_too_long_for_a_parent(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", knowledge)
    faq = knowledge / "faq" / "cio.yaml"
    long_sentence = " ".join(["mot"] * 30) + "."
    faq.write_text(faq.read_text(encoding="utf-8").replace(
        "      Oui, c'est gratuit.\n", f"      Oui, c'est gratuit. {long_sentence}\n", 1), encoding="utf-8")
    result = run_cli("check", "--knowledge", str(knowledge))
    assert "une phrase de 30 mots : coupez-la" in result.stdout
    assert result.returncode == 0  # a warning: the answer is still shown
