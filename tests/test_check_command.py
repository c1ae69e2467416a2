"""`run_bot.py check` on broken copies of the real files: each mistake with its file and line."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from cli_runner import run_cli

from bot.knowledge.loader import load_knowledge

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, target)
    return target


def line_of(path: Path, needle: str, start: int = 1) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if number >= start and needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def check(kb: Path) -> tuple[int, list[str]]:
    result = run_cli("check", "--knowledge", str(kb))
    return result.returncode, result.stdout.splitlines()


def reported(lines: list[str], path: Path, line: int, words: str) -> bool:
    pattern = re.compile(rf"{re.escape(str(path))}:{line}: .*{words}")
    return any(pattern.search(entry) for entry in lines)


def test_shipped_knowledge_passes() -> None:
    result = run_cli("check")
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("OK")


def test_every_entry_has_sources_and_a_date() -> None:
    kb, _ = load_knowledge(KNOWLEDGE)
    assert len(kb.entries) >= 60
    for entry in kb.entries.values():
        assert entry.sources, entry.id
        assert entry.verified <= date.today(), entry.id
        assert len(entry.questions) >= 5, entry.id
    for service in kb.services.values():
        assert service.sources, service.id


def test_every_topic_of_the_design_exists() -> None:
    kb, _ = load_knowledge(KNOWLEDGE)
    expected = {
        "cio", "stage-3e", "stage-2nde", "jump-in-tech", "classe-alpha", "prepa-talents", "cordees",
        "pre", "oepre", "cites-educatives", "afev", "devoirs-faits", "petit-dejeuner", "ecole-melies",
        "entreprise", "securite", "chit-chat",
    }
    assert expected <= set(kb.topics)
    assert len(kb.communes) == 47
    assert sum(s.kind == "cio" for s in kb.services.values()) == 10


def test_yaml_syntax_error(kb_copy: Path) -> None:
    path = kb_copy / "faq" / "cio.yaml"
    line = line_of(path, "answer: |")
    replace_once(path, "answer: |", "answer: : [")
    code, lines = check(kb_copy)
    assert code == 1
    assert any(entry.startswith(f"{path}:") and "YAML invalide" in entry for entry in lines), lines
    assert any(f"{path}:{n}:" in "\n".join(lines) for n in (line, line + 1)), lines


def test_tab_indentation_is_explained(kb_copy: Path) -> None:
    path = kb_copy / "faq" / "afev.yaml"
    replace_once(path, "\n  - id:", "\n\t- id:")
    code, lines = check(kb_copy)
    assert code == 1
    assert any(str(path) in entry and "tabulation" in entry for entry in lines), lines


def test_unknown_and_missing_fields(kb_copy: Path) -> None:
    path = kb_copy / "faq" / "stage-3e.yaml"
    replace_once(path, "    sources:", "    sourcse:")
    line = line_of(path, "sourcse:")
    code, lines = check(kb_copy)
    assert code == 1
    assert reported(lines, path, line, "champ inconnu « sourcse »"), lines
    assert any(str(path) in entry and "« sources » est obligatoire" in entry for entry in lines), lines


def test_duplicate_id_names_both_places(kb_copy: Path) -> None:
    path = kb_copy / "faq" / "stage-3e.yaml"
    replace_once(path, "id: stage-3e-administration", "id: stage-2nde-trouver")
    line = line_of(path, "id: stage-2nde-trouver")
    code, lines = check(kb_copy)
    assert code == 1
    assert reported(lines, path, line, "« stage-2nde-trouver » est déjà utilisé .*stage-2nde.yaml:\\d+"), lines


def test_follow_up_to_nowhere(kb_copy: Path) -> None:
    path = kb_copy / "faq" / "jump-in-tech.yaml"
    line = line_of(path, "follow_up:")
    text = path.read_text(encoding="utf-8").splitlines()
    text[line - 1] = text[line - 1].replace("[", "[jump-in-tech-nulle-part, ", 1)
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    code, lines = check(kb_copy)
    assert code == 1
    assert reported(lines, path, line, "aucune entrée « jump-in-tech-nulle-part »"), lines


def test_service_in_unknown_commune_and_postcode_outside(kb_copy: Path) -> None:
    path = kb_copy / "services.yaml"
    replace_once(path, 'commune_insee: "94028"', 'commune_insee: "93008"')
    replace_once(path, 'postcode: "94000"', 'postcode: "75013"')
    code, lines = check(kb_copy)
    assert code == 1
    assert reported(lines, path, line_of(path, '"93008"'), "commune « 93008 » inconnue"), lines
    assert reported(lines, path, line_of(path, '"75013"'), "hors du Val-de-Marne"), lines


def test_bad_url(kb_copy: Path) -> None:
    path = kb_copy / "faq" / "stage-3e.yaml"
    text = path.read_text(encoding="utf-8")
    url = re.search(r'url: "?(https://[^"\s}]+)', text).group(1)  # type: ignore[union-attr]
    replace_once(path, url, "htps//monstage")
    code, lines = check(kb_copy)
    assert code == 1
    assert reported(lines, path, line_of(path, "htps//monstage"), "adresse web invalide"), lines


def test_commune_postcode_outside_94(kb_copy: Path) -> None:
    path = kb_copy / "communes.yaml"
    replace_once(path, '"94400"', '"91400"')
    code, lines = check(kb_copy)
    assert code == 1
    assert reported(lines, path, line_of(path, '"91400"'), "hors du Val-de-Marne"), lines


def test_stale_verified_date_is_a_warning(kb_copy: Path) -> None:
    path = kb_copy / "faq" / "oepre.yaml"
    old = (date.today() - timedelta(days=400)).isoformat()
    data = path.read_text(encoding="utf-8")
    first = re.search(r"verified: (\S+)", data).group(1)  # type: ignore[union-attr]
    replace_once(path, f"verified: {first}", f"verified: {old}")
    code, lines = check(kb_copy)
    assert code == 0, lines
    assert reported(lines, path, line_of(path, f"verified: {old}"), "avertissement : vérifié le .* plus d'un an"), lines


def test_entry_without_sources_is_an_error(kb_copy: Path) -> None:
    path = kb_copy / "faq" / "afev.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["entries"][0]["sources"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    code, lines = check(kb_copy)
    assert code == 1
    assert any(str(path) in entry and "« sources » est obligatoire" in entry for entry in lines), lines


def test_all_problems_reported_at_once(kb_copy: Path) -> None:
    replace_once(kb_copy / "faq" / "cio.yaml", "    sources:", "    sourcse:")
    replace_once(kb_copy / "services.yaml", 'commune_insee: "94028"', 'commune_insee: "93008"')
    code, lines = check(kb_copy)
    assert code == 1
    assert sum("erreur" not in entry and ".yaml:" in entry for entry in lines) >= 3
    assert "cio.yaml" in "\n".join(lines) and "services.yaml" in "\n".join(lines)


def test_broken_file_does_not_take_the_bot_down(kb_copy: Path) -> None:
    (kb_copy / "faq" / "cio.yaml").write_text("topic: cio\nentries: [oops\n", encoding="utf-8")
    result = run_cli("ask", "--json", "--knowledge", str(kb_copy), "Comment trouver un stage de 3e ?")
    assert result.returncode == 0
    assert '"status": "answer"' in result.stdout
    assert "erreur" in result.stderr


def test_a_base_whose_every_entry_failed_still_answers_with_the_helplines(kb_copy: Path) -> None:
    """A mistake repeated in every FAQ file leaves no entry: the bot says it does not know and
    still gives the numbers, where it used to fail on every message."""
    for path in (kb_copy / "faq").glob("*.yaml"):
        path.write_text(path.read_text(encoding="utf-8") + "  - : [\n", encoding="utf-8")
    result = run_cli("ask", "--json", "--knowledge", str(kb_copy), "je veux plus vivre")
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["status"] == "fallback" and reply["id"] is None
    assert "119" in reply["text"] and "3114" in reply["text"]
    assert "erreur" in result.stderr


def test_impossible_date_and_unknown_service_topic(kb_copy: Path) -> None:
    path = kb_copy / "faq" / "petit-dejeuner.yaml"
    first = re.search(r"verified: (\S+)", path.read_text(encoding="utf-8")).group(1)  # type: ignore[union-attr]
    replace_once(path, f"verified: {first}", "verified: 2026-25-11")
    services = kb_copy / "services.yaml"
    replace_once(services, "topics: [afev]", "topics: [afevv]")
    code, lines = check(kb_copy)
    assert code == 1
    assert reported(lines, path, line_of(path, "2026-25-11"), "date impossible"), lines
    assert any(str(services) in entry and "thème « afevv » inconnu" in entry for entry in lines), lines


def test_empty_file_bad_theme_name_and_missing_title(kb_copy: Path) -> None:
    (kb_copy / "faq" / "chit-chat.yaml").write_text("", encoding="utf-8")
    (kb_copy / "faq" / "Thème Test.yaml").write_text(
        (kb_copy / "faq" / "afev.yaml").read_text(encoding="utf-8").replace("topic: afev", "topic: Thème Test", 1),
        encoding="utf-8",
    )
    cio = kb_copy / "faq" / "cio.yaml"
    cio.write_text(re.sub(r"(?m)^title:.*\n", "", cio.read_text(encoding="utf-8"), count=1), encoding="utf-8")
    code, lines = check(kb_copy)
    assert code == 1
    assert any("chit-chat.yaml:1: fichier vide" in entry for entry in lines), lines
    assert any("Thème Test.yaml" in entry and "nom de thème" in entry for entry in lines), lines
    assert any(f"{cio}:" in entry and "« title » est obligatoire" in entry for entry in lines), lines
    # The bot still answers, without the broken theme rather than with half of it.
    result = run_cli("ask", "--json", "--knowledge", str(kb_copy), "c koi un cio")
    assert result.returncode == 0, result.stderr
    assert '"status": "answer"' not in result.stdout or '"topic": "cio"' not in result.stdout


def test_triggers_outside_securite_and_bad_phone_leave_the_item_out(kb_copy: Path) -> None:
    path = kb_copy / "faq" / "afev.yaml"
    replace_once(path, "    answer:", "    triggers: [afev]\n    answer:")
    services = kb_copy / "services.yaml"
    replace_once(services, 'phone: "01 46 77 69 33"', 'phone: "0146776933"')
    code, lines = check(kb_copy)
    assert code == 1
    assert any("réservé au thème « securite »" in entry for entry in lines), lines
    result = run_cli("ask", "--knowledge", str(kb_copy), "cio villejuif")
    assert "0146776933" not in result.stdout  # the broken place is not shown half-right


def test_unknown_intent_is_a_warning_and_only_the_intent_is_dropped(kb_copy: Path) -> None:
    path = kb_copy / "faq" / "pre.yaml"
    replace_once(path, "    intent: qui", "    intent:\n      - qui\n      - pour-qui")
    code, lines = check(kb_copy)
    assert code == 0, lines  # intents only break ties: the entry stays in service
    line = line_of(path, "- pour-qui")  # the item itself, not the field
    assert reported(lines, path, line, "avertissement : « intent » : « pour-qui » n'est pas dans « intents »"), lines
    assert any("(connues : contact, endroit, inscription, prix, quand, qui, quoi) ; ignorée" in e for e in lines)
    kb, _ = load_knowledge(kb_copy)
    assert kb.entries["pre-qui"].intents == ("qui",)


def test_malformed_intents_in_language_file(kb_copy: Path) -> None:
    path = kb_copy / "language.yaml"
    replace_once(path, "  quand: [quand]", "  quand: []\n  Pour Qui: [qui]")
    replace_once(path, "  endroit: [endroit,", "  ailleurs: [endroit,")
    code, lines = check(kb_copy)
    assert code == 1
    assert reported(lines, path, line_of(path, "quand: []"), "« quand » ne peut pas être vide"), lines
    assert reported(lines, path, line_of(path, "Pour Qui"), "intention « Pour Qui » : minuscules"), lines
    assert reported(lines, path, line_of(path, "intents:"), "sans « endroit »"), lines
    # The entries that answered "quand" lose that intent only, and the bot still answers.
    faq = kb_copy / "faq" / "jump-in-tech.yaml"
    assert reported(lines, faq, line_of(faq, "intent: quand"), "« quand » n'est pas dans « intents »"), lines
    kb, _ = load_knowledge(kb_copy)
    assert "jump-in-tech-dates" in kb.entries
    assert "cio-quest-ce" in run_cli("ask", "--json", "--knowledge", str(kb_copy), "c koi un cio").stdout


def test_suspicious_triggers_are_warned_with_their_line(kb_copy: Path) -> None:
    path = kb_copy / "faq" / "securite.yaml"
    replace_once(path, "      - suicide\n", '      - suicide\n      - "l*"\n      - "frapp* moi"\n')
    code, lines = check(kb_copy)
    assert code == 0, lines  # warnings: the helplines stay in service
    assert reported(lines, path, line_of(path, '- "l*"'), "au moins 4 lettres avant « \\* »"), lines
    assert reported(lines, path, line_of(path, '- "frapp* moi"'), "« \\* » seulement à la fin"), lines


def test_the_cause_in_the_faq_comes_before_its_consequences_in_eval(kb_copy: Path) -> None:
    # A broken id: the entry is left out, so the eval.yaml questions that expect it fail too.
    path = kb_copy / "faq" / "cio.yaml"
    replace_once(path, "id: cio-gratuit", "id: Cio Gratuit!")
    code, lines = check(kb_copy)
    assert code == 1
    problems = [line for line in lines if re.match(r".+\.yaml:\d+: ", line)]
    in_faq = [i for i, line in enumerate(problems) if "faq/cio.yaml" in line]
    in_eval = [i for i, line in enumerate(problems) if "eval.yaml" in line]
    assert in_faq and in_eval, lines
    assert max(in_faq) < min(in_eval), problems


def test_the_guide_tables_of_fields_are_made_from_the_loader_tables() -> None:
    """Each field is declared once, in bot/knowledge/loader.py; the guide's tables are made from it."""
    from bot.knowledge.loader import ENTRY, SERVICE, guide_with_tables

    guide = (KNOWLEDGE / "README.md").read_text(encoding="utf-8")
    assert guide == guide_with_tables(guide), "relancez : python -m bot.knowledge.loader --guide"
    assert ENTRY.guide_table() in guide and SERVICE.guide_table() in guide


def test_an_entry_with_broken_keywords_is_left_out_whole(kb_copy: Path) -> None:
    path = kb_copy / "faq" / "cio.yaml"
    replace_once(path, "    keywords: [gratuit, payant, prix, combien coute]", "    keywords: {gratuit: oui}")
    line = line_of(path, "keywords: {gratuit: oui}")
    code, lines = check(kb_copy)
    assert code == 1 and reported(lines, path, line, "« keywords » doit être une liste de textes"), lines
    kb, _ = load_knowledge(kb_copy)
    assert "cio-gratuit" not in kb.entries  # never loaded half, without its keywords
    assert "cio-gratuit" not in kb.topics["cio"].entry_ids


def test_every_error_of_an_entry_at_once_its_follow_up_included(kb_copy: Path) -> None:
    path = kb_copy / "faq" / "cio.yaml"
    replace_once(path, "    follow_up: [cio-plus-proche, cio-rendez-vous]",
                 "    follow_up: [cio-plus-proche, cio-nulle-part]\n    keyword: [oups]")
    code, lines = check(kb_copy)
    assert code == 1
    assert reported(lines, path, line_of(path, "keyword: [oups]"), "champ inconnu « keyword »"), lines
    assert reported(lines, path, line_of(path, "cio-nulle-part"), "aucune entrée « cio-nulle-part »"), lines


def test_a_follow_up_to_an_entry_left_out_is_dropped_not_reported(kb_copy: Path) -> None:
    # cio-rendez-vous is left out for its own error; the entries offering it lose that button only.
    path = kb_copy / "faq" / "cio.yaml"
    replace_once(path, "  - id: cio-rendez-vous\n", "  - id: cio-rendez-vous\n    oops: 1\n")
    code, lines = check(kb_copy)
    assert code == 1 and reported(lines, path, line_of(path, "oops: 1"), "champ inconnu « oops »"), lines
    assert not [entry for entry in lines if "« follow_up » de" in entry], lines
    kb, _ = load_knowledge(kb_copy)
    assert "cio-rendez-vous" not in kb.entries and "cio-gratuit" in kb.entries
    assert kb.entries["cio-gratuit"].follow_up == ("cio-plus-proche",)
    assert all("cio-rendez-vous" not in e.follow_up for e in kb.entries.values())


def test_a_place_attached_to_an_unknown_place_is_left_out_whole(kb_copy: Path) -> None:
    replace_once(kb_copy / "services.yaml", "attached_to: cio-vincennes", "attached_to: cio-nulle-part")
    code, lines = check(kb_copy)
    assert code == 1 and any("« attached_to » : service « cio-nulle-part » inconnu" in entry for entry in lines)
    kb, _ = load_knowledge(kb_copy)
    assert "point-accueil-nogent-sur-marne" not in kb.services


def test_services_of_a_commune_left_out_say_why(kb_copy: Path) -> None:
    replace_once(kb_copy / "communes.yaml", 'postcodes: ["94000"]', 'postcodes: ["9400"]')
    code, lines = check(kb_copy)
    assert code == 1 and any("code postal « 9400 »" in entry for entry in lines), lines
    services = [entry for entry in lines if "services.yaml" in entry and "94028" in entry]
    assert services and all("écartée pour une erreur dans communes.yaml" in entry for entry in services)
    assert not [entry for entry in lines if "« 94028 » inconnue" in entry]


def test_a_duplicate_with_a_bad_follow_up_never_removes_the_original(kb_copy: Path) -> None:
    (kb_copy / "faq" / "zz.yaml").write_text(
        "topic: zz\ntitle: Doublon\nentries:\n  - id: cio-quest-ce\n    questions: [doublon ?]\n"
        "    answer: doublon\n    sources: [source]\n    verified: 2026-11-25\n    follow_up: [n-existe-pas]\n"
        "  - id: zz-seule\n    questions: [seule ?]\n    answer: seule\n    sources: [source]\n"
        "    verified: 2026-11-25\n", encoding="utf-8")
    code, lines = check(kb_copy)
    assert code == 1 and any("déjà utilisé" in entry for entry in lines), lines
    kb, _ = load_knowledge(kb_copy)
    assert kb.entries["cio-quest-ce"].file.endswith("cio.yaml")  # the original stays
