"""Decide the reply to a message: the one place where answering is decided.

The console, the `ask` command and the Telegram adapter all call `Engine.respond`; none of
them chooses what to say. Replies are plain text plus structure (choices, links, services)
that each adapter renders its own way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot import messages
from bot.intents import IntentFinder
from bot.knowledge import Entry, KnowledgeBase, Link
from bot.loader import WHERE_INTENT, Problem, load_knowledge
from bot.matcher import Candidate, Matcher, tokens_of
from bot.places import Gazetteer, NearbyService, Place, nearest_services, place_spelling
from bot.safety import SafetyIndex
from bot.text import MAX_INPUT_CHARS, MAX_SAFETY_CHARS, Normalised, Normaliser

# Decision thresholds on the matcher's 0-100 score, measured with `run_bot.py eval`.
# Scores of long messages run lower (context no entry explains), so the bars depend on the
# number of meaningful words: a two-word message must match almost exactly.
ANSWER_MARGIN = 8.0  # the best entry must lead the next one by this much
CLEAR_LEAD = 14.0  # ...or lead by this much, with a score at the suggestion bar
AGREEMENT = 0.8  # ...or be preferred this much by the matcher's second, independent view
SUGGEST_SPREAD = 22.0  # suggestions stay within this distance of the best
SUGGEST_SCORE = 38.0  # the lowest suggestion bar, for long messages


def answer_bar(word_count: int) -> float:
    return min(70.0, max(45.0, 78.0 - 4.0 * word_count))


def suggest_bar(word_count: int) -> float:
    return min(55.0, max(SUGGEST_SCORE, 62.0 - 3.0 * word_count))


def coverage_bar(word_count: int) -> float:
    """Share of the question's meaning the best entry must explain."""
    return min(0.6, max(0.2, 0.75 - 0.06 * word_count))


MAX_SUGGESTIONS = 3
PLACE_ASKS_WHERE_WORDS = 5  # in longer messages the town is context ("un lycée de Créteil")
# A helpline entry this close is shown even if not certain (at 50, "une photo de moi pour le
# CV" got the cyber-harassment line; 60 found every distress message 50 found, see cross_validate).
SAFETY_SCORE = 60.0
# Which kinds of place answer a request for a given service.
SERVICE_KINDS: dict[str, tuple[str, ...]] = {"cio": ("cio", "point-accueil")}
SERVICE_LABELS: dict[str, str] = {"cio": "Les CIO"}
# Shown when someone is outside the 94 (sources: shared/data README, programmes_orientation).
OUTSIDE_LINKS = (
    Link("Annuaire des CIO (service-public.fr)", "https://lannuaire.service-public.gouv.fr"),
    Link("Mon orientation en ligne", "https://www.monorientationenligne.fr"),
)

_BRACKETS = re.compile(r"\(.*?\)")

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

    @property
    def text(self) -> str:
        """What the user reads, as plain text (choices listed, numbered)."""
        parts = [self.title, self.body] if self.title else [self.body]
        choices = self.choices
        if choices:
            parts.append("\n".join(f"{i}. {e.title}" for i, e in enumerate(choices, 1)))
        return "\n\n".join(parts)

    @property
    def choices(self) -> tuple[Entry, ...]:
        return self.suggestions or self.follow_ups

    @property
    def commune_to_remember(self) -> str | None:
        """The commune a person gave to find a CIO: the only thing kept about them (see PRIVACY)."""
        if self.status == SERVICE and self.topic == "cio" and self.place and self.place.commune:
            return self.place.commune.insee
        return None


@dataclass
class Conversation:
    """What the bot remembers between two messages of one person (in memory only)."""

    awaiting_place: str | None = None
    last_choices: tuple[str, ...] = field(default_factory=tuple)


class Engine:
    """Built once per knowledge base; `respond` is pure and fast."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.normaliser = Normaliser(kb.language)
        self.gazetteer = Gazetteer(kb)
        self.matcher = Matcher(kb, self.normaliser, self.gazetteer.strip)
        self._safety = SafetyIndex(self.normaliser, kb.safety_entries)
        self.intents = IntentFinder(self.normaliser, kb.language.intents)
        # A theme's name: its title's words outside brackets ("Jump In Tech (filles et numérique)").
        self._theme_names = {
            topic.id: frozenset(tokens_of(self.normaliser.normalise(_BRACKETS.sub(" ", topic.title))))
            for topic in kb.topics.values()
        }
        # A message that is exactly one entry's keyword ("mon stage de 3e", "ipe") names it. As
        # written, not as understood: "dates" must not claim every "quand ?".
        owners: dict[tuple[str, ...], set[str]] = {}
        for entry in kb.entries.values():
            for keyword in entry.keywords:
                owners.setdefault(self.normaliser.spelled(keyword), set()).add(entry.id)
        self._keywords = {words: ids.pop() for words, ids in owners.items() if len(ids) == 1 and words}

    @classmethod
    def load(cls, root: Path) -> tuple[Engine, list[Problem]]:
        kb, problems = load_knowledge(root, check_eval=False)
        return cls(kb), problems

    # --- entry points -------------------------------------------------------------------

    def respond(self, text: str, conversation: Conversation | None = None) -> Reply:
        conversation = conversation or Conversation()
        return self._remember(self._respond(text, conversation), conversation)

    def respond_location(
        self, lat: float, lon: float, conversation: Conversation | None = None
    ) -> Reply:
        conversation = conversation or Conversation()
        kind = conversation.awaiting_place or "cio"
        return self._remember(self._services_reply(self.gazetteer.locate(lat, lon), kind, None), conversation)

    def entry_reply(self, entry_id: str, conversation: Conversation | None = None) -> Reply | None:
        """The reply for a button or a deep link naming an entry (None if it is unknown)."""
        entry = self.kb.entries.get(entry_id)
        if entry is None:
            return None
        reply = self._ask_location(entry) if entry.needs_place else self._answer(entry, 100.0)
        return self._remember(reply, conversation)

    def respond_commune(self, insee: str, kind: str = "cio", conversation: Conversation | None = None) -> Reply:
        """Nearest services for a commune already known (one the user saved earlier)."""
        commune = self.kb.communes.get(insee)
        if commune is None:
            return self.ask_place(kind, conversation)
        return self._remember(self._services_reply(Place(commune), kind, None), conversation)

    def nearest_cio(self, saved_insee: str | None, conversation: Conversation | None = None) -> Reply:
        """/cio: the CIO near the commune the person saved, or a question about where they are."""
        if saved_insee:
            return self.respond_commune(saved_insee, "cio", conversation)
        return self.ask_place("cio", conversation)

    def ask_place(self, kind: str = "cio", conversation: Conversation | None = None) -> Reply:
        """Ask where the user is, for the given kind of service (/cio)."""
        entry = self._service_entry(kind)
        reply = (
            self._ask_location(entry)
            if entry
            else Reply(ASK_LOCATION, messages.ASK_LOCATION_CONSOLE, topic=kind, awaiting_place=kind)
        )
        return self._remember(reply, conversation)

    @staticmethod
    def _remember(reply: Reply, conversation: Conversation | None) -> Reply:
        if conversation is not None:
            conversation.awaiting_place = reply.awaiting_place
            conversation.last_choices = tuple(e.id for e in reply.choices)
        return reply

    # --- decision -----------------------------------------------------------------------

    def _respond(self, text: str, conversation: Conversation) -> Reply:
        spelled = self.normaliser.spelled(text)
        words = self.normaliser.respell(spelled)
        if not words:
            return Reply(FALLBACK, messages.EMPTY_MESSAGE)
        place = self.gazetteer.find(text)
        norm = self._without_place(words, place)
        candidates = self.matcher.rank(norm)
        whole = self.normaliser.words(text, MAX_SAFETY_CHARS) if len(text) > MAX_INPUT_CHARS else words
        safety = self._safety.find(whole) or self._safety_candidate(candidates)
        if safety is not None:
            return self._safety_reply(safety, candidates)
        best = candidates[0] if candidates else None
        named = None
        if place is None:
            named = self._keyword_alone(spelled) or self._bare_name(candidates, norm)
        if named is not None:
            return self._for_entry(named, place)
        asked = self._by_intent(candidates, norm, place)
        if asked is not None:
            chosen, also_asked = asked
            reply = self._for_entry(chosen, place)
            # The other asks of the message come first among the buttons that follow.
            follow = tuple(dict.fromkeys((*also_asked, *reply.follow_ups)))[:MAX_SUGGESTIONS]
            return replace(reply, follow_ups=follow)
        confident = best is not None and self._is_confident(candidates, norm)
        if confident and best is not None:
            return self._for_entry(best, place)
        if place is not None:
            # A town named with a topic but no clear question: that topic's places.
            located = self._entry_listing_places(candidates)
            if located is not None:
                return self._for_entry(located, place)
            if conversation.awaiting_place:
                return self._services_reply(place, conversation.awaiting_place, None)
        # With a town, a theme's name alone comes after the theme's places ("méliès orly").
        chosen = (self._bare_name(candidates, norm) if place else None) or self._small_talk(norm, candidates)
        if chosen is not None:
            return self._for_entry(chosen, place)
        if place and not norm.content:
            # "j'habite à Vitry", "94450": a place alone asks where to go.
            return self._services_reply(place, "cio", None)
        if best is not None and best.score >= suggest_bar(best.word_count):
            close = [c for c in candidates if c.score >= best.score - SUGGEST_SPREAD]
            entries = tuple(c.entry for c in close[:MAX_SUGGESTIONS])
            return Reply(SUGGEST, messages.SUGGEST, score=best.score, suggestions=entries,
                         awaiting_place=conversation.awaiting_place if place is None else None)
        return Reply(FALLBACK, messages.FALLBACK, score=best.score if best else 0.0)

    def _is_confident(self, candidates: list[Candidate], norm: Normalised) -> bool:
        best = candidates[0]
        if best.coverage < coverage_bar(best.word_count) or best.score < suggest_bar(best.word_count):
            return False
        margin = best.score - candidates[1].score if len(candidates) > 1 else best.score
        if best.score >= answer_bar(best.word_count) and margin >= ANSWER_MARGIN:
            return True
        if margin >= CLEAR_LEAD:
            return True
        # A close call: answer only if the second view (word frequencies in each entry's own
        # questions) clearly agrees with the first.
        close = [c.entry for c in candidates if best.score - c.score <= SUGGEST_SPREAD]
        return self.matcher.agreement(norm, close).get(best.entry.id, 0.0) >= AGREEMENT

    def _by_intent(
        self, candidates: list[Candidate], norm: Normalised, place: Place | None
    ) -> tuple[Candidate, tuple[Entry, ...]] | None:
        """Within a clear theme, the entry that answers what the message asks ("c'est pour qui ?").

        Siblings share the theme's words, so the few words of the ask decide between them.
        Only entries that declare an intent take part: a specific entry ("la convention de
        stage") that leads stays for the normal decision.
        """
        if not candidates:
            return None
        best = candidates[0]
        if not best.entry.intents or best.score < suggest_bar(best.word_count):
            return None
        if best.coverage < coverage_bar(best.word_count):
            return None
        if not self._one_theme(candidates):
            return None
        wanted = set(self.intents.find(norm.words))
        if place is not None and not place.is_outside and best.word_count <= PLACE_ASKS_WHERE_WORDS:
            wanted.add(WHERE_INTENT)
        if not wanted:
            return None
        siblings = [e for e in self.kb.entries_of(best.entry.topic) if wanted.intersection(e.intents)]
        fitting = [c for c in self.matcher.score(norm, siblings) if c.score >= best.score - SUGGEST_SPREAD]
        if not fitting:
            return None
        if len(wanted) > 1:
            # Several asks in one message: confirm the leader if it answers one, never switch.
            if fitting[0].entry.id != best.entry.id:
                return None
            return best, tuple(c.entry for c in fitting[1:])
        if len(fitting) > 1 and fitting[0].score - fitting[1].score < ANSWER_MARGIN:
            return None
        switching = fitting[0].entry.id != best.entry.id
        if switching and len(candidates) > 1 and best.score - candidates[1].score >= CLEAR_LEAD:
            return None  # the words already chose clearly: an ask in passing does not overrule them
        return fitting[0], ()

    @staticmethod
    def _one_theme(candidates: list[Candidate]) -> bool:
        """Whether the candidates too close to the best to tell apart are all of its theme."""
        best = candidates[0]
        return all(c.entry.topic == best.entry.topic for c in candidates if best.score - c.score < ANSWER_MARGIN)

    def _entry_listing_places(self, candidates: list[Candidate]) -> Candidate | None:
        """A message naming a town, about a topic with places: the entry that lists them."""
        if not candidates or candidates[0].score < suggest_bar(candidates[0].word_count):
            return None
        best = candidates[0]
        entry = next(
            (self.kb.entries[i] for i in self.kb.topics[best.entry.topic].entry_ids
             if self.kb.entries[i].service),
            None,
        )
        if entry is None:
            return None
        return Candidate(entry, best.score, best.coverage, best.word_count)

    def _keyword_alone(self, words: tuple[str, ...]) -> Candidate | None:
        entry_id = self._keywords.get(words)
        if entry_id is None:
            return None
        return Candidate(self.kb.entries[entry_id], 100.0, 1.0, len(words))

    def _bare_name(self, candidates: list[Candidate], norm: Normalised) -> Candidate | None:
        """A theme's name alone ("CIO", "Prépa Talents"): the theme's first entry says what it is,
        even when a sibling happens to score a little higher on those words."""
        if not candidates or candidates[0].score < answer_bar(candidates[0].word_count):
            return None
        if not self._one_theme(candidates):
            return None
        topic = candidates[0].entry.topic
        first_id = self.kb.topics[topic].entry_ids[0]
        first = next((c for c in candidates if c.entry.id == first_id), None)
        if first is None or not self._names_only(norm, first.entry):
            return None
        # "petit déjeuner quelles écoles" asks something the overview does not answer.
        asked = self.intents.find(norm.words)
        return first if asked <= set(first.entry.intents) else None

    def _names_only(self, norm: Normalised, entry: Entry) -> bool:
        """Whether the message is the theme's name, perhaps with what the entry answers ("c'est quoi")."""
        words = {self.matcher.vocabulary_word(w) for w in tokens_of(norm)}
        allowed = self._theme_names[entry.topic] | self.intents.words_of(entry.intents)
        return None not in words and words <= allowed

    def _small_talk(self, norm: Normalised, candidates: list[Candidate]) -> Candidate | None:
        """A message of small words only ("salut ca va") gets the closest small-talk answer."""
        if norm.content or not candidates:
            return None
        if candidates[0].score < suggest_bar(candidates[0].word_count):
            return None
        best = candidates[0]
        return best if best.entry.topic == "chit-chat" else None

    def _safety_candidate(self, candidates: list[Candidate]) -> Entry | None:
        """Helplines win with less certainty than other answers: missing them costs more.

        Still, one far behind a clear answer ("stage de 3e chez les pompiers") is not meant.
        """
        for candidate in candidates[:2]:
            close = candidate.score >= candidates[0].score - SUGGEST_SPREAD
            if candidate.entry.triggers and candidate.score >= SAFETY_SCORE and close:
                return candidate.entry
        return None

    def _without_place(self, words: tuple[str, ...], place: Place | None) -> Normalised:
        """Drop the words that named a place: they say where, not what."""
        return self.normaliser.normalise_words(self.gazetteer.strip(place_spelling(words), place))

    # --- reply builders -----------------------------------------------------------------

    def _safety_reply(self, entry: Entry, candidates: list[Candidate]) -> Reply:
        others = tuple(
            c.entry for c in candidates
            if c.entry.topic != entry.topic and c.score >= suggest_bar(c.word_count)
        )[:1]
        related = self._follow_ups(entry)
        body = entry.answer + (f"\n\n{messages.SAFETY_ALSO}" if others else "")
        return Reply(
            ANSWER, body, title=entry.title, entry=entry, topic=entry.topic, score=100.0,
            follow_ups=(others + related)[:MAX_SUGGESTIONS], links=entry.links,
        )

    def _for_entry(self, candidate: Candidate, place: Place | None) -> Reply:
        entry = candidate.entry
        if place is not None and place.is_outside and not entry.needs_place:
            place = None  # "is it in Paris or in the 94?": the entry itself answers
        if entry.service and place is not None:
            if entry.needs_place or place.is_outside:
                return self._services_reply(place, entry.service, entry, candidate.score)
            return self._local_reply(entry, place, candidate.score)
        if entry.needs_place:
            return self._ask_location(entry, candidate.score)
        return self._answer(entry, candidate.score)

    def _follow_ups(self, entry: Entry | None) -> tuple[Entry, ...]:
        return tuple(self.kb.entries[i] for i in (entry.follow_up if entry else ()) if i in self.kb.entries)

    def _answer(self, entry: Entry, score: float) -> Reply:
        follow = self._follow_ups(entry)
        title = None if entry.topic == "chit-chat" else entry.title
        return Reply(ANSWER, entry.answer, title=title, entry=entry, topic=entry.topic,
                     score=score, follow_ups=follow, links=entry.links)

    def _ask_location(self, entry: Entry, score: float = 100.0) -> Reply:
        return Reply(ASK_LOCATION, messages.ASK_LOCATION_CONSOLE, entry=entry,
                     topic=entry.service, score=score, awaiting_place=entry.service)

    def _services_reply(
        self, place: Place, kind: str, entry: Entry | None, score: float = 100.0
    ) -> Reply:
        service_entry = entry or self._service_entry(kind)
        if place.is_outside:
            name = place.outside_name or "ce lieu"
            return Reply(FALLBACK, messages.OUTSIDE_94.format(place=name), place=place,
                         links=OUTSIDE_LINKS, score=score)
        found = nearest_services(self.kb, place, SERVICE_KINDS.get(kind, (kind,)))
        where = place.label
        label = SERVICE_LABELS.get(kind, "Les lieux")
        lines = [messages.NEAREST_TITLE.format(kinds=label, place=where)]
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
        heading = (messages.LOCAL_TITLE if here else messages.LOCAL_NONE).format(place=place.label)
        body = "\n\n".join(
            [entry.answer, heading, *(self._describe(i, s) for i, s in enumerate(shown, 1)),
             self._notes(shown)]
        )
        follow = self._follow_ups(entry)
        return Reply(SERVICE, body.strip(), title=entry.title, entry=entry, topic=entry.topic,
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
            lines.append("   " + messages.ATTACHED_NOTE.format(parent=parent))
        if s.note and s.kind not in ("cio", "point-accueil"):
            lines.append(f"   {s.note}")
        return "\n".join(lines)

    def _notes(self, found: list[NearbyService]) -> str:
        notes = []
        if any(s.service.approximate_position for s in found):
            notes.append(messages.APPROXIMATE_NOTE)
        years = sorted({s.service.data_as_of[:4] for s in found if s.service.data_as_of})
        if years and any(s.service.kind in ("cio", "point-accueil") for s in found):
            notes.append(messages.OLD_DATA_NOTE.format(year=years[0]))
        return "\n".join(notes)


def _map_link(nearby: NearbyService) -> Link:
    """A link that opens the address in the phone's map application."""
    from urllib.parse import quote_plus

    s = nearby.service
    query = ", ".join(p for p in (s.name, s.address, s.postcode, nearby.commune.name) if p)
    title = f"Plan : {s.name}"
    if len(title) > 60:
        title = title[:59] + "…"
    return Link(title, "https://www.openstreetmap.org/search?query=" + quote_plus(query))
