"""Decide the reply to a message: the one place where answering is decided.

The console, the `ask` command and the Telegram adapter all call `Engine.respond`; none of
them chooses what to say. Replies are plain text plus structure (choices, links, services)
that each adapter renders its own way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from bot import messages
from bot.knowledge.loader import SAFETY_TOPIC, WHERE_INTENT, Problem, load_knowledge
from bot.knowledge.model import Entry, KnowledgeBase, Link, Topic
from bot.places import Gazetteer, NearbyService, Place, nearest_services, place_spelling
from bot.text import MAX_INPUT_CHARS, MAX_SAFETY_CHARS, Normalised, Normaliser, acronyms_of, fold, unshouted
from bot.understanding.decision import ANSWER as ANSWER_KIND
from bot.understanding.decision import DECLINE, HELPLINE, MAX_SUGGESTIONS, THEME, Decision, decide, other_ask
from bot.understanding.decision import SUGGEST as SUGGEST_KIND
from bot.understanding.distress_words import SHIPPED_FILE as SHIPPED_DISTRESS
from bot.understanding.distress_words import DistressWords, labelled_digest, place_pattern, read_shipped, shipped_key
from bot.understanding.intents import IntentFinder
from bot.understanding.languages import (
    FRENCH,
    NEUTRAL_WORDS,
    Catalog,
    LanguageDetector,
    prepare_compact_identifier,
    word_languages,
)
from bot.understanding.matcher import Matcher, tokens_of
from bot.understanding.policy import HELPLINE_EXAMPLE, ContrastBanks, Policy, axes_of, cautious, load_policy
from bot.understanding.projection import vector_encoder
from bot.understanding.reading_memo import ReadingMemo, digest_texts
from bot.understanding.semantic import SHIPPED_FILE, EmbeddingCache, shared_encoder, wordings
from bot.understanding.signals import ENTRY_FEATURES, SAFETY_FEATURES, TOPIC_FEATURES, Closeness, Reading, Signals

MAX_OVERVIEW_BUTTONS = 7  # a theme overview shows its sibling entries, the likeliest first
# The language of the reply being built: set by each entry point, read by the builders below.
_LANG: ContextVar[str] = ContextVar("reply_language", default=FRENCH)
PLACE_ASKS_WHERE_WORDS = 5  # in longer messages the town is context ("un lycée de Créteil")
MAX_CHOICE_DIGITS = 3  # a bare number this short picks a choice; five digits are a postcode
# Sentences and clauses: "je cherche un stage mais au collège on me harcèle" holds two messages.
# Chinese ends a sentence with 。！？ and no space after it; Arabic asks with ؟ and pauses with ؛.
_SENTENCE_END = re.compile(
    r"(?<=[.!?…;؟؛])\s+|(?<=[。！？；])\s*|\n+|\s+(?:mais|sinon|et puis|parce que|pcq|car)\s+", re.IGNORECASE)
# Chinese writes without spaces: each ideograph counts as a word when a part's length is judged.
_IDEOGRAPH = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
MAX_PARTS = 40  # different sentences read one by one for distress (a very long message: its first 40)
# Which kinds of place answer a request for a given service.
SERVICE_KINDS: dict[str, tuple[str, ...]] = {"cio": ("cio", "point-accueil")}
SERVICE_LABELS: dict[str, str] = {"cio": "CIO"}
# Shown when someone is outside the 94 (sources: shared/data README, programmes_orientation).
OUTSIDE_LINKS = (
    Link("Annuaire des CIO (service-public.fr)", "https://lannuaire.service-public.gouv.fr"),
    Link("Mon orientation en ligne", "https://www.monorientationenligne.fr"),
)

ANSWER, SERVICE, ASK_LOCATION, SUGGEST, FALLBACK = (
    "answer", "service", "ask_location", "suggest", "fallback",
)


@dataclass(frozen=True)
class Reply:
    status: str
    body: str
    title: str | None = None
    entry: Entry | None = None
    topic: str | None = None
    score: float = 0.0
    suggestions: tuple[Entry, ...] = ()
    follow_ups: tuple[Entry, ...] = ()
    links: tuple[Link, ...] = ()
    services: tuple[NearbyService, ...] = ()
    place: Place | None = None
    awaiting_place: str | None = None  # service kind the next place will answer
    topics: tuple[Topic, ...] = ()  # themes offered as numbered choices (the menu)
    decided_by: str = "command"  # the step that chose this reply (see bot/understanding/decision.py)
    lang: str = "fr"
    overview_of: str | None = None

    @property
    def text(self) -> str:
        """What the user reads, as plain text (choices listed, numbered)."""
        parts = [self.title, self.body] if self.title else [self.body]
        if self.choices:
            first = self.first_choice_number
            parts.append("\n".join(f"{i}. {e.title_in(self.lang)}" for i, e in enumerate(self.choices, first)))
        elif self.topics:
            parts.append("\n".join(f"{i}. {t.title}" for i, t in enumerate(self.topics, 1)))
        return "\n\n".join(parts)

    @property
    def choices(self) -> tuple[Entry, ...]:
        return self.suggestions or self.follow_ups

    @property
    def first_choice_number(self) -> int:
        """Listed places are numbered 1, 2, 3 in the text: the choices come after them."""
        return len(self.services) + 1 if len(self.services) > 1 else 1

    @property
    def commune_of_choices(self) -> str | None:
        """The commune of the 94 named beside this reply's choices (INSEE code), for them to answer for it."""
        place = self.place
        if self.choices and place is not None and place.commune is not None and not place.is_outside:
            return place.commune.insee
        return None

    @property
    def commune_to_remember(self) -> str | None:
        """The commune a person gave to find a CIO: the only thing kept about them (see PRIVACY)."""
        if self.status == SERVICE and self.topic == "cio" and self.place and self.place.commune:
            return self.place.commune.insee
        return None


@dataclass(frozen=True)
class Understood:
    reading: Reading
    place: Place | None
    norm: Normalised
    asked: frozenset[str]  # what the message asks ("qui", "prix", "endroit"...)
    parts: tuple[str, ...] = ()  # its sentences and clauses, when it has several (safety_parts)
    part_vectors: np.ndarray | None = None  # theirs, encoded with the whole in one batch
    part_near: tuple[Closeness, ...] = ()  # their cosines, computed with the whole's
    script_words: bool = False  # beside a place, words in a script the normaliser does not read


def faq_acronyms(kb: KnowledgeBase) -> frozenset[str]:
    """The FAQ's acronyms (CIO, AESH, ULIS), kept as written when a message in capitals is read
    in lower case (`unshouted`)."""
    return acronyms_of(text for entry in kb.entries.values()
                       for text in (*entry.questions, entry.title, *entry.keywords))


def _texts_digest(french: list[str], others: dict[str, list[str]], labelled: dict[str, list[str]]) -> str:
    """A digest of the texts the words of each language are learnt from, fed a text at a time:
    the same texts as one JSON string (4 bytes a letter once one is not Latin) took 13 MB, at the
    very moment of the start's peak of memory."""
    digest = hashlib.blake2b(digest_size=16)
    groups = [("fr", french), *((f"other {lang}", texts) for lang, texts in sorted(others.items())),
              *((f"labelled {lang}", texts) for lang, texts in sorted(labelled.items()))]
    for name, texts in groups:
        digest_texts(digest, (f"\0{name}", *sorted(texts)))
    return digest.hexdigest()


def semantic_text(gazetteer: Gazetteer, normaliser: Normaliser, text: str, place: Place | None = None,
                  acronyms: frozenset[str] = frozenset()) -> str:
    """What the sentence encoder reads. A short ask beside a place ("cio nogent sur marne")
    is read without the place, which says where, not what: the town's name would weigh as
    much as the ask (here, like "Val-de-Marne"). A longer message is read whole, and so is a
    place with nothing asked beside it ("je suis à Lyon"): "je suis à", alone, means nothing
    (and reads close to "je suis à bout"). So is a message with words in a script the normaliser
    does not read (Arabic, Chinese): "kept" would hold its Latin words only ("CIO"). A message in
    capitals is read in lower case (`unshouted`)."""
    place = place or gazetteer.find(text)
    if place is None:
        return unshouted(text, acronyms)
    if gazetteer.other_script_left(text):  # its commune by its French name (`with_french_names`)
        return unshouted(gazetteer.with_french_names(text), acronyms)
    kept = gazetteer.strip(place_spelling(tuple(fold(text).split())), place)
    if not 0 < len(kept) <= PLACE_ASKS_WHERE_WORDS or not normaliser.normalise(" ".join(kept)).content:
        return unshouted(text, acronyms)
    return " ".join(kept)


def safety_parts(text: str, acronyms: frozenset[str] = frozenset()) -> list[str]:
    """The sentences and clauses of a message read one by one for distress ([] for one part),
    in lower case when the message is in capitals (as `semantic_text` reads the whole)."""
    parts = list(dict.fromkeys(
        p.strip() for p in _SENTENCE_END.split(unshouted(text[:MAX_SAFETY_CHARS], acronyms)) if _words_in(p) >= 2))
    return parts[:MAX_PARTS] if len(parts) >= 2 else []


def _words_in(part: str) -> int:
    """Words of a part for its length: spaced words, and each Chinese ideograph as one."""
    return len(part.split()) + len(_IDEOGRAPH.findall(part))


@dataclass
class Conversation:
    """What the bot remembers between two messages of one person (in memory only)."""

    awaiting_place: str | None = None
    last_choices: tuple[str, ...] = field(default_factory=tuple)
    last_topics: tuple[str, ...] = field(default_factory=tuple)  # the menu just shown
    last_places: tuple[str, ...] = field(default_factory=tuple)  # the services just listed, numbered first
    # The commune (INSEE code, never a position) named in the message whose reply offered
    # `last_choices`: a place-bound choice ("Où est le CIO le plus proche ?") picked among them by
    # its number answers for it, without asking again. Buttons carry their own (see render.py).
    last_commune: str | None = None
    lang: str | None = None  # the language of the last replies
    chosen_lang: str | None = None  # a language the person chose (/langue): it wins
    client_lang: str | None = None  # what the Telegram client says, a hint only


class Engine:
    """Built once per knowledge base; `respond` is pure and fast."""

    def __init__(
        self,
        kb: KnowledgeBase,
        policy: Policy | None = None,
        cache: EmbeddingCache | None = None,
        banks: ContrastBanks | None = None,
        catalog: Catalog | None = None,
        memo: ReadingMemo | None = None,
        vectors_held: Callable[[], None] | None = None,
        shipped_distress: Path | None = None,
    ) -> None:
        """`vectors_held`: called once the engine holds every vector it needs (`load` then drops
        the cache's own copy, before the rest of the build rather than after it). `shipped_distress`:
        what `fit` learnt last of distress (read when learnt from the same texts). Without a
        `cache`, the vectors are the model's full ones, not projected on the knowledge folder's
        axes: give a fitted policy the cache it was fitted with (`load` does)."""
        self.kb = kb
        self.catalog = catalog or Catalog({})
        self.policy = policy or cautious(ENTRY_FEATURES, SAFETY_FEATURES)
        self.normaliser = Normaliser(kb.language)
        self.gazetteer = Gazetteer(kb)
        self.acronyms = faq_acronyms(kb)
        self.matcher = Matcher(kb, self.normaliser, self.gazetteer.strip, memo)
        if memo:
            memo.let_go("tokens")  # the FAQ's words, read: the file's parse of them goes now
        self.intents = IntentFinder(self.normaliser, kb.language.intents)
        self.banks = banks = banks or ContrastBanks()
        cache = cache or EmbeddingCache(shared_encoder(), None)
        places = self.place_words()
        self.detector = LanguageDetector((*NEUTRAL_WORDS, *places), None,
                                         cache.path.parent if cache.path else None)
        # Before the vectors are in memory: learning which texts are plainly not French reads the
        # detector's whole model, which is then let go (the first start's peak of memory).
        self.detector.use_words(self._word_languages(places, memo))
        self.detector.release()
        examples = [(self._read_example(text, memo), topic) for text, topic in banks.examples]  # as a message is read
        example_words = [(self._example_words(text, memo), label) for text, label in self._word_texts(kb, banks)]
        distress_words = self._distress_words(kb, banks, memo, shipped_distress)
        if memo:  # read: the file's parse of them goes before the vectors come in
            for kind in ("examples", "semantic", "words", "word_languages", "distress_words"):
                memo.let_go(kind)
        self.signals = Signals(kb, self.normaliser, self.matcher, self.intents, cache, banks.declines,
                               banks.ordinary, examples, example_words, memo, distress_words, shipped_distress)
        del examples, example_words
        if vectors_held:
            vectors_held()
        self._topic_sizes = {topic.id: len(topic.entry_ids) for topic in kb.topics.values()}

    def place_words(self) -> set[str]:
        """The words of the communes' names: every language writes them alike."""
        return {w for c in self.kb.communes.values() for name in (c.name, *c.aliases) for w in name.lower().split()}

    @staticmethod
    def _word_texts(kb: KnowledgeBase, banks: ContrastBanks) -> list[tuple[str, str]]:
        """The labelled texts whose words tell the theme, each counted once: the examples and the
        declines (""), but not an example that is one of its theme's FAQ questions (counted
        with the FAQ) nor a decline already among the examples."""
        seen = {(question.casefold().strip(), entry.topic) for entry in kb.entries.values()
                for question in entry.questions}
        kept: list[tuple[str, str]] = []
        for text, label in (*banks.examples, *((text, "") for text in banks.declines)):
            key = (text.casefold().strip(), label)
            if key not in seen:
                seen.add(key)
                kept.append((text, label))
        return kept

    def _distress_words(self, kb: KnowledgeBase, banks: ContrastBanks, memo: ReadingMemo | None,
                        shipped: Path | None) -> DistressWords | None:
        """The words' reading of distress, learnt from every labelled text as written: the FAQ's
        wordings (the helplines' entries are distress), the banks and the examples (a text
        labelled distress in any set is distress). Kept in the memo under a digest of them
        (learning takes a few seconds), and read from the knowledge folder when `fit` learnt
        them from these very texts (`shipped_key`: the key it wrote them under)."""
        labels: dict[str, bool] = {}
        for entry in kb.entries.values():
            for wording in wordings(entry):
                labels[wording] = labels.get(wording, False) or entry.topic == SAFETY_TOPIC
        for text in (*banks.declines, *banks.ordinary):
            labels.setdefault(text, False)
        for text, topic in banks.examples:
            labels[text] = labels.get(text, False) or topic in (SAFETY_TOPIC, HELPLINE_EXAMPLE)
        texts, distress = list(labels), list(labels.values())
        places = sorted({name for commune in kb.communes.values()
                         for name in (commune.name, *commune.aliases, *commune.postcodes)})
        pattern = place_pattern(places)

        key = labelled_digest(texts, distress, places)
        self.distress_words_key = shipped_key(key)

        def learn(_: str) -> str:
            found = read_shipped(shipped, self.distress_words_key) if shipped else None
            learnt = found or DistressWords.learn(texts, distress, pattern)
            return learnt.as_text() if learnt else ""
        kept = memo.get("distress_words", key, learn) if memo else learn("")
        try:
            return DistressWords.from_text(kept, pattern) if kept else None
        except ValueError:  # a memo damaged by hand: learnt again, and kept in its place
            learnt = DistressWords.learn(texts, distress, pattern)
            kept = learnt.as_text() if learnt else ""
            if memo:
                memo.replace("distress_words", key, kept)
            return DistressWords.from_text(kept, pattern) if kept else None

    def _read_example(self, text: str, memo: ReadingMemo | None) -> str:
        def read(example: str) -> str:
            return semantic_text(self.gazetteer, self.normaliser, example, acronyms=self.acronyms)
        return memo.get("semantic", text, read) if memo else read(text)

    def _example_words(self, text: str, memo: ReadingMemo | None) -> tuple[str, ...]:
        """A labelled message's words as the lexical signal reads a message's (`understand`)."""
        def read(example: str) -> list[str]:
            words = self.normaliser.respell(self.normaliser.spelled(example))
            return list(tokens_of(self._without_place(words, self.gazetteer.find(example))))
        return tuple(memo.get("words", text, read) if memo else read(text))

    def _word_languages(self, places: set[str], memo: ReadingMemo | None = None) -> dict[str, str]:
        """Words of one other language (`language_texts`), kept in the memo under a digest of
        the texts they are learnt from."""
        def learn(_: object = None) -> dict[str, str]:
            # The sets' messages that say no language, and plainly are not French, left out.
            french, others, labelled = self.language_texts(places, keep=lambda t: not self.detector.plainly_other(t))
            return word_languages(french, others, labelled)

        if memo is None:
            return learn()
        # Keyed by every text before that choice: the choice is the code's, in the memo's key.
        return dict(memo.get("word_languages", _texts_digest(*self.language_texts(places)), learn))

    def language_texts(self, places: set[str], sets: bool = True, keep: Callable[[str], bool] | None = None
                       ) -> tuple[list[str], dict[str, list[str]], dict[str, list[str]]]:
        """The texts whose language is known. French: the answers, titles, fixed messages,
        training banks, place names, the SMS spellings of `language.yaml` ("kan" is "quand", not
        the darija word), and the question sets' messages that say no other language
        (not the FAQ's questions: some are written in other languages). Another language: the
        translated entries and fixed messages; and apart, the question sets' messages that say
        that language (families mix words of the FAQ in: "horário do CIO?"). `sets=False`: none
        of the question sets' messages. `keep`: which of the sets' messages that say no language
        count as French."""
        written_in = dict(self.banks.languages)
        french = [*(e.answer for e in self.kb.entries.values()), *(e.title for e in self.kb.entries.values()),
                  *(v for v in vars(messages).values() if isinstance(v, str)),
                  *self.banks.declines, *self.banks.ordinary, *places,
                  *(" ".join(written) for written in self.kb.language.replacements),
                  *dict.fromkeys(text for text, _ in self.banks.examples
                                 if sets and text not in written_in and (keep is None or keep(text)))]
        others: dict[str, list[str]] = {}
        for entry in self.kb.entries.values():
            for lang, translation in entry.translations.items():
                others.setdefault(lang, []).extend((translation.title, translation.answer))
        for lang, table in self.catalog.texts.items():
            others.setdefault(lang, []).extend(v for v in table.values() if isinstance(v, str))
        by_language: dict[str, list[str]] = {}
        for text, lang in self.banks.languages if sets else ():
            by_language.setdefault(lang, []).append(text)
        return french, others, by_language

    def rebuilt(self, kb: KnowledgeBase) -> Engine:
        """The same engine (policy, vectors, banks, messages) over another knowledge base."""
        return Engine(kb, self.policy, self.signals.semantic.cache, self.banks, self.catalog)

    @classmethod
    def load(cls, root: Path, cache_dir: Path | None = None) -> tuple[Engine, list[Problem]]:
        """The engine for a knowledge folder, with the problems found (the bot runs with what loaded)."""
        # First: the model loads in the background meanwhile.
        encoder, vector_problems = vector_encoder(root, cache_dir)
        prepare_compact_identifier(cache_dir)  # a first start: before the rest is in memory
        memo = ReadingMemo.open(cache_dir, root)  # keyed by the files as they are before being read
        kb, problems = load_knowledge(root, check_eval=False, parse=memo.parsed_yaml)
        memo.let_go("yaml")  # the knowledge files, read
        # The axes the engine's vectors are on (read once, by vector_encoder).
        policy, policy_problems = load_policy(root, kb, ENTRY_FEATURES, SAFETY_FEATURES, TOPIC_FEATURES,
                                              axes=axes_of(encoder.version))
        cache = EmbeddingCache(encoder, cache_dir, root / SHIPPED_FILE)
        catalog, catalog_problems = Catalog.load(root)
        complete = not any(p.is_error for p in problems)

        def vectors_held() -> None:
            # The cache's copy of the vectors (some 14 MB in half precision) was still in memory at the
            # end of the build, the start's peak of memory: dropped as soon as the engine holds its own.
            if complete:  # a base left partly out still has its vectors
                cache.forget_unused()
            cache.release()  # the engine holds its matrices: the vectors stay in the file

        engine = cls(kb, policy, cache, ContrastBanks.load(root, kb, memo), catalog, memo, vectors_held,
                     root / SHIPPED_DISTRESS)
        if complete:
            memo.save()  # ...and its readings
        return engine, problems + policy_problems + catalog_problems + vector_problems

    # --- entry points -------------------------------------------------------------------

    def respond(self, text: str, conversation: Conversation | None = None) -> Reply:
        conversation = conversation or Conversation()
        lang = conversation.chosen_lang or self.detector.detect(
            text[:MAX_INPUT_CHARS], conversation.client_lang, conversation.lang)
        conversation.lang = lang
        return self._remember(self._in(lang, self._respond, text, conversation), conversation)

    @staticmethod
    def _in(lang: str, build, *args):
        """Build a reply in a language: the builders read it from `_LANG`."""
        token = _LANG.set(lang)
        try:
            reply = build(*args)
        finally:
            _LANG.reset(token)
        return replace(reply, lang=lang)

    def _text(self, name: str, **values: object) -> str:
        """A fixed message in the reply's language (French where no translation exists)."""
        text = self.catalog.text(name, _LANG.get())
        return text.format(**values) if values else text

    def _answer_text(self, entry: Entry) -> str:
        """An entry's answer in the reply's language, with the note that the French version is the reference."""
        lang = _LANG.get()
        if lang == FRENCH:
            return entry.answer.strip()
        translation = entry.translations.get(lang)
        if translation is None:
            return f"{self._text('NOT_TRANSLATED')}\n\n{entry.answer.strip()}"
        return f"{translation.answer.strip()}\n\n{self._text('TRANSLATED_NOTE')}"

    def respond_location(
        self, lat: float, lon: float, conversation: Conversation | None = None
    ) -> Reply:
        conversation = conversation or Conversation()
        kind = conversation.awaiting_place or "cio"
        reply = self._in(_lang_of(conversation), self._services_reply, self.gazetteer.locate(lat, lon), kind, None)
        return self._remember(reply, conversation)

    def entry_reply(self, entry_id: str, conversation: Conversation | None = None,
                    commune: str | None = None) -> Reply | None:
        """The reply for a button or a deep link naming an entry (None if it is unknown).
        `commune`: the INSEE code of the town named beside the choice (a button's own, or the
        typed number's list): a place-bound entry answers for it."""
        entry = self.kb.entries.get(entry_id)
        if entry is None:
            return None
        town = self.kb.communes.get(commune) if commune else None
        if entry.topic == SAFETY_TOPIC:  # as every helpline reply: all the numbers at its end
            reply = self._in(_lang_of(conversation), self._helpline_reply, entry, 1.0, "choice")
        elif town is not None and entry.service:
            # Offered beside a message that named a town: answered for that town.
            reply = self._in(_lang_of(conversation), self._for_entry, entry, Place(town), 100.0)
        else:
            build = self._ask_location if entry.needs_place else self._answer
            reply = self._in(_lang_of(conversation), build, entry, 100.0)
        return self._remember(replace(reply, decided_by="choice"), conversation)

    def place_reply(self, service_id: str, conversation: Conversation | None = None) -> Reply | None:
        """One listed place picked by its number or button: its details and its map (None if unknown).

        The list it came from stays open: another number picks another of its places.
        """
        service = self.kb.services.get(service_id)
        commune = self.kb.communes.get(service.commune_insee) if service else None
        if service is None or commune is None:
            return None
        nearby = NearbyService(service, commune, 0.0)
        lines = self._describe(1, nearby).split("\n")[1:]  # its details without the list's heading
        body = "\n".join(line.strip() for line in lines) or commune.name
        if service.website:
            body += f"\n{service.website}"
        notes = self._notes([nearby])  # the year of the data, and who to call to confirm it
        body = f"{body}\n\n{notes}" if notes else body
        reply = Reply(SERVICE, body, title=service.name, topic=service.kind, services=(nearby,),
                      links=(_map_link(nearby),), decided_by="choice-place",
                      lang=_lang_of(conversation) or FRENCH)
        return reply

    def french_reply(self, entry_id: str, conversation: Conversation | None = None,
                     commune: str | None = None) -> Reply | None:
        """The French version of an entry: the reference, behind the "Voir en français" button.
        `commune`: the town named beside the translated answer, kept for the French one's choices."""
        entry = self.kb.entries.get(entry_id)
        if entry is None:
            return None
        reply = self._in(FRENCH, self._answer, entry, 100.0)
        town = self.kb.communes.get(commune) if commune else None
        if town is not None and reply.choices:
            reply = replace(reply, place=Place(town))  # for the choices offered (`commune_of_choices`)
        return self._remember(replace(reply, decided_by="choice"), conversation)

    def respond_commune(self, insee: str, kind: str = "cio", conversation: Conversation | None = None) -> Reply:
        """Nearest services for a commune already known (one the user saved earlier)."""
        commune = self.kb.communes.get(insee)
        if commune is None:
            return self.ask_place(kind, conversation)
        reply = self._in(_lang_of(conversation), self._services_reply, Place(commune), kind, None)
        return self._remember(reply, conversation)

    def nearest_cio(self, saved_insee: str | None, conversation: Conversation | None = None) -> Reply:
        """/cio: the CIO near the commune the person saved, or a question about where they are."""
        if saved_insee:
            return self.respond_commune(saved_insee, "cio", conversation)
        return self.ask_place("cio", conversation)

    def ask_place(self, kind: str = "cio", conversation: Conversation | None = None) -> Reply:
        """Ask where the user is, for the given kind of service (/cio)."""
        entry = self._service_entry(kind)

        def build() -> Reply:
            if entry:
                return self._ask_location(entry)
            return Reply(ASK_LOCATION, self._text("ASK_LOCATION_CONSOLE"), topic=kind, awaiting_place=kind)

        return self._remember(self._in(_lang_of(conversation), build), conversation)

    def menu(self, conversation: Conversation | None = None) -> Reply:
        """/themes: every theme, in the menu's order, as numbered choices."""
        reply = Reply(ANSWER, self.catalog.text("THEMES_INTRO", _lang_of(conversation)),
                      topics=tuple(self.kb.topics.values()), decided_by="menu")
        return self._remember(replace(reply, lang=_lang_of(conversation)), conversation)

    def topic_reply(self, topic_id: str, conversation: Conversation | None = None) -> Reply | None:
        """A theme chosen from the menu: its questions as numbered choices."""
        topic = self.kb.topics.get(topic_id)
        if topic is None:
            return None
        text = self.catalog.text("THEME_INTRO", _lang_of(conversation)).format(title=topic.title)
        reply = Reply(ANSWER, text, follow_ups=tuple(self.kb.entries_of(topic_id)), decided_by="menu",
                      lang=_lang_of(conversation))
        return self._remember(reply, conversation)

    def fixed_text(self, name: str, conversation: Conversation | None = None, **values: object) -> str:
        """A fixed message (welcome, help, privacy...) in the conversation's language."""
        text = self.catalog.text(name, _lang_of(conversation))
        return text.format(**values) if values else text

    @staticmethod
    def _remember(reply: Reply, conversation: Conversation | None) -> Reply:
        if reply.decided_by in ("choice-place", "choice-number"):
            return reply  # a place picked from a list, or a number refused: the list stays open
        if conversation is not None:
            conversation.awaiting_place = reply.awaiting_place
            conversation.last_choices = tuple(e.id for e in reply.choices)
            conversation.last_topics = tuple(t.id for t in reply.topics)
            conversation.last_places = tuple(s.service.id for s in reply.services) if len(reply.services) > 1 else ()
            conversation.last_commune = reply.commune_of_choices
        return reply

    # --- decision -----------------------------------------------------------------------

    def _respond(self, text: str, conversation: Conversation) -> Reply:
        stripped = text.strip()
        # "²" is a digit, not a number; "0119" is 119 (a zero typed first, as on some phones).
        if stripped.isdecimal() and len(stripped.lstrip("0")) <= MAX_CHOICE_DIGITS:
            return self._choice(int(stripped), conversation)
        spelled = self.normaliser.spelled(text)
        words = self.normaliser.respell(spelled)
        if not words and not any(ch.isalpha() for ch in text[:MAX_INPUT_CHARS]):
            return Reply(FALLBACK, self._text("EMPTY_MESSAGE"), decided_by="empty")
        understood = self.understand(text, spelled, words)
        place = understood.place
        if place is not None and not understood.norm.words and not understood.script_words:
            # Only a place ("Vitry", "75013", "فيتري"): it says where, and there is nothing else to
            # read (a bare number must not read as close to the helplines' numbers). Any other word,
            # even a stopword ("à l'aide Villejuif", "في فيتري"), goes through the whole decision.
            kind = conversation.awaiting_place or "cio"
            return replace(self._services_reply(place, kind, None), decided_by="place")
        decision = decide(understood.reading, self.policy, self._topic_sizes)
        part = None if decision.kind == HELPLINE else self._distress_in_a_part(
            understood.parts, understood.part_vectors, understood.part_near)
        if part is not None:
            if part.kind == HELPLINE:  # read in one sentence; what the whole message asks stays offered
                decision = replace(part, also_asked=other_ask(understood.reading, self.policy))
            elif part.safety_probability > decision.safety_probability:  # for the helplines line
                decision = replace(decision, safety_probability=part.safety_probability)
        reply = self._reply_for(decision, understood, conversation)
        if reply.place is None and place is not None and reply.choices:
            reply = replace(reply, place=place)  # for the choices offered (`commune_of_choices`)
        line = self._text("HELPLINES_LINE")
        close = decision.safety_probability >= self.policy.bars.safety_line
        if decision.kind != HELPLINE and (close or reply.status == SUGGEST) and line not in reply.body:
            # Not sure enough for the helplines' answer, too close to distress to say nothing; and,
            # like "I don't know", a "did you mean" may be a cry for help it did not read ("à l'aide").
            return replace(reply, body=f"{reply.body}\n\n{line}")
        return reply

    def _reply_for(self, decision: Decision, understood: Understood, conversation: Conversation) -> Reply:
        place, norm = understood.place, understood.norm
        score = round(100 * decision.confidence, 1)

        if decision.kind == HELPLINE and decision.helpline is not None:
            return self._safety_reply(decision)
        if place is not None and conversation.awaiting_place:  # the town the bot asked for
            return replace(self._services_reply(place, conversation.awaiting_place, None), decided_by="place")
        short = len(norm.content) <= PLACE_ASKS_WHERE_WORDS
        if place is None and conversation.awaiting_place and (short or decision.kind in (SUGGEST_KIND, DECLINE)):
            # The bot asked where; what came back is no place it knows: say so, and ask again.
            return Reply(ASK_LOCATION, self._text("PLACE_NOT_READ"), topic=conversation.awaiting_place,
                         awaiting_place=conversation.awaiting_place, links=OUTSIDE_LINKS[:1],
                         decided_by="place-not-read")
        if place is not None and place.is_outside and decision.best is not None:
            located = next((e for e in self.kb.entries_of(decision.best.topic) if e.service), None)
            if located is not None:  # "CIO Paris 13e": say honestly that the bot knows the 94 only
                return replace(self._services_reply(place, located.service or "cio", located), decided_by="outside-94")
        if decision.kind == ANSWER_KIND and decision.best is not None:
            reply = replace(self._for_entry(decision.best, place, score), decided_by=decision.step)
            if decision.also_asked and reply.status == ANSWER:
                offered = {e.id: e for e in (*decision.also_asked, *reply.follow_ups) if e.id != decision.best.id}
                reply = replace(reply, follow_ups=tuple(offered.values()))
            return reply
        if decision.kind == THEME and decision.topic is not None:
            return self._theme_reply(decision, place if WHERE_INTENT in understood.asked else None, score)
        if place is not None and not norm.content and not understood.script_words:
            # A town alone ("j'habite à Vitry", "94450").
            return replace(self._services_reply(place, "cio", None), decided_by="place")
        if place is not None and understood.script_words and decision.kind == DECLINE:
            # Words the normaliser cannot read beside a town, and nothing found for them: they may
            # be a cry for help it did not read, so the reply ends with the helplines, as every
            # fallback does.
            nearest = self._services_reply(place, "cio", None)
            if place.is_outside:  # "我们住在Lyon": the bot knows the 94 only, and says so
                return replace(nearest, body=f"{nearest.body}\n\n{self._text('HELPLINES_LINE')}")
            # Inside the 94: say so (the fallback's first paragraph), and give that town's nearest
            # CIO, where someone can answer.
            dont_know = self._text("FALLBACK").split("\n\n")[0]
            body = f"{dont_know}\n\n{nearest.body}\n\n{self._text('HELPLINES_LINE')}"
            return Reply(FALLBACK, body, score=score, place=place, services=nearest.services,
                         links=nearest.links, decided_by="decline-place")

        if decision.kind == SUGGEST_KIND:
            return Reply(SUGGEST, self._text("SUGGEST"), score=score, decided_by=decision.step,
                         suggestions=decision.ranked[:MAX_SUGGESTIONS],
                         awaiting_place=conversation.awaiting_place if place is None else None)
        return Reply(FALLBACK, self._text("FALLBACK"), score=score, decided_by=decision.step)

    def understand(
        self,
        text: str,
        spelled: tuple[str, ...] | None = None,
        words: tuple[str, ...] | None = None,
        vector: np.ndarray | None = None,
        safety_only: bool = False,
        near: Closeness | None = None,
    ) -> Understood:
        """Both signals' reading of a message, with the place it names (the fit reads through this too).

        Without a vector given, the message and its sentences (read apart for distress) are
        encoded in one batch: one pass of the encoder, which is most of what a message costs."""
        if spelled is None or words is None:
            spelled = self.normaliser.spelled(text)
            words = self.normaliser.respell(spelled)
        place = self.gazetteer.find(text)
        norm = self._without_place(words, place)
        script_words = place is not None and self.gazetteer.other_script_left(text)
        whole = self.normaliser.words(text, MAX_SAFETY_CHARS) if len(text) > MAX_INPUT_CHARS else words
        asked = set(self.intents.find(norm.words))
        if (place is not None and not place.is_outside and not asked and not script_words
                and len(norm.content) <= PLACE_ASKS_WHERE_WORDS):
            # "jump in tech créteil": where, in that town. A message that asks something else
            # ("c'est pour qui et c'est payant ? j'habite à Vitry") is asked that, not where; so
            # is one whose words the normaliser cannot read (Arabic, Chinese): few words is unknown.
            asked.add(WHERE_INTENT)
        parts: tuple[str, ...] = ()
        part_vectors = None
        part_near: tuple[Closeness, ...] = ()
        if vector is None:
            # Words of another script beside a commune: the encoder reads the commune's French name.
            read = self.gazetteer.with_french_names(text) if script_words else text
            parts = tuple(safety_parts(read, self.acronyms))
            vectors = self.signals.embed_all([self.semantic_text(text, place), *parts])
            vector, part_vectors = vectors[0], vectors[1:]
            near, *rest = self.signals.closeness_to_all(vectors)
            part_near = tuple(rest)
        foreign = self.detector.detect(text[:MAX_INPUT_CHARS]) != FRENCH
        reading = self.signals.read(vector, norm, spelled, whole, frozenset(asked), foreign, not safety_only,
                                    text[:MAX_SAFETY_CHARS], near)
        return Understood(reading, place, norm, frozenset(asked), parts, part_vectors, part_near, script_words)

    def semantic_text(self, text: str, place: Place | None = None) -> str:
        return semantic_text(self.gazetteer, self.normaliser, text, place, self.acronyms)

    def _distress_in_a_part(self, parts: tuple[str, ...], vectors: np.ndarray | None,
                            near: tuple[Closeness, ...]) -> Decision | None:
        """A cry for help inside a longer message: each sentence or clause is also read on its own.

        A story about school with one sentence of distress in the middle reads, as a whole,
        like a question about school; that sentence alone reads as what it is. Returns the
        part closest to distress (`bot.maintainers.fit` chooses the bars on this same reading).
        """
        if not parts or vectors is None:
            return None
        decisions = [decide(self.understand(part, vector=vector, safety_only=True, near=closeness).reading,
                            self.policy, self._topic_sizes, part=True)
                     for part, vector, closeness in zip(parts, vectors, near, strict=True)]
        best = max(decisions, key=lambda d: (d.kind == HELPLINE, d.safety_probability))
        return replace(best, step=best.step.replace("helpline", "helpline-sentence"))

    def _choice(self, number: int, conversation: Conversation) -> Reply:
        """A bare number picks one of the choices just shown, and nothing else: the places
        listed (numbered first), then the questions offered, or the themes of the menu."""
        typed = number
        places = conversation.last_places
        if places and 1 <= number <= len(places):
            picked = self.place_reply(places[number - 1], conversation)
            if picked is not None:
                return picked
        number -= len(places)
        topics = conversation.last_topics
        if topics and not conversation.last_choices and 1 <= number <= len(topics):
            picked = self.topic_reply(topics[number - 1], conversation)
            if picked is not None:
                return picked
        choices = conversation.last_choices or topics
        if conversation.last_choices and 1 <= number <= len(choices):
            reply = self.entry_reply(choices[number - 1], conversation, conversation.last_commune)
            if reply is not None:
                return reply
        helpline = self._helpline_numbered(typed)
        if helpline is not None:
            # "119" alone, with no list of 119 choices: the child who types it needs that line.
            return self._remember(self._helpline_reply(helpline, 1.0, "helpline-number"), conversation)
        line = self._text("HELPLINES_LINE")  # as every fallback: "17" alone may be a call for help
        if not choices and not places:
            return Reply(FALLBACK, f"{self._text('NUMBER_WITHOUT_CHOICES')}\n\n{line}", decided_by="choice-number",
                         awaiting_place=conversation.awaiting_place)
        # The same list again, with what can be typed: the choices stay the same.
        shown = tuple(self.kb.entries[i] for i in conversation.last_choices if i in self.kb.entries)
        menu = tuple(self.kb.topics[t] for t in topics if t in self.kb.topics) if not shown else ()
        if places:  # the list above numbers places then questions: point to it, as it is
            shown, menu = (), ()
        return Reply(FALLBACK, f"{self._text('NUMBER_OUT_OF_RANGE', last=len(places) + len(choices))}\n\n{line}",
                     follow_ups=shown,
                     topics=menu, decided_by="choice-number", awaiting_place=conversation.awaiting_place)

    def _helpline_numbered(self, number: int) -> Entry | None:
        """The helpline entry whose keywords hold this number as a word of its own (119, 112)."""
        return next((entry for entry in self.kb.safety_entries
                     if any(keyword.strip() == str(number) for keyword in entry.keywords)), None)

    def _theme_reply(self, decision: Decision, place: Place | None, score: float) -> Reply:
        """Sure of the theme, not of the entry: the theme's overview, its likely entries as buttons."""
        topic = decision.topic
        assert topic is not None
        siblings = self.kb.entries_of(topic)
        if place is not None:
            located = next((e for e in siblings if e.service), None)
            if located is not None:  # asked where, in a theme with places: that theme's places
                return replace(self._for_entry(located, place, score), decided_by="theme-places")
        overview = siblings[0]
        likely = [e for e in decision.ranked if e.topic == topic and e.id != overview.id]
        rest = [e for e in siblings if e.id != overview.id and e not in likely]
        reply = self._answer(overview, score)
        return replace(reply, follow_ups=tuple([*likely, *rest][:MAX_OVERVIEW_BUTTONS]),
                       decided_by=decision.step, overview_of=topic)

    def _without_place(self, words: tuple[str, ...], place: Place | None) -> Normalised:
        """Drop the words that named a place: they say where, not what."""
        return self.normaliser.normalise_words(self.gazetteer.strip(place_spelling(words), place))

    # --- reply builders -----------------------------------------------------------------

    def _safety_reply(self, decision: Decision) -> Reply:
        assert decision.helpline is not None
        # Helplines first, and the family's other question is not lost: the first button.
        return self._helpline_reply(decision.helpline, decision.safety_probability, decision.step,
                                    decision.also_asked[:1])

    def _helpline_reply(self, entry: Entry, probability: float, step: str, others: tuple[Entry, ...] = ()) -> Reply:
        related = self._follow_ups(entry)
        body = self._answer_text(entry)
        line = self._text("HELPLINES_LINE")
        if line not in body:
            # The entry is the closest by meaning, and a neighbour's may be the one needed (a
            # child "nobody would miss" is read as a child in danger: 119, where 3114 also
            # fits): every helpline reply ends with all the numbers.
            body += f"\n\n{line}"
        body += f"\n\n{self._text('SAFETY_ALSO')}" if others else ""
        return Reply(
            ANSWER, body, title=entry.title_in(_LANG.get()), entry=entry, topic=entry.topic,
            score=round(100 * probability, 1),
            follow_ups=(others + related)[:MAX_SUGGESTIONS], links=entry.links, decided_by=step,
        )

    def _for_entry(self, entry: Entry, place: Place | None, score: float) -> Reply:
        if place is not None and place.is_outside and not entry.needs_place:
            place = None  # "is it in Paris or in the 94?": the entry itself answers
        if entry.service and place is not None:
            if entry.needs_place or place.is_outside:
                return self._services_reply(place, entry.service, entry, score)
            return self._local_reply(entry, place, score)
        if entry.needs_place:
            return self._ask_location(entry, score)
        return self._answer(entry, score)

    def _follow_ups(self, entry: Entry | None) -> tuple[Entry, ...]:
        return tuple(self.kb.entries[i] for i in (entry.follow_up if entry else ()) if i in self.kb.entries)

    def _answer(self, entry: Entry, score: float) -> Reply:
        follow = self._follow_ups(entry)
        title = None if entry.topic == "chit-chat" else entry.title_in(_LANG.get())
        return Reply(ANSWER, self._answer_text(entry), title=title, entry=entry, topic=entry.topic,
                     score=score, follow_ups=follow, links=entry.links)

    def _ask_location(self, entry: Entry, score: float = 100.0) -> Reply:
        return Reply(ASK_LOCATION, self._text("ASK_LOCATION_CONSOLE"), entry=entry,
                     topic=entry.service, score=score, awaiting_place=entry.service)

    def _services_reply(
        self, place: Place, kind: str, entry: Entry | None, score: float = 100.0
    ) -> Reply:
        service_entry = entry or self._service_entry(kind)
        if place.is_outside:
            name = place.outside_name or "ce lieu"
            return Reply(FALLBACK, self._text("OUTSIDE_94", place=name), place=place,
                         links=OUTSIDE_LINKS, score=score, decided_by="outside-94")
        found = nearest_services(self.kb, place, SERVICE_KINDS.get(kind, (kind,)))
        where = place.label
        label = SERVICE_LABELS.get(kind, "lieux")
        lines = [self._text("NEAREST_TITLE", kinds=label, place=where)]
        lines += [self._describe(i, s) for i, s in enumerate(found, 1)]
        lines.append(self._notes(found))
        return Reply(SERVICE, "\n\n".join(line for line in lines if line), entry=service_entry,
                     topic=kind, score=score, services=tuple(found), place=place,
                     links=tuple(_map_link(s) for s in found), follow_ups=self._follow_ups(service_entry))

    def _local_reply(self, entry: Entry, place: Place, score: float) -> Reply:
        """A topic question naming a town: the answer, then that topic's places near it."""
        assert place.commune is not None and entry.service is not None
        nearby = [
            s for s in nearest_services(self.kb, place, (entry.service,), limit=10)
            if entry.topic in s.service.topics
        ]
        here = [s for s in nearby if s.commune.insee == place.commune.insee]
        shown = here or nearby[:3]
        heading = (self._text("LOCAL_TITLE") if here else self._text("LOCAL_NONE")).format(place=place.label)
        body = "\n\n".join(
            [self._answer_text(entry), heading, *(self._describe(i, s) for i, s in enumerate(shown, 1)),
             self._notes(shown)]
        )
        follow = self._follow_ups(entry)
        return Reply(SERVICE, body.strip(), title=entry.title_in(_LANG.get()), entry=entry, topic=entry.topic,
                     score=score, services=tuple(shown), place=place, follow_ups=follow,
                     links=entry.links)

    def _service_entry(self, kind: str) -> Entry | None:
        return next(
            (e for e in self.kb.entries.values() if e.service == kind and e.needs_place), None
        )

    def _describe(self, index: int, nearby: NearbyService) -> str:
        s = nearby.service
        distance = f"{nearby.distance_km:.1f}".replace(".", ",")
        approx = "environ " if s.approximate_position else ""
        lines = [f"{index}. {s.name} ({nearby.commune.name}, {approx}{distance} km)"]
        if s.address:
            postcode = f"{s.postcode} " if s.postcode else ""
            lines.append(f"   {s.address}, {postcode}{nearby.commune.name}")
        if s.phone:
            lines.append(f"   Tél. {s.phone}")
        if s.email:
            lines.append(f"   {s.email}")
        if s.attached_to and s.attached_to in self.kb.services:
            parent = self.kb.services[s.attached_to].name
            lines.append("   " + self._text("ATTACHED_NOTE", parent=parent))
        if s.note and s.kind not in ("cio", "point-accueil"):
            lines.append(f"   {s.note}")
        return "\n".join(lines)

    def _notes(self, found: list[NearbyService]) -> str:
        notes = []
        if any(s.service.approximate_position for s in found):
            notes.append(self._text("APPROXIMATE_NOTE"))
        years = sorted({s.service.data_as_of[:4] for s in found if s.service.data_as_of})
        if years and any(s.service.kind in ("cio", "point-accueil") for s in found):
            notes.append(self._text("OLD_DATA_NOTE", year=years[0]))
        return "\n".join(notes)


def _lang_of(conversation: Conversation | None) -> str:
    if conversation is None:
        return FRENCH
    return conversation.chosen_lang or conversation.lang or FRENCH


def _map_link(nearby: NearbyService) -> Link:
    """A link that opens the address in the phone's map application."""
    from urllib.parse import quote_plus

    s = nearby.service
    query = ", ".join(p for p in (s.name, s.address, s.postcode, nearby.commune.name) if p)
    title = f"Plan : {s.name}"
    if len(title) > 60:
        title = title[:59] + "…"
    return Link(title, "https://www.openstreetmap.org/search?query=" + quote_plus(query))
