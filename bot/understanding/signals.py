"""Read a message with both signals and describe each candidate entry with a few numbers.

The lexical signal (the matcher: typos, SMS, rare words, acronyms, postcodes) and the
semantic signal (the sentence encoder: meaning, paraphrase, other languages) each rank
the entries. Their candidates are pooled and each is described by features that the
policy (`bot/understanding/policy.py`) turns into the probability that it is the right entry. The
same is done for the helplines as a whole. Nothing here decides: it only measures.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.knowledge.loader import SAFETY_TOPIC
from bot.knowledge.model import Entry, KnowledgeBase
from bot.text import MAX_INPUT_CHARS, Normalised, Normaliser
from bot.understanding import distress_probe, logistic
from bot.understanding.distress_probe import DistressProbe
from bot.understanding.distress_words import DistressWords, read_shipped_probe, shipped_key
from bot.understanding.intents import IntentFinder
from bot.understanding.matcher import Matcher, tokens_of
from bot.understanding.policy import DISTRESS_KINDS, HELPLINE_EXAMPLE, ORDINARY_EXAMPLE
from bot.understanding.reading_memo import ReadingMemo
from bot.understanding.safety import SafetyIndex
from bot.understanding.semantic import EmbeddingCache, SemanticIndex, wordings
from bot.understanding.word_evidence import WordEvidence

CANDIDATES_PER_SIGNAL = 5  # each signal proposes its five best entries
# A vector's cosines to every FAQ question (index order) and to every message of the banks.
Closeness = tuple[np.ndarray, np.ndarray]

ENTRY_FEATURES: tuple[str, ...] = (
    "lex",  # lexical score, 0..1
    "coverage",  # share of the message's meaning the entry's words explain
    "cos",  # cosine to the entry's nearest question
    "lex_lead",  # lexical score minus the best other candidate's
    "cos_lead",  # cosine minus the best other entry's
    "topic_cos_lead",  # best cosine in the entry's theme minus the best outside it
    "topic_lex_lead",  # the same for the lexical score, among candidates
    "lex_first",  # the lexical signal ranks it first
    "cos_first",  # the semantic signal ranks it first
    "topic_agree",  # both signals' first entries are of its theme
    "intent",  # what the message asks: +1 the entry answers it, -1 it answers another ask
    "keyword",  # one of its keywords stands in the message
    "unknown",  # share of the message's words the FAQ has never seen
    "length",  # log(1 + meaningful words)
    "lex_x_cos",  # both signals at once
    "cos_vs_declines",  # cosine minus that of the nearest message the bot must decline
    "cos_title",  # cosine to the entry's title, its clean canonical question
    "sibling_cos_lead",  # cosine minus the best other entry of the same theme
    "sibling_lex_lead",  # the same for the lexical score, among candidates
    "foreign",  # written in another language: the lexical signal (French) has nothing to say
    "topic_vote",  # share of its theme among the FAQ questions nearest in meaning, weighted by closeness
    "example_vote",  # the same among the messages families wrote (the question sets the fit learns from)
    "topic_words",  # its theme's probability from the message's words alone (naive Bayes: word_evidence)
)
SAFETY_FEATURES: tuple[str, ...] = (
    "trigger",  # a trigger phrase of a helpline entry stands in the message
    "cos_safety",  # cosine to the nearest distress message of the bank
    "cos_safety_lead",  # ...minus the nearest other question of the FAQ
    "lex_safety",  # the best helpline entry's lexical score
    "lex_safety_lead",  # ...minus the best other candidate's
    "unknown",
    "cos_safety_vs_ordinary",  # cos_safety minus the nearest ordinary message with strong words
    "near_distress",  # share of distress messages among the nearest examples, weighted by closeness
    "foreign",
    "length",  # log(1 + meaningful words): one word shared with a distress message is thin evidence
    "distress_lean",  # which way its meaning leans, distress or ordinary strong words (distress_probe)
    "distress_words",  # which way its very words lean (distress_words)
)
NEIGHBOURS = 7  # examples that vote on distress
TOPIC_NEIGHBOURS = 10  # FAQ questions that vote on the theme
# Each theme among the candidates, described by its best candidate on each entry feature: the
# theme model learns from every message whose theme is known, also when its entry is not
# (the question sets written blind to the FAQ are graded by theme).
_TOPIC_FROM_ENTRIES: tuple[str, ...] = (
    "lex", "coverage", "cos", "cos_title", "topic_cos_lead", "topic_lex_lead", "topic_agree",
    "lex_first", "cos_first", "keyword", "intent", "cos_vs_declines", "lex_x_cos", "topic_vote",
    "example_vote", "topic_words",
)
TOPIC_FEATURES: tuple[str, ...] = (
    *_TOPIC_FROM_ENTRIES,
    "unknown", "length", "foreign",  # of the message, as for the entries
    "candidates",  # the share of the pooled candidates that belong to the theme
    "intent_met",  # its candidates' mean intent: +1 all answer what is asked, -1 all another ask
)
_FROM = [ENTRY_FEATURES.index(name) for name in _TOPIC_FROM_ENTRIES]
_MESSAGE = [ENTRY_FEATURES.index(name) for name in ("unknown", "length", "foreign")]
_ASKED = ENTRY_FEATURES.index("intent")
_FOREIGN = ENTRY_FEATURES.index("foreign")


@dataclass(frozen=True)
class Reading:
    """What both signals say of one message."""

    entries: tuple[Entry, ...]  # the pooled candidates
    rows: np.ndarray  # their features, one row each (ENTRY_FEATURES)
    safety_row: np.ndarray  # SAFETY_FEATURES
    trigger_entry: Entry | None  # the helpline entry a trigger phrase names
    safety_entry: Entry | None  # the helpline entry closest in meaning


class Signals:
    """Both signals over one knowledge base; built once, read for every message."""

    def __init__(
        self,
        kb: KnowledgeBase,
        normaliser: Normaliser,
        matcher: Matcher,
        intents: IntentFinder,
        cache: EmbeddingCache,
        declines: Sequence[str] = (),
        ordinary: Sequence[str] = (),
        examples: Sequence[tuple[str, str]] = (),
        example_words: Sequence[tuple[tuple[str, ...], str]] = (),
        memo: ReadingMemo | None = None,
        distress_words: DistressWords | None = None,
        shipped: Path | None = None,
    ) -> None:
        """`examples`: (text as the encoder reads it, label); `example_words`: (words as the
        lexical signal reads them, label), for the examples and the declines (labelled "");
        `shipped`: what `fit` last learnt of distress (the probe is read there when its key fits)."""
        self.distress_words = distress_words
        self.kb = kb
        self.normaliser = normaliser
        self.matcher = matcher
        self.intents = intents
        self.entries: list[Entry] = list(kb.entries.values())
        self._index = {entry.id: i for i, entry in enumerate(self.entries)}
        # What the words alone say of the theme (or that the message is one to decline, ""),
        # from the FAQ's wordings and the labelled messages. (Of distress too, tried: the
        # helplines' bar fell, and false alarms rose on the development set.) Built before the
        # vectors are gathered: its counting lists were the start's peak of memory, on top of them.
        topics = sorted({e.topic for e in self.entries})
        self.theme_words = WordEvidence(
            (*topics, ""), [(words, label) for words, label in example_words if label not in DISTRESS_KINDS],
            [(*matcher.entry_words(i), entry.topic) for i, entry in enumerate(self.entries)])
        self.semantic = SemanticIndex(self.entries, cache)
        self.safety_index = SafetyIndex(normaliser, kb.safety_entries)
        # Contrast banks (knowledge/fit/): what the bot must decline, and ordinary messages
        # with strong words. Closeness to them is evidence against an entry, or against distress.
        # Then the examples, messages of the question sets: those with a theme (or to decline)
        # vote on the theme; every one of them, the distress sets' too, is a neighbour when the
        # bot weighs distress. One matrix, one product per message.
        voters = [(text, topic) for text, topic in examples if topic not in DISTRESS_KINDS]
        helpers = [(text, topic) for text, topic in examples if topic in DISTRESS_KINDS]
        labelled = (*voters, *helpers)
        bank_texts = [*declines, *ordinary, *(text[:MAX_INPUT_CHARS] for text, _ in labelled)]
        self._banks = cache.vectors(bank_texts)
        self._declined = len(declines)
        self._contrasts = len(declines) + len(ordinary)
        self._voters_end = self._contrasts + len(voters)
        topic_number = {t: i for i, t in enumerate(topics)}
        # An example's theme (-1: to decline, or a theme no longer in the FAQ): it votes for none.
        self._example_topic = np.array([topic_number.get(topic, -1) for _, topic in voters], dtype=np.int64)
        distress_examples = [topic in (SAFETY_TOPIC, HELPLINE_EXAMPLE) for _, topic in labelled]
        self._topic_of = np.array([topic_number[e.topic] for e in self.entries], dtype=np.int64)
        self._topic_count = len(topics)
        self._question_topic = self._topic_of[self.semantic.owners]  # each FAQ question's theme
        members: dict[str, list[int]] = {}
        for i, entry in enumerate(self.entries):
            members.setdefault(entry.topic, []).append(i)
        self._siblings = [
            np.array([j for j in members[entry.topic] if j != i], dtype=np.int64)
            for i, entry in enumerate(self.entries)
        ]
        self._safety = np.array([e.topic == SAFETY_TOPIC for e in self.entries], dtype=bool)
        distress = np.concatenate([
            self._safety[self.semantic.owners], np.zeros(self._contrasts, dtype=bool),
            np.array(distress_examples, dtype=bool),
        ])
        # One neighbour per text: a message kept under two labels (a theme's and "to help") is one
        # neighbour, distress if either label says so, not two of the seven places.
        first: dict[str, int] = {}
        for i, text in enumerate([*(w for e in self.entries for w in wordings(e)), *bank_texts]):
            j = first.setdefault(text, i)
            distress[j] |= distress[i]
        self._neighbours = np.array(sorted(first.values()), dtype=np.int64)
        self._distress_example = distress[self._neighbours]
        # The probe: distress against what must not get the helplines and sounds near them, the
        # ordinary messages with strong words and the messages to decline.
        harmless_examples = np.array([topic in (ORDINARY_EXAMPLE, "") for _, topic in labelled], dtype=bool)
        faq_distress = self._safety[self.semantic.owners]
        example_distress = np.array(distress_examples, dtype=bool)

        def groups() -> tuple[np.ndarray, np.ndarray]:
            return (np.vstack([self.semantic.rows(faq_distress), self._banks[self._contrasts:][example_distress]]),
                    np.vstack([self._banks[: self._contrasts], self._banks[self._contrasts:][harmless_examples]]))

        # Keyed by the matrices and which rows go where, not by copies of the rows: read back
        # from the memo, the probe costs no copy (the copies were the start's peak of memory).
        # Hashed only where it is kept (a memo): `fit`'s folds learn theirs without a key.
        key = None if memo is None else _probe_key((*self.semantic.parts, self._banks, faq_distress,
                                                    example_distress, harmless_examples, np.array([self._contrasts])))
        self.probe = _learnt_probe(groups, key, memo, shipped)
        # What `fit` ships it under: the arrays it is learnt from and the code that learns it.
        self.shipped_probe_key = shipped_key(key, PROBE_CODE) if key else None
        self._keywords = [
            tuple(w for w in (normaliser.spelled(k) for k in entry.keywords) if w) for entry in self.entries
        ]

    def embed_all(self, texts: Sequence[str]) -> np.ndarray:
        """Several texts in one pass of the encoder (a message and its sentences)."""
        return self.semantic.cache.encoder.encode([t[:MAX_INPUT_CHARS] for t in texts])

    def closeness_to_all(self, vectors: np.ndarray) -> list[Closeness]:
        """Cosines of each vector (a message and its sentences) to every FAQ question and to
        every message of the banks, in two matrix products: the two matrices (some 27 MB with 256 numbers a vector) are
        read from memory once for all the vectors, not once per sentence, which made most of a
        long message's time."""
        vectors = np.atleast_2d(vectors)
        to_questions = self.semantic.similarities_to_all(vectors)
        to_banks = vectors @ self._banks.T
        return list(zip(to_questions, to_banks, strict=True))

    def read(
        self,
        vector: np.ndarray,
        norm: Normalised,
        spelled: tuple[str, ...],
        safety_words: tuple[str, ...],
        asked: frozenset[str],
        foreign: bool = False,
        entries: bool = True,
        text: str = "",
        near: Closeness | None = None,
    ) -> Reading:
        """Both readings of a message; `entries=False`: the helplines' only (a sentence of a
        longer message, read apart for distress), without candidates. `text`: the message as
        written, for what its words say of distress. `near`: the vector's `closeness_to_all`,
        when it was computed with others."""
        similarities, to_banks = near if near is not None else self.closeness_to_all(vector)[0]
        cos = self.semantic.closeness(similarities)
        titles = self.semantic.title_closeness(vector)
        lexical = self.matcher.rank(norm, limit=CANDIDATES_PER_SIGNAL)
        # to_banks: the declines, the ordinary messages, the examples, in that order.
        example_votes = self._votes(to_banks[self._contrasts : self._voters_end], self._example_topic)
        words = tokens_of(norm)
        topic_words = self.theme_words.posterior(words)[: self._topic_count]  # the last class: to decline
        pooled = list(dict.fromkeys(
            [self._index[c.entry.id] for c in lexical]
            + [int(i) for i in np.argsort(-cos)[:CANDIDATES_PER_SIGNAL]]
            + self._voted_entry(example_votes, cos)
            # With no word it knows, the words' posterior is the prior: it names no theme.
            + (self._voted_entry(topic_words, cos) if self.theme_words.knows(words) else [])
        ))
        safety_ids = [i for i in np.flatnonzero(self._safety) if i not in pooled]
        scored = {
            c.entry.id: c
            for c in self.matcher.score(norm, [self.entries[i] for i in (*pooled, *safety_ids)])
        }
        lex = np.array([scored[self.entries[i].id].score / 100 if self.entries[i].id in scored else 0.0
                        for i in pooled])
        coverage = np.array([scored[self.entries[i].id].coverage if self.entries[i].id in scored else 0.0
                             for i in pooled])
        unknown = (
            sum(self.matcher.vocabulary_word(w) is None for w in words) / len(words) if words else 0.0
        )
        length = math.log1p(len(set(words)))
        to_declines, to_ordinary = to_banks[: self._declined], to_banks[self._declined : self._contrasts]
        nearest_decline = float(to_declines.max()) if len(to_declines) else 0.0
        nearest_ordinary = float(to_ordinary.max()) if len(to_ordinary) else 0.0
        if entries and pooled:  # no candidate: a knowledge base whose every entry failed to load
            rows = self._entry_rows(pooled, cos, titles, lex, coverage, spelled, asked, unknown, length,
                                    nearest_decline, self._votes(similarities, self._question_topic), example_votes,
                                    topic_words)
            rows[:, _FOREIGN] = 1.0 if foreign else 0.0
        else:
            rows = np.zeros((0, len(ENTRY_FEATURES)))

        # Helplines as a whole: closeness to the bank of distress messages, and triggers.
        trigger_entry = self.safety_index.find(safety_words)
        safety_lex = max((scored[self.entries[i].id].score / 100 for i in np.flatnonzero(self._safety)
                          if self.entries[i].id in scored), default=0.0)
        other_lex = max((lex[k] for k, i in enumerate(pooled) if not self._safety[i]), default=0.0)
        if self._safety.any():
            safety_cos = float(cos[self._safety].max())
            other_cos = float(cos[~self._safety].max()) if (~self._safety).any() else 0.0
            closest = int(np.flatnonzero(self._safety)[np.argmax(cos[self._safety])])
            safety_entry: Entry | None = self.entries[closest]
        else:
            safety_cos, other_cos, safety_entry = 0.0, 0.0, None
        safety_row = np.array([
            1.0 if trigger_entry else 0.0, safety_cos, safety_cos - other_cos,
            safety_lex, safety_lex - other_lex, unknown, safety_cos - nearest_ordinary,
            self._near_distress(similarities, to_banks), 1.0 if foreign else 0.0, length,
            self.probe.score(vector) if self.probe else 0.0,
            self.distress_words.score(text) if self.distress_words and text else 0.0,
        ])
        candidates = tuple(self.entries[i] for i in pooled) if entries and pooled else ()
        return Reading(candidates, rows, safety_row, trigger_entry, safety_entry)

    def _entry_rows(
        self,
        pooled: list[int],
        cos: np.ndarray,
        titles: np.ndarray,
        lex: np.ndarray,
        coverage: np.ndarray,
        spelled: tuple[str, ...],
        asked: frozenset[str],
        unknown: float,
        length: float,
        nearest_decline: float,
        votes: np.ndarray,
        example_votes: np.ndarray,
        topic_words: np.ndarray,
    ) -> np.ndarray:
        topic_best = np.full(self._topic_count, -1.0)
        np.maximum.at(topic_best, self._topic_of, cos)
        top_two = np.sort(cos)[-2:] if len(cos) > 1 else np.array([0.0, *cos])
        pooled_topics = self._topic_of[pooled]
        lex_first = int(np.argmax(lex)) if lex.max(initial=0.0) > 0 else -1
        cos_first = int(np.argmax(cos))
        agreed = (
            self._topic_of[pooled[lex_first]] if lex_first >= 0 and
            self._topic_of[pooled[lex_first]] == self._topic_of[cos_first] else -1
        )
        rows = np.zeros((len(pooled), len(ENTRY_FEATURES)))
        for k, i in enumerate(pooled):
            entry = self.entries[i]
            topic = self._topic_of[i]
            others_lex = np.delete(lex, k)
            best_other_cos = top_two[-2] if cos[i] >= top_two[-1] else top_two[-1]
            outside = np.delete(topic_best, topic)
            same_topic = pooled_topics == topic
            siblings = self._siblings[i]
            sibling_lex = lex[same_topic & (np.arange(len(pooled)) != k)]
            rows[k] = (
                lex[k],
                coverage[k],
                cos[i],
                lex[k] - (others_lex.max() if len(others_lex) else 0.0),
                cos[i] - best_other_cos,
                topic_best[topic] - (outside.max() if len(outside) else 0.0),
                lex[same_topic].max() - (lex[~same_topic].max() if (~same_topic).any() else 0.0),
                1.0 if k == lex_first else 0.0,
                1.0 if i == cos_first else 0.0,
                1.0 if topic == agreed else 0.0,
                self._intent(entry, asked),
                1.0 if any(_contains(spelled, kw) for kw in self._keywords[i]) else 0.0,
                unknown,
                length,
                lex[k] * cos[i],
                cos[i] - nearest_decline,
                titles[i],
                cos[i] - (cos[siblings].max() if len(siblings) else 0.0),
                lex[k] - (sibling_lex.max() if len(sibling_lex) else 0.0),
                0.0,  # foreign: set by `read`
                votes[topic],
                example_votes[topic],
                topic_words[topic],
            )
        return rows

    def _votes(self, closeness: np.ndarray, topics: np.ndarray) -> np.ndarray:
        """Each theme's weighted share among the nearest neighbours in meaning (`topics`: each
        neighbour's theme, -1 for none). Of the FAQ's questions: the nearest entry can be a
        near-miss, its neighbourhood says which theme the message is in. Of the messages
        families wrote (an example to decline votes for none): a long story or an SMS is nearer
        to others like it than to the FAQ's clean wordings."""
        votes = np.zeros(self._topic_count)
        if not len(closeness):
            return votes
        k = min(TOPIC_NEIGHBOURS, len(closeness))
        nearest = np.argpartition(-closeness, k - 1)[:k]
        weights = np.maximum(closeness[nearest], 0.0)
        voters = topics[nearest]
        np.add.at(votes, voters[voters >= 0], weights[voters >= 0])
        total = weights.sum()
        return votes / total if total > 0 else votes

    def _voted_entry(self, votes: np.ndarray, cos: np.ndarray) -> list[int]:
        """The closest entry of the theme the examples vote for most, so that theme is a candidate."""
        if not votes.any():
            return []
        members = np.flatnonzero(self._topic_of == int(np.argmax(votes)))
        return [int(members[np.argmax(cos[members])])] if len(members) else []

    def _near_distress(self, similarities: np.ndarray, to_banks: np.ndarray) -> float:
        """Among the nearest labelled messages (the FAQ's questions, both banks, the examples), the
        weighted share of distress."""
        pooled = np.concatenate([similarities, to_banks])[self._neighbours]
        if not len(pooled):
            return 0.0
        k = min(NEIGHBOURS, len(pooled))
        nearest = np.argpartition(-pooled, k - 1)[:k]
        weights = np.maximum(pooled[nearest], 0.0)
        distress = self._distress_example[nearest] if len(self._distress_example) else np.zeros(k, dtype=bool)
        return float((weights * distress).sum() / weights.sum()) if weights.sum() > 0 else 0.0

    @staticmethod
    def _intent(entry: Entry, asked: frozenset[str]) -> float:
        if not asked or not entry.intents:
            return 0.0
        return 1.0 if asked.intersection(entry.intents) else -1.0


# The code that learns the probe: part of the key it is shipped under, beside what it is learnt from.
PROBE_CODE = (distress_probe.__file__, logistic.__file__)


def _probe_key(inputs: Sequence[np.ndarray]) -> str:
    """A digest of the arrays the probe's two groups are made from (not of copies of the rows)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in inputs:
        digest.update(f"{array.dtype} {array.shape}".encode())
        if array.flags.c_contiguous:
            digest.update(array)  # the buffer itself, not a copy
        else:  # the same bytes a block of rows at a time: a copy of a large matrix was a start's peak
            for start in range(0, len(array), 4096):
                digest.update(np.ascontiguousarray(array[start : start + 4096]))
    return digest.hexdigest()


def _learnt_probe(groups: Callable[[], tuple[np.ndarray, np.ndarray]], key: str | None,
                  memo: ReadingMemo | None, shipped: Path | None = None) -> DistressProbe | None:
    """The distress probe for the two groups of vectors `groups()` makes (distress, ordinary);
    kept in the memo under `key` (learning it takes one to three seconds on two cores and was a
    first start's peak of memory, reading it back nothing), or read from the `shipped` file when
    `fit` learnt it from the same arrays. Engines built without a memo (`fit`'s folds,
    `Engine.rebuilt` in cross-validation) learn it each time."""
    def learn(_: str) -> list[float]:
        found = read_shipped_probe(shipped, shipped_key(key, PROBE_CODE)) if shipped and key else None
        if found is not None:
            return found
        probe = DistressProbe.learn(*groups())
        return probe.as_list() if probe else []
    if memo is None or key is None:
        return DistressProbe.learn(*groups())
    values = memo.get("probe", key, learn)
    return DistressProbe.from_list(values) if values else None


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(words[i : i + size] == phrase for i in range(len(words) - size + 1))


def topic_rows(rows: np.ndarray, topics: Sequence[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """The themes among the candidates, in order of first appearance, and their features
    (TOPIC_FEATURES): each theme's best candidate on each entry feature, and the message's own."""
    themes = tuple(dict.fromkeys(topics))
    out = np.zeros((len(themes), len(TOPIC_FEATURES)))
    if not themes:
        return themes, out
    of = np.array([themes.index(t) for t in topics])
    for k in range(len(themes)):
        mine = rows[of == k]
        out[k, : len(_FROM)] = mine[:, _FROM].max(axis=0)
        out[k, len(_FROM) : len(_FROM) + 3] = mine[0, _MESSAGE]
        out[k, -2] = len(mine) / len(rows)
        out[k, -1] = mine[:, _ASKED].mean()
    return themes, out
