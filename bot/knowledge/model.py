"""The knowledge base as plain, immutable Python objects (no YAML, no Telegram here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Link:
    title: str
    url: str


FRENCH = "fr"
# The languages the bot answers in: French, the reference, then its translations.
LANGUAGES = (FRENCH, "en", "ar", "pt", "es", "tr", "zh")


@dataclass(frozen=True)
class Translation:
    """An entry in another language; `translates` names the French version it was made from."""

    title: str
    answer: str
    translates: str


def answer_version(answer: str) -> str:
    """A short digest of a French answer: a translation records the one it translates."""
    import hashlib

    return hashlib.sha256(answer.strip().encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True)
class Entry:
    """One question of the FAQ with its answer; `questions[0]` is its title."""

    id: str
    topic: str
    questions: tuple[str, ...]
    answer: str
    sources: tuple[str, ...]
    verified: date
    links: tuple[Link, ...] = ()
    follow_up: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    service: str | None = None  # kind of place listed when the message names a town
    needs_place: bool = False  # without a town, ask for one (the nearest-CIO question)
    intents: tuple[str, ...] = ()  # what it answers among its theme ("qui", "prix"...)
    translations: dict[str, Translation] = field(default_factory=dict, hash=False, compare=False)
    file: str = ""
    line: int = 0

    @property
    def title(self) -> str:
        return self.questions[0]

    def title_in(self, lang: str) -> str:
        translation = self.translations.get(lang)
        return translation.title if translation else self.title


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    entry_ids: tuple[str, ...]
    file: str = ""


@dataclass(frozen=True)
class Commune:
    insee: str
    name: str
    postcodes: tuple[str, ...]
    lat: float
    lon: float
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Service:
    """A place to send people to (a CIO first); position may be the commune's town hall."""

    id: str
    kind: str
    name: str
    commune_insee: str
    lat: float
    lon: float
    sources: tuple[str, ...]
    verified: date
    approximate_position: bool = False
    address: str | None = None
    postcode: str | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    attached_to: str | None = None
    note: str | None = None
    data_as_of: str | None = None
    topics: tuple[str, ...] = ()
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Language:
    """How people write: variants mapped to one form, and words that carry no meaning."""

    replacements: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    stopwords: frozenset[str] = frozenset()
    politeness: frozenset[str] = frozenset()
    # What a question asks ("prix", "quand"...) -> the phrases that ask it, as people write them.
    intents: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class OutsidePlace:
    """A place people name that is not in the Val-de-Marne (to answer honestly)."""

    name: str
    department: str  # "France" for the towns of french_towns.yaml
    after_a_place_word: bool = False  # also an everyday word: counts only after "à", "cio"...


@dataclass(frozen=True)
class KnowledgeBase:
    topics: dict[str, Topic]
    entries: dict[str, Entry]
    services: dict[str, Service]
    communes: dict[str, Commune]
    language: Language
    outside_places: tuple[OutsidePlace, ...] = ()

    def entries_of(self, topic_id: str) -> list[Entry]:
        topic = self.topics.get(topic_id)
        return [self.entries[i] for i in topic.entry_ids] if topic else []

    @property
    def safety_entries(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.triggers]
