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
        """The helpline entry the message calls for, or None.

        A trigger inside a longer one that also holds gives way to it: in "il menace de me
        tuer", "menace de me tuer" (danger) wins over "me tuer" (suicidal thoughts).
        """
        found: list[tuple[int, int, Entry]] = []  # start, end, entry
        for i, word in enumerate(words):
            found += [(i, i + len(t), entry) for t, entry in self._by_first.get(word, ()) if _holds(words, i, t)]
            found += [(i, i + 1, entry) for prefix, _, entry in self._prefixes if word.startswith(prefix)]
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
