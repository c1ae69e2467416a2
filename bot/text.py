"""French text normalisation: what people type, reduced to the words that carry meaning."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from bot.knowledge.model import Language

MAX_INPUT_CHARS = 2000  # matching reads the first lines: meaning is there
MAX_SAFETY_CHARS = 20000  # helplines are looked for in the whole message, whatever its length

_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "’": "'", "‘": "'", "`": "'"})
# "3ème", "3eme", "3e", "3°", "3 eme", "2nde", "2de", "1ère" -> "3e", "2nde", "1ere"
_ORDINAL = re.compile(r"\b(\d{1,2})\s?(?:eme|ieme|iem|em|e|°|eme?s)\b")
_SECOND = re.compile(r"\b2\s?n?de?s?\b")
_FIRST = re.compile(r"\b1\s?(?:ere|er|re)\b")
# Elided articles and pronouns: l', d', j', qu', n', s', m', t', c' (kept apart, then dropped)
_ELISION = re.compile(r"\b(qu|[ldjnsmtc])'")
_LATIN_ACCENTS = re.compile("[\u0300-\u036f]+")
_NON_WORD = re.compile(r"[^a-z0-9]+")
# SMS contractions of "je": jtrouve, jhabite, jsuis, jpeux (not "jump": a vowel follows)
_SMS_JE = re.compile(r"\bj(?=[bcdfghklmnpqrstvwxz][a-z]{2,})")


def _plain_lower(text: str) -> str:
    """Lowercase without accents or ligatures: "Œuvre Élève" -> "oeuvre eleve"."""
    text = unicodedata.normalize("NFKD", text.translate(_LIGATURES).lower())
    if not text.isascii():
        text = _LATIN_ACCENTS.sub("", text)  # the usual case, fast; then any other combining mark
        if not text.isascii():
            text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text


_LETTER_WORD = re.compile(r"[^\W\d_]{2,}")
_ANY_WORD = re.compile(r"[^\W\d_]+")
_SENTENCE = re.compile(r"[^.!?…;\n]+")
SHOUTED_WORDS = 4  # words in capitals needed before a sentence counts as written in capitals
SHOUTED_SHARE = 0.7  # ...and their share of its words
_TURKISH_CAPITALS = frozenset("İĞŞ")


def unshouted(text: str, acronyms: frozenset[str] = frozenset()) -> str:
    """A message typed in capitals ("MON FILS A PAS D AESH QUI JE DOIS APPELER"), in lower case,
    sentence by sentence, the FAQ's acronyms kept as written ("mon fils a pas d AESH…").

    The sentence encoder tells cases apart, and a sentence in capitals reads as another one to
    it; the lexical signal lowercases anyway. Acronyms do not make a sentence one ("ULIS SEGPA
    EREA IME différence ?", "le CIO de Vitry"), nor do they among words of a script without case
    ("ULIS", "AESH" in Arabic). Turkish keeps its two i's: "İÇİN" is "için", "KIZIM" "kızım"."""
    return _SENTENCE.sub(lambda sentence: _unshouted_sentence(sentence.group(0), acronyms), text)


_ASCII_WORD = re.compile(r"(?<![A-Za-z])[A-Za-z]{2,}(?![A-Za-z])")  # "CIO" in "CIO是什么" too


def acronyms_of(texts: Iterable[str]) -> frozenset[str]:
    """The words these texts write in capitals more often than not: "CIO" and "AESH" (also "cio"
    in an SMS wording), not "EN" (far more often "en")."""
    capitals: dict[str, int] = {}
    others: dict[str, int] = {}
    for text in texts:
        for word in _ASCII_WORD.findall(text):
            table = capitals if word.isupper() else others
            table[word.upper()] = table.get(word.upper(), 0) + 1
    return frozenset(w for w, n in capitals.items() if n > others.get(w, 0))


def _unshouted_sentence(sentence: str, acronyms: frozenset[str]) -> str:
    words = [w for w in _LETTER_WORD.findall(sentence) if w not in acronyms]
    capitals = sum(w.isupper() for w in words)  # False for a script without case
    if capitals < SHOUTED_WORDS or capitals < SHOUTED_SHARE * len(words):
        return sentence
    turkish = not _TURKISH_CAPITALS.isdisjoint(sentence)

    def lower(word: str) -> str:
        if word in acronyms:
            return word
        if turkish:
            word = word.replace("İ", "i").replace("I", "ı")
        return word.lower().replace("i\u0307", "i")  # "İ" outside Turkish: i and a dot above
    return _ANY_WORD.sub(lambda found: lower(found.group(0)), sentence)


def fold(text: str) -> str:
    """Lowercase, strip accents and punctuation; keep letters and digits as words."""
    return " ".join(_NON_WORD.sub(" ", _plain_lower(text)).split())


@dataclass(frozen=True)
class Normalised:
    """A message reduced for matching.

    `words`: every word after spelling fixes (for places, triggers and small talk);
    `content`: the words that carry meaning (no stopwords or politeness).
    """

    words: tuple[str, ...]
    content: tuple[str, ...]
    politeness: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.words)



class Normaliser:
    """Applies the knowledge base's spelling variants, stopwords and politeness words."""

    def __init__(self, language: Language) -> None:
        self.language = language
        # For each first word, the lengths of the written forms starting with it, longest first.
        self._sizes: dict[str, list[int]] = {}
        for key in language.replacements:
            self._sizes.setdefault(key[0], []).append(len(key))
        for sizes in self._sizes.values():
            sizes.sort(reverse=True)

    def words(self, text: str, limit: int = MAX_INPUT_CHARS) -> tuple[str, ...]:
        """The message's words, with the knowledge base's spelling variants applied."""
        return self.respell(self.spelled(text, limit))

    def spelled(self, text: str, limit: int = MAX_INPUT_CHARS) -> tuple[str, ...]:
        """The words as written, only folded ("3ème" -> "3e", "l'école" -> "l ecole")."""
        text = _plain_lower(text[:limit])
        text = _ELISION.sub(r"\1 ", text)
        text = _SMS_JE.sub("j ", text)
        text = _FIRST.sub("1ere", text)
        text = _SECOND.sub("2nde", text)
        text = _ORDINAL.sub(r"\1e", text)
        return tuple(_NON_WORD.sub(" ", text).split())

    def respell(self, tokens: tuple[str, ...]) -> tuple[str, ...]:
        """Longest-first replacement of written forms by meant forms (one pass)."""
        replacements = self.language.replacements
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for size in self._sizes.get(tokens[i], ()):
                meant = replacements.get(tokens[i : i + size]) if i + size <= len(tokens) else None
                if meant is not None:
                    out.extend(meant)
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        return tuple(out)

    def normalise(self, text: str) -> Normalised:
        return self.normalise_words(self.words(text))

    def normalise_words(self, words: tuple[str, ...]) -> Normalised:
        stop, polite = self.language.stopwords, self.language.politeness
        content = tuple(
            stem(w) for w in words if (w not in stop and w not in polite and len(w) > 1) or w.isdigit()
        )
        politeness = tuple(w for w in words if w in polite)
        return Normalised(words, content, politeness)


def stem(word: str) -> str:
    """A very light French stemmer: plural marks only, so 'talents' meets 'talent'."""
    if len(word) > 4 and word[-1] in "sx" and not word.endswith("ss"):
        return word[:-1]
    return word
