"""The helpline index on its own: prefixes, phrases, overlaps and file order."""

from __future__ import annotations

from datetime import date

from bot.engine import Engine
from bot.knowledge import Entry
from bot.safety import SafetyIndex


def _entry(entry_id: str, *triggers: str) -> Entry:
    return Entry(entry_id, "securite", (entry_id,), "réponse", ("source",), date(2026, 1, 1), triggers=triggers)


def test_prefixes_of_any_length_phrases_and_overlaps(engine: Engine) -> None:
    first = _entry("premiere", "me tuer", "ag*")
    second = _entry("seconde", "menace de me tuer", "harcel*", "on me suit")
    index = SafetyIndex(engine.normaliser, [first, second])

    def found(text: str) -> str | None:
        hit = index.find(engine.normaliser.words(text))
        return hit.id if hit else None

    assert found("je suis harcelee") == "seconde"  # a prefix of 6 letters
    assert found("on m agresse") == "premiere"  # a prefix shorter than the index key
    assert found("il menace de me tuer") == "seconde"  # the longer overlapping trigger
    assert found("je veux me tuer") == "premiere"
    assert found("on me suit et je veux me tuer") == "premiere"  # no overlap: file order
    assert found("bonjour, une question sur le stage") is None
