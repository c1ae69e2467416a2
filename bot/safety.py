"""Safety first: find the helpline entry a message calls for, wherever it says so."""

from __future__ import annotations

from bot.knowledge import Entry
from bot.text import Normaliser


class SafetyIndex:
    """The securite entries' triggers, indexed by first word so a long message is read once.

    A trigger is a word or phrase; a last word ending in * is a prefix ("frapp*" matches
    frappe, frapper, frappent). When several entries fire, the first in file order wins.
    """

    def __init__(self, normaliser: Normaliser, entries: list[Entry]) -> None:
        self._rank = {entry.id: i for i, entry in enumerate(entries)}
        self._by_first: dict[str, list[tuple[tuple[str, ...], Entry]]] = {}
        self._prefixes: list[tuple[str, tuple[str, ...], Entry]] = []  # first word is a prefix
        for entry in entries:
            for trigger in entry.triggers:
                words = list(normaliser.words(trigger.rstrip("*")))
                if not words:
                    continue
                if trigger.endswith("*"):
                    words[-1] += "*"
                if len(words) == 1 and words[0].endswith("*"):
                    self._prefixes.append((words[0][:-1], tuple(words), entry))
                else:
                    self._by_first.setdefault(words[0], []).append((tuple(words), entry))

    def find(self, words: tuple[str, ...]) -> Entry | None:
        best: Entry | None = None
        for i, word in enumerate(words):
            found = [entry for trigger, entry in self._by_first.get(word, ()) if _holds(words, i, trigger)]
            found += [entry for prefix, _, entry in self._prefixes if word.startswith(prefix)]
            for entry in found:
                if best is None or self._rank[entry.id] < self._rank[best.id]:
                    best = entry
        return best


def _holds(words: tuple[str, ...], i: int, trigger: tuple[str, ...]) -> bool:
    """Whether the trigger stands at position i; its last word may end in * (a prefix)."""
    size = len(trigger)
    if i + size > len(words) or words[i : i + size - 1] != trigger[:-1]:
        return False
    last, word = trigger[-1], words[i + size - 1]
    return word.startswith(last[:-1]) if last.endswith("*") else word == last
