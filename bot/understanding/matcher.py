"""Find the FAQ entries closest to a question.

Why not one fuzzy scorer over all questions: a shared common word ("stage", "talent")
would be enough to answer. Here each query word is first mapped onto the FAQ's own
vocabulary (tolerating typos), then weighted by how rare it is across entries, so the
score says how much of the *meaning* of the question an entry explains. Words the FAQ
has never seen ("surf", "guitare") count against the match instead of being ignored.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

from bot.knowledge.model import Entry, KnowledgeBase
from bot.text import Normalised, Normaliser, stem
from bot.understanding.reading_memo import ReadingMemo, WordPool

# A typo must keep most of the word: "cordes" -> "cordee" is 91, so short words need more.
TYPO_CUTOFF_LONG = 84  # words of 7+ letters
TYPO_CUTOFF_SHORT = 89  # words of 4 to 6 letters
UNKNOWN_WEIGHT_SHARE = 1.0
MIN_ROOT = 5  # letters a word and its family member must share at least...
ROOT_SHARE = 0.75  # ...and this share of the shorter one
ROOT_CERTAINTY = 0.7
BAYES_SMOOTHING = 0.5
# Entries scored in full per message, best bound first. Long messages can leave many entries
# above the fifth score; past 20, only weak candidates could change: on 6 921 FAQ questions
# and fragments, every answer and first choice is the one an exhaustive search gives (one
# third suggestion differs).
MAX_SCORED = 20
FUZZY_WEIGHT_POWER = 3  # a corrected word counts (similarity ** 3): 0.9 -> 0.73
QUERY_COVERAGE_WEIGHT = 0.65  # how much of the query an entry explains, vs. the reverse
# Long messages carry context ("we arrived in France two years ago...") that no entry
# explains: past this many words, the query side counts less and less.
SHORT_QUERY_WORDS = 5
LONG_QUERY_DECAY = 0.035
MIN_QUERY_COVERAGE_WEIGHT = 0.3
# A word found in only one of an entry's questions may be incidental there ("faut sortir le
# porte-monnaie ?" in the CIO-cost entry must not answer "tu veux sortir avec moi"): it counts
# less than the words the entry's questions share. Measured with benchmarks/cross_validate.py
# and a blind development set: fewer confident wrong answers for a little less top-1.
SINGLE_USE_WEIGHT = 0.7


def query_weight(word_count: int) -> float:
    """Exponent of the query coverage: 0.65 for short questions, less for long messages."""
    extra = max(0, word_count - SHORT_QUERY_WORDS)
    return max(MIN_QUERY_COVERAGE_WEIGHT, QUERY_COVERAGE_WEIGHT - LONG_QUERY_DECAY * extra)


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    score: float  # 0..100
    coverage: float  # share of the query's meaning this entry explains, 0..1
    word_count: int  # distinct meaningful words in the query


def tokens_of(norm: Normalised) -> tuple[str, ...]:
    """Meaningful words; a message made only of small words (\"qui es-tu\") keeps them all."""
    if norm.content:
        return norm.content
    return tuple(stem(w) for w in norm.words)


def _combine(question_score: float, coverage: float) -> float:
    """The 0-100 score: the best single question, and a little the entry as a whole."""
    return 100 * (0.7 * question_score + 0.3 * coverage)


def _shared_prefix(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


class Matcher:
    """An index of the FAQ's questions and keywords, built once per knowledge base."""

    def __init__(
        self,
        kb: KnowledgeBase,
        normaliser: Normaliser,
        strip_places: Callable[[tuple[str, ...]], tuple[str, ...]] = lambda words: words,
        memo: ReadingMemo | None = None,
    ) -> None:
        self.normaliser = normaliser
        self.entries: list[Entry] = list(kb.entries.values())

        def read(phrase: str) -> tuple[str, ...]:
            # Town names in the FAQ's questions must not attract messages from that town.
            return tokens_of(normaliser.normalise_words(strip_places(normaliser.words(phrase))))

        own = WordPool()

        def tokens(phrase: str) -> frozenset[str]:
            # One string object a word, not one a phrase (a base 50 times larger: 700,000 copies).
            return frozenset(map(own, memo.get("tokens", phrase, read) if memo else read(phrase)))

        docs: list[list[frozenset[str]]] = []
        for entry in self.entries:
            docs.append([tokens(p) for p in (*entry.questions, *entry.keywords)])
        df: dict[str, int] = defaultdict(int)
        for entry_docs in docs:
            for token in set().union(*entry_docs):
                df[token] += 1
        n = max(len(self.entries), 1)
        self.idf: dict[str, float] = {t: math.log(1 + n / c) for t, c in df.items()}
        # An unknown word weighs like the rarest known one: it is meaning the FAQ cannot explain.
        self.unknown_weight = math.log(1 + n) * UNKNOWN_WEIGHT_SHARE
        self.vocabulary: list[str] = sorted(self.idf)
        self._vocab_set = frozenset(self.vocabulary)
        # Per entry: which of its questions hold each word, and each question's weight (the
        # sum of its words' rarity); what each word is worth to the entry: its rarity, less if
        # only one question holds it; across entries: which entries hold each word. Each entry's
        # made whole before the next (its lists made tuples at once), and one float object a word
        # and worth, shared by its entries: on a base 50 times larger, 800,000 pairs.
        single_use = {t: w * SINGLE_USE_WEIGHT for t, w in self.idf.items()}
        same: dict[tuple[int, ...], tuple[int, ...]] = {}  # one tuple object for (0,), (0, 3)...
        self._local_postings: list[dict[str, tuple[int, ...]]] = []
        self._question_weights: list[list[float]] = []
        self._worth: list[dict[str, float]] = []
        entry_postings: dict[str, list[int]] = defaultdict(list)
        for index, entry_docs in enumerate(docs):
            for token in frozenset().union(*entry_docs):
                entry_postings[token].append(index)
            postings: dict[str, list[int]] = defaultdict(list)
            weights: list[float] = []
            for tokens in entry_docs:
                if not tokens:
                    continue
                for token in tokens:
                    postings[token].append(len(weights))
                weights.append(sum(self.idf[t] for t in tokens))
            self._question_weights.append(weights)
            shared = {t: tuple(qs) for t, qs in postings.items()}
            self._local_postings.append({t: same.setdefault(qs, qs) for t, qs in shared.items()})
            self._worth.append({t: single_use[t] if len(qs) == 1 else self.idf[t] for t, qs in postings.items()})
        # Across entries, each word's holders with its worth to them: the ranking's inner loop,
        # as two arrays a word (a list of pairs took 45 MB, and a loop, on a base 50 times larger).
        self._holders: dict[str, tuple[np.ndarray, np.ndarray]] = {
            token: (np.array(indexes, dtype=np.int64),
                    np.array([self._worth[index][token] for index in indexes], dtype=np.float64))
            for token, indexes in entry_postings.items()
        }
        self._correct = lru_cache(maxsize=4096)(self._correct_uncached)
        # A second, independent view for close calls: how often each word appears among an
        # entry's own questions (naive Bayes), so that "qui" points to the "who" entries: the
        # number of its questions holding the word, the length of its postings.
        self._word_totals = [sum(map(len, postings.values())) for postings in self._local_postings]
        self._documents = [len(entry_docs) for entry_docs in docs]
        self._index_of = {entry.id: i for i, entry in enumerate(self.entries)}

    def entry_words(self, index: int) -> tuple[dict[str, int], int]:
        """How many of an entry's questions and keywords hold each word, and how many they are."""
        return {t: len(qs) for t, qs in self._local_postings[index].items()}, self._documents[index]

    def vocabulary_word(self, word: str) -> str | None:
        """The FAQ's own word this one stands for (typos and word families), or None."""
        return self._correct(word)[0]

    def agreement(self, norm: Normalised, entries: list[Entry]) -> dict[str, float]:
        """Share of belief (naive Bayes over the FAQ's questions) each entry gets among `entries`."""
        words = [target for target, _ in map(self._correct, dict.fromkeys(tokens_of(norm))) if target]
        size = len(self.vocabulary)
        logs: dict[str, float] = {}
        for entry in entries:
            index = self._index_of[entry.id]
            postings, total = self._local_postings[index], self._word_totals[index]
            logs[entry.id] = sum(
                math.log((len(postings.get(w, ())) + BAYES_SMOOTHING) / (total + BAYES_SMOOTHING * size))
                for w in words
            )
        if not logs:
            return {}
        top = max(logs.values())
        weights = {entry_id: math.exp(value - top) for entry_id, value in logs.items()}
        norm_sum = sum(weights.values())
        return {entry_id: weight / norm_sum for entry_id, weight in weights.items()}

    def _correct_uncached(self, word: str) -> tuple[str | None, float]:
        """The vocabulary word this one stands for, and how sure we are (1.0 = exact)."""
        if word in self._vocab_set:
            return word, 1.0
        if len(word) < 4 or word.isdigit():
            return None, 0.0
        cutoff = TYPO_CUTOFF_LONG if len(word) >= 7 else TYPO_CUTOFF_SHORT
        found = process.extractOne(word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff)
        if found is not None:
            return found[0], (found[1] / 100) ** FUZZY_WEIGHT_POWER
        return self._same_root(word)

    def _same_root(self, word: str) -> tuple[str | None, float]:
        """A vocabulary word of the same family: 'inscrit' and 'inscription' share 'inscri'.

        The shared beginning must cover most of the shorter word, so that 'information'
        and 'informatique' stay apart.
        """
        if len(word) < MIN_ROOT:
            return None, 0.0
        start = bisect.bisect_left(self.vocabulary, word[:MIN_ROOT])
        best: tuple[int, str] | None = None
        for candidate in self.vocabulary[start:]:
            if not candidate.startswith(word[:MIN_ROOT]):
                break
            shared = _shared_prefix(word, candidate)
            if shared >= ROOT_SHARE * min(len(word), len(candidate)) and (best is None or shared > best[0]):
                best = (shared, candidate)
        return (best[1], ROOT_CERTAINTY) if best else (None, 0.0)

    def _best_question(self, index: int, mapped: dict[str, float], total: float, alpha: float) -> float:
        """Score of the entry's question closest to the query, through the entry's own postings."""
        postings = self._local_postings[index]
        worth = self._worth[index]
        weights = self._question_weights[index]
        gain = [0.0] * len(weights)  # per question: the query's weight it explains (lists: the hot loop)
        hit = [0.0] * len(weights)  # ...and its own weight the query covers
        for token, certainty in mapped.items():
            found = postings.get(token)
            if found:
                weight = self.idf[token]
                earned = worth[token] * certainty
                for q_local in found:
                    gain[q_local] += earned
                    hit[q_local] += weight
        # A question can score at most (its gain)^alpha: try the richest first, stop when none can win.
        best = 0.0
        beta = 1 - alpha
        for q in sorted(range(len(gain)), key=gain.__getitem__, reverse=True):
            cap = (gain[q] / total) ** alpha
            if cap <= best:
                break
            best = max(best, cap * (hit[q] / weights[q]) ** beta)
        return best

    def _query(self, norm: Normalised) -> tuple[dict[str, float], float, int]:
        """The message as vocabulary words with their certainty, its total weight, its size."""
        mapped: dict[str, float] = {}  # vocabulary word -> certainty
        total = 0.0
        distinct = tuple(dict.fromkeys(tokens_of(norm)))
        for word in distinct:
            target, certainty = self._correct(word)
            if target is None:
                total += self.unknown_weight
                continue
            total += self.idf[target]
            mapped[target] = max(mapped.get(target, 0.0), certainty)
        return mapped, total, len(distinct)

    def _candidate(self, index: int, mapped: dict[str, float], total: float, size: int) -> Candidate:
        worth = self._worth[index]
        coverage = sum(worth[t] * c for t, c in mapped.items() if t in worth) / total
        # Words spread over several of an entry's questions still count, a little less.
        question_score = self._best_question(index, mapped, total, query_weight(size))
        return Candidate(self.entries[index], round(_combine(question_score, coverage), 1), coverage, size)

    def score(self, norm: Normalised, entries: list[Entry]) -> list[Candidate]:
        """The given entries scored for the message (as `rank` would), best first."""
        mapped, total, size = self._query(norm)
        if not mapped:
            return []
        found = [self._candidate(self._index_of[e.id], mapped, total, size) for e in entries]
        return sorted(found, key=lambda c: (-c.score, c.entry.id))

    def rank(self, norm: Normalised, limit: int = 5) -> list[Candidate]:
        """The `limit` best entries for the message, best first."""
        mapped, total, size = self._query(norm)
        if not mapped:
            return []
        alpha = query_weight(size)
        # Entries first: the share of the query an entry explains (its coverage) bounds the
        # score of every one of its questions, so entries are scored best-bound first and the
        # search stops when no remaining entry can enter the top `limit`, or after MAX_SCORED.
        entry_gain = np.zeros(len(self.entries))
        for token, certainty in mapped.items():
            holders = self._holders.get(token)
            if holders is not None:  # each entry once a word: the same sums, in the same order
                entry_gain[holders[0]] += holders[1] * certainty
        held = np.flatnonzero(entry_gain)
        # Best bound first (ties: the first entry), without a Python object per entry.
        order = held[np.lexsort((held, -entry_gain[held]))]
        candidates: list[Candidate] = []
        floor = -1.0  # the lowest score still in the top `limit`
        for index in order[:MAX_SCORED].tolist():
            coverage = float(entry_gain[index]) / total
            if len(candidates) >= limit and round(_combine(coverage**alpha, coverage), 1) < floor:
                break
            # Words spread over several of an entry's questions still count, a little less.
            score = round(_combine(self._best_question(index, mapped, total, alpha), coverage), 1)
            candidates.append(Candidate(self.entries[index], score, coverage, size))
            if len(candidates) >= limit:
                candidates.sort(key=lambda c: (-c.score, c.entry.id))
                del candidates[limit:]
                floor = candidates[-1].score
        candidates.sort(key=lambda c: (-c.score, c.entry.id))
        return candidates[:limit]
