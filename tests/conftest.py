"""Shared fixtures: the real knowledge base and engine, built once."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import SHARED_CACHE

from bot.understanding.engine import Engine

REPO = Path(__file__).resolve().parent.parent
KNOWLEDGE = REPO / "knowledge"


@pytest.fixture(scope="session")
def engine() -> Engine:
    built, problems = Engine.load(KNOWLEDGE, SHARED_CACHE)
    assert not [p for p in problems if p.is_error], problems
    return built


# Short, vague messages. Which of them the bot answers with "did you mean" moves from one fit to
# the next ("stage c quand" was one until the twentieth session's last fits); the tests of what a
# did-you-mean carries take the first that is one.
VAGUE = ("stage c quand", "aide pour mon fils", "stage quand", "bourse c quand", "inscription stage")


@pytest.fixture(scope="session")
def did_you_mean(engine: Engine) -> str:
    from bot.understanding.engine import SUGGEST

    found = [text for text in VAGUE if engine.respond(text).status == SUGGEST]
    assert found, "none of the vague messages is a did-you-mean any more: add one"
    return found[0]
