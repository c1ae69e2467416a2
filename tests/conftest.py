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
