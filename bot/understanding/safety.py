"""Safety first: find the helpline entry a message calls for, wherever it says so."""

from __future__ import annotations

from bot.knowledge.model import Entry
from bot.text import Normaliser

PREFIX_KEY = 3  # letters a one-word prefix trigger is filed under


class SafetyIndex:
    """The securite entries' triggers, indexed by first word so a long message is read once.

    A trigger is a word or phrase; a last word ending in * is a prefix ("frapp*" matches
    frappe, frapper, frappent). A trigger found inside a longer one that also fires gives
    way to it; among the rest, the entry first in file order wins.
    """

    def __init__(self, normaliser: Normaliser, entries: list[Entry]) -> None:
        self._rank = {entry.id: i for i, entry in enumerate(entries)}
        self._by_first: dict[str, list[tuple[tuple[str, ...], Entry]]] = {}
        # One-word prefixes ("harcel*"), filed under their first letters: a word meets few of them.
        self._prefixes: dict[str, list[tuple[str, Entry]]] = {}
        for entry in entries:
            for trigger in entry.triggers:
                words = list(normaliser.words(trigger.rstrip("*")))
                if not words:
                    continue
                if trigger.endswith("*"):
                    words[-1] += "*"
                if len(words) == 1 and words[0].endswith("*"):
                    prefix = words[0][:-1]
                    self._prefixes.setdefault(prefix[:PREFIX_KEY], []).append((prefix, entry))
                else:
                    self._by_first.setdefault(words[0], []).append((tuple(words), entry))
        # Prefixes shorter than the key ("ag*") are tried on every word.
        self._short_keys = [key for key in self._prefixes if len(key) < PREFIX_KEY]

    def find(self, words: tuple[str, ...]) -> Entry | None:
        """The helpline entry the message calls for, or None.

        A trigger inside a longer one that also holds gives way to it: in "il menace de me
        tuer", "menace de me tuer" (danger) wins over "me tuer" (suicidal thoughts).
        """
        found: list[tuple[int, int, Entry]] = []  # start, end, entry
        for i, word in enumerate(words):
            found += [(i, i + len(t), entry) for t, entry in self._by_first.get(word, ()) if _holds(words, i, t)]
            for key in (word[:PREFIX_KEY], *self._short_keys):
                found += [(i, i + 1, entry) for prefix, entry in self._prefixes.get(key, ()) if word.startswith(prefix)]
        kept = [
            (start, end, entry) for start, end, entry in found
            if not any(s <= start and end <= e and e - s > end - start for s, e, _ in found)
        ]
        return min((entry for _, _, entry in kept), key=lambda entry: self._rank[entry.id], default=None)


def _holds(words: tuple[str, ...], i: int, trigger: tuple[str, ...]) -> bool:
    """Whether the trigger stands at position i; its last word may end in * (a prefix)."""
    size = len(trigger)
    if i + size > len(words) or words[i : i + size - 1] != trigger[:-1]:
        return False
    last, word = trigger[-1], words[i + size - 1]
    return word.startswith(last[:-1]) if last.endswith("*") else word == last
