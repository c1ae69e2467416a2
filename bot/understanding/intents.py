"""What a message asks about a theme: "c'est pour qui ?", "ça coûte ?", "c'est quand ?".

Siblings in a theme share their vocabulary ("jump in tech" is in all six), so the words
that tell them apart are the few that say what is asked. The phrases live in
knowledge/language.yaml (`intents`) and each entry says which asks it answers (`intent`).
"""

from __future__ import annotations

from bot.text import Normaliser


class IntentFinder:
    """Finds the asks of a message, with phrases spelt as the normaliser spells messages."""

    def __init__(self, normaliser: Normaliser, intents: dict[str, tuple[str, ...]]) -> None:
        self._phrases: list[tuple[tuple[str, ...], str]] = []
        self._by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}  # read a long message once
        for name, phrases in intents.items():
            for phrase in phrases:
                words = normaliser.words(phrase)
                if words:
                    self._phrases.append((words, name))
                    self._by_first.setdefault(words[0], []).append((words, name))

    def words_of(self, intents: tuple[str, ...]) -> set[str]:
        """Every word of the phrases that ask these intents."""
        return {word for phrase, name in self._phrases if name in intents for word in phrase}

    def find(self, words: tuple[str, ...]) -> frozenset[str]:
        """The intents whose phrases appear, word for word, in the normalised message."""
        found = set()
        for i, word in enumerate(words):
            for phrase, name in self._by_first.get(word, ()):
                if words[i : i + len(phrase)] == phrase:
                    found.add(name)
        return frozenset(found)
