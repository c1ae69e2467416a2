"""The command line as users run it: ask --json, the terminal chat, eval."""

from __future__ import annotations

import json
import re

from cli_runner import run_cli

from bot.maintainers.evaluation import BARS
from bot.understanding.engine import Engine

STATUSES = {"answer", "service", "ask_location", "suggest", "fallback"}
FIELDS = {"question", "status", "id", "topic", "score", "text", "suggestions", "services"}


def test_ask_json_one_question() -> None:
    result = run_cli("ask", "--json", "c koi un cio")
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    data = json.loads(line)
    assert set(data) >= FIELDS
    assert data["status"] == "answer" and data["id"] == "cio-quest-ce" and data["topic"] == "cio"
    assert isinstance(data["score"], float) and data["text"]


def test_ask_json_reads_lines_in_order(did_you_mean: str) -> None:
    questions = ["stage de surf en bretagne", "cio 94400", did_you_mean,
                 "où est le cio le plus proche", ""]
    result = run_cli("ask", "--json", stdin="\n".join(questions) + "\n")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in rows] == questions
    assert all(r["status"] in STATUSES for r in rows)
    surf, cio, stage, nearest, empty = rows
    assert surf["status"] == "fallback" and surf["id"] is None
    assert cio["status"] == "service" and cio["topic"] == "cio"
    first = cio["services"][0]
    assert {"name", "commune", "distance_km"} <= set(first)
    distances = [s["distance_km"] for s in cio["services"]]
    assert distances == sorted(distances)
    assert stage["status"] == "suggest" and 2 <= len(stage["suggestions"]) <= 3
    assert {"id", "topic", "question"} <= set(stage["suggestions"][0])
    assert nearest["status"] == "ask_location"
    assert empty["status"] == "fallback"


def test_ask_plain_text() -> None:
    result = run_cli("ask", "Le CIO est-il gratuit ?")
    assert result.returncode == 0
    assert "gratuit" in result.stdout.lower()


def test_chat_remembers_the_pending_place() -> None:
    result = run_cli("chat", stdin="où est le CIO le plus proche ?\nVillejuif\nquitter\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Dans quelle commune" in out
    assert "Les CIO les plus proches de Villejuif" in out and "CIO de Villejuif" in out


def test_chat_numbers_pick_a_choice(engine: Engine, did_you_mean: str) -> None:
    first = engine.respond(did_you_mean).suggestions[0]
    result = run_cli("chat", stdin=f"{did_you_mean}\n1\n")
    assert result.returncode == 0
    assert "Vouliez-vous dire" in result.stdout
    assert first.answer.splitlines()[0] in result.stdout  # choice 1 opened that entry


def test_run_without_token_starts_the_terminal_chat() -> None:
    result = run_cli(stdin="bonjour\n")
    assert result.returncode == 0
    assert "TELEGRAM_BOT_TOKEN" in result.stdout  # the one-line note on how to connect Telegram
    assert "Orientation 94" in result.stdout


def _percent(out: str, label: str) -> float:
    match = re.search(rf"{label}\s*: ([\d.]+) %", out)
    assert match, out[:500]
    return float(match.group(1))



def test_eval_scores_and_exit_code() -> None:
    result = run_cli("eval", timeout=120)
    out = result.stdout
    top1 = _percent(out, "bonne réponse du premier coup")
    wrong = _percent(out, "réponses sûres mais fausses")
    declined = _percent(out, "questions bien déclinées")
    # The regression bars, on the shipped base: a change that breaks one of them fails CI.
    assert top1 >= 100 * BARS["top1"], out[-3000:]
    assert wrong <= 100 * BARS["confident_wrong"], out[-3000:]
    assert declined >= 100 * BARS["declined"], out[-3000:]
    assert result.returncode == 0
    assert "RÉUSSI" in out


def test_eval_under_the_bars_exits_1_and_lists_failures(tmp_path) -> None:
    questions = tmp_path / "hard.yaml"
    questions.write_text(
        'questions:\n  - q: "c koi un cio"\n    expect: cio-quest-ce\n'
        '  - q: "recette de la blanquette"\n    expect: jump-in-tech-cout\n'
        '  - q: "stage de surf"\n    expect: decline\n',
        encoding="utf-8",
    )
    result = run_cli("eval", "--questions", str(questions))
    assert result.returncode == 1
    assert "SOUS LE SEUIL" in result.stdout
    assert "recette de la blanquette" in result.stdout and "attendu jump-in-tech-cout" in result.stdout


def test_chat_themes_are_choices_and_links_stand_apart(engine: Engine) -> None:
    topics = list(engine.kb.topics.values())
    stage = next(i for i, t in enumerate(topics, 1) if t.id == "stage-3e")
    result = run_cli("chat", stdin=f"/themes\n{stage}\n1\n")
    out = result.stdout
    assert result.returncode == 0
    assert f"{stage}. {topics[stage - 1].title}" in out  # the menu, numbered
    first = engine.kb.entries_of("stage-3e")[0]
    assert f"1. {first.title}" in out and first.answer.splitlines()[0] in out  # theme, then its entry
    # The entry's links come before its numbered follow-ups, never under the last one.
    answer = out[out.index(first.answer.splitlines()[0]):]
    link = first.links[0]
    assert answer.index(link.url) < answer.index("\n1. ")


def test_a_message_pasted_on_several_lines_is_one_message() -> None:
    """In a real terminal (a pseudo-terminal here), a pasted three-line message gets one reply."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    from cli_runner import REPO, clean_env

    leader, follower = pty.openpty()
    chat = subprocess.Popen([sys.executable, str(REPO / "run_bot.py"), "chat"], stdin=follower,
                            stdout=follower, stderr=subprocess.DEVNULL, cwd=REPO, env=clean_env())
    os.close(follower)

    def read_until(marker: str, limit: float = 60) -> str:
        out, deadline = "", time.monotonic() + limit
        while marker not in out and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.5)[0]:
                out += os.read(leader, 65536).decode("utf-8", "replace")
        return out

    try:
        read_until("> ")
        os.write(leader, b"Bonjour,\nc'est quoi\nun CIO ?\n")
        out = read_until("Qu'est-ce qu'un CIO ?")
        out += read_until("never printed", limit=3)  # whatever else comes: there must be nothing
        assert out.count("Qu'est-ce qu'un CIO ?") == 1 and out.count("> ") == 1, out
        os.write(leader, b"quitter\n")
        assert chat.wait(timeout=30) == 0
    finally:
        chat.kill()
        os.close(leader)


def test_chat_a_listed_place_is_picked_by_its_number(engine: Engine) -> None:
    listed = engine.respond("cio vitry")
    second, question = listed.services[1].service, listed.choices[0]
    result = run_cli("chat", stdin="cio vitry\n2\n4\n")
    out = result.stdout
    assert result.returncode == 0
    assert f"4. {question.title}" in out  # the questions are numbered after the three places
    details = out[out.index(f"\n{second.name}\n"):]  # "2": the second place on its own
    assert second.phone and second.phone in details and "openstreetmap" in details
    assert question.answer.splitlines()[0] in details  # "4": the question listed after the places


def test_ask_and_chat_say_honestly_a_town_or_postcode_is_outside_the_94() -> None:
    questions = ["cio lyon", "cio 69001", "cio à Tours", "classe Alpha, c'est pour qui ? j'habite à Vitry"]
    result = run_cli("ask", "--json", stdin="\n".join(questions) + "\n")
    lyon, code, tours, alpha = (json.loads(line) for line in result.stdout.splitlines())
    assert [lyon["decided_by"], code["decided_by"], tours["decided_by"]] == ["outside-94"] * 3
    assert "Lyon" in lyon["text"] and "69001" in code["text"] and "Tours" in tours["text"]
    assert alpha["topic"] == "classe-alpha" and alpha["id"] != "classe-alpha-ou"
    # In the terminal, asked for a town, a town outside gets the same honest answer.
    chat = run_cli("chat", stdin="où est le CIO le plus proche ?\nje suis à Marseille\n").stdout
    assert "Marseille n'en fait pas partie" in chat and "service-public.fr" in chat
