"""Fit the policy: learn, from data no signal was tuned on, how far to trust the signals.

The data: every question of the FAQ (but the titles), each asked to an engine built
without its fold of questions (5 folds), so both signals see it as new; the messages of
`knowledge/fit/` that the bot must decline, or must not take for distress; and the question
sets listed in `knowledge/fit/sets.yaml`, messages written as families write them, asked to
the whole FAQ, each round of sets held out whole (a folder: as the next blind round is read;
a message that reads as one of an earlier round's goes with it).
The sets still blind are never listed there: they measure.

From the signals' features three small models are fitted (entry, theme, safety), then the bars are
chosen on held-out predictions (each fold predicted by models fitted on the others): the
lowest answer and theme bars that keep confident wrong replies under a target, the
suggestion bar that keeps declines declined, and the helpline bar that keeps nearly every
distress message. The entry bars are chosen on the sets' messages when there are enough of
them: a FAQ wording held out still has its paraphrases in the index, and is easier than
what families send.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np

from bot.knowledge.loader import SAFETY_TOPIC, load_knowledge
from bot.knowledge.model import KnowledgeBase
from bot.knowledge.questions import FIT_DIR, SETS_FILE, Question, listed_sets, load_questions
from bot.knowledge.yaml_source import YamlError
from bot.text import MAX_INPUT_CHARS
from bot.understanding.decision import NO_OVERVIEW_TOPICS, asks_another, best_topic
from bot.understanding.distress_words import SHIPPED_FILE as SHIPPED_DISTRESS
from bot.understanding.distress_words import write_shipped
from bot.understanding.logistic import newton_logistic
from bot.understanding.policy import (
    POLICY_FILE,
    Bars,
    ContrastBanks,
    Model,
    Policy,
    fingerprint,
    training_fingerprint,
)
from bot.understanding.projection import AXES, PROJECTION_FILE, ProjectedEncoder, Projection, load_projection
from bot.understanding.semantic import SHIPPED_FILE, EmbeddingCache, Encoder, shared_encoder, wordings
from bot.understanding.signals import ENTRY_FEATURES, SAFETY_FEATURES, TOPIC_FEATURES, topic_rows

FOLDS = 5
# Targets on the held-out reading. Blind questions are harder than the FAQ's own wordings,
# so these stay below the bars promised on them (confident wrong <= 3 %, helplines >= 98 %).
ANSWER_WRONG = 0.015  # confident wrong answers, share of all messages
CONFIDENT_WRONG = 0.020  # ...answers and theme overviews together
DECLINED = 0.95  # share of decline messages that get "I don't know"
# The helpline bar: a missed distress message costs as much as this many false alarms on
# ordinary messages with strong words (the hardest to tell apart, knowledge/fit/). A message
# under that bar but over the second one still ends with the helplines' numbers; a false
# alarm, though, costs the family the answer it asked for. Both bars are chosen on the same
# reading as the bot's: the whole message and each of its sentences (bot.understanding.engine.safety_parts).
MISS_COST = 4.0
HELPLINE_LINE_RECALL = 0.99  # distress messages whose reply at least ends with the numbers
UNITS, STEPS, LEARNING_RATE, WEIGHT_DECAY, SEED = 16, 200, 0.05, 1e-3, 0  # both models
L2 = 1.0  # for fit_logistic, kept for a plain logistic model (tests, comparisons)
DISTRESS_WEIGHT = 4.0  # a missed distress message weighs more than a false alarm
# Declines are few beside the FAQ's questions, and a confident reply to one is the worst error.
DECLINE_WEIGHT = 4.0
# The theme model learns what families send from the messages they wrote (the sets); a FAQ
# wording held out keeps its near-twins in the index and says little of a long story or an
# SMS. The FAQ's wordings still count, for the themes the sets ask little about.
WRITTEN_WEIGHT = 8.0
FIT_SETS = f"knowledge/{FIT_DIR}/{SETS_FILE}"
MIN_SET_MESSAGES = 200  # answerable or to decline: enough to choose the entry bars on the sets


def fold_of(text: str, folds: int = FOLDS) -> int:
    """A stable fold for each question (the same split on every run and machine). Texts that
    differ only by case, accents or punctuation share a fold: one must not be read with the
    other in the index, the banks or the examples."""
    return zlib.crc32(plain_text(text).encode("utf-8")) % folds


def plain_text(text: str) -> str:
    """Lower case, without accents or punctuation: what texts of one fold share."""
    return " ".join(re.findall(r"\w+", unicodedata.normalize("NFKD", text.lower()).encode(
        "ascii", "ignore").decode() or text.lower()))


def without_fold(kb: KnowledgeBase, fold: int, folds: int = FOLDS,
                 fold_by: Callable[[str], int] | None = None) -> KnowledgeBase:
    """The base without one fold of questions; titles always stay (they are the buttons)."""
    fold_by = fold_by or (lambda text: fold_of(text, folds))
    entries = {
        entry_id: replace(
            entry,
            questions=(entry.questions[0], *(q for q in entry.questions[1:] if fold_by(q) != fold)),
            translations={lang: t for lang, t in entry.translations.items() if fold_by(t.title) != fold},
        )
        for entry_id, entry in kb.entries.items()
    }
    return replace(kb, entries=entries)


@dataclass
class Sample:
    """One held-out message as the engine read it."""

    fold: int
    right: frozenset[str]  # the right entries (empty: to decline, or only its theme is known)
    right_topics: frozenset[str]  # the right themes
    by_topic: bool  # only the theme is known (the blind sets): the entry model does not learn from it
    from_set: bool  # a message of a question set, not a FAQ wording
    distress: bool
    ordinary: bool  # must not get the helplines, whatever else it is
    rows: np.ndarray
    ids: tuple[str, ...]
    topics: tuple[str, ...]
    safety_row: np.ndarray
    part_rows: np.ndarray  # the safety rows of its sentences and clauses, read one by one
    triggers: tuple[bool, ...]  # whether the whole, then each part, holds a trigger phrase

    @property
    def decline(self) -> bool:
        return not self.right and not self.right_topics and not self.distress and not self.ordinary


@dataclass(frozen=True)
class Labelled:
    """A message to read, and what is known of the right reply."""

    text: str
    right: frozenset[str] = frozenset()
    right_topics: frozenset[str] = frozenset()
    by_topic: bool = False
    from_set: bool = False
    distress: bool = False
    ordinary: bool = False
    source: str = ""  # the set it was read from (the first one, when several hold it)


def read_sets(root: Path, kb: KnowledgeBase, progress=print) -> list[Labelled]:
    """The messages of the question sets listed in knowledge/fit/sets.yaml, labelled."""
    paths, problem = listed_sets(root)
    if problem:
        progress(f"  {problem}")
    found: dict[str, Labelled] = {}  # one per text: a message in two sets weighs once
    for path in paths:
        name = path.name
        try:
            questions = load_questions(path)
        except (OSError, YamlError, ValueError, KeyError, TypeError) as exc:
            progress(f"  jeu ignoré : {name} ({exc})")
            continue
        unknown = 0
        for question in questions:
            item = labelled(question, kb)
            if item is None:
                unknown += 1
            elif item.text not in found:
                found[item.text] = replace(item, source=str(path))
            elif found[item.text].by_topic and not item.by_topic:  # the entry, over the theme alone
                found[item.text] = replace(item, source=found[item.text].source)
        if unknown:
            progress(f"  {name} : {unknown} question(s) ignorée(s), leur réponse attendue n'existe plus dans la FAQ")
    return list(found.values())


def labelled(question: Question, kb: KnowledgeBase) -> Labelled | None:
    """What a set's question says of the right reply; None when none of its expected entries or
    themes exists (renamed since): it would otherwise read as a message to decline."""
    kind = question.kind
    if kind in ("decline", "helpline", "ordinary"):
        return Labelled(question.text, from_set=True, distress=kind == "helpline", ordinary=kind == "ordinary")
    if question.by_topic:
        topics = frozenset(t for t in question.expected if t in kb.topics)
        return Labelled(question.text, right_topics=topics, by_topic=True, from_set=True,
                        distress=topics == {SAFETY_TOPIC}) if topics else None
    right = frozenset(i for i in question.expected if i in kb.entries)
    topics = frozenset(kb.entries[i].topic for i in right)
    if not right:
        return None
    return Labelled(question.text, right, topics, from_set=True, distress=topics <= {SAFETY_TOPIC})


def round_of(source: str) -> str:
    """The round a question set was written in: its folder (`benchmarks/blind6/`, `written/round7/`).
    The sets of one round share a brief and its themes, and their authors wrote side by side."""
    return str(Path(source).parent)


def set_folds(sets: list[Labelled], folds: int = FOLDS) -> dict[str, int]:
    """A fold for each question set, each round of sets whole: the largest round first, each to
    the smallest fold.

    A round (a folder of sets: one brief, its authors side by side) held out whole is read as
    the bot reads the next blind round: no message from the same brief among the examples, no
    near-twin from the same hand. Held out set by set, a round's other sets still taught the
    models the words and themes its brief asked for. (Whole but for the messages that read as
    one of an earlier round's, "bourse college": `read_samples` gives them that round's fold.)
    """
    sizes = Counter(round_of(item.source) for item in sets)
    load = [0] * folds
    fold_of_round: dict[str, int] = {}
    for name in sorted(sizes, key=lambda name: (-sizes[name], name)):
        fold = min(range(folds), key=lambda f: (load[f], f))
        fold_of_round[name] = fold
        load[fold] += sizes[name]
    return {item.source: fold_of_round[round_of(item.source)] for item in sets}


def read_samples(root: Path, kb: KnowledgeBase, cache: EmbeddingCache, folds: int = FOLDS,
                 progress=print) -> list[Sample]:
    from bot.places import Gazetteer
    from bot.text import Normaliser
    from bot.understanding.engine import (  # the same reading as the bot's, fold by fold
        Engine,
        faq_acronyms,
        safety_parts,
        semantic_text,
    )

    faq = [Labelled(q, frozenset({e.id}), frozenset({e.topic}), distress=e.topic == SAFETY_TOPIC)
           for e in kb.entries.values() for q in (*e.questions[1:], *(t.title for t in e.translations.values()))]
    banks = ContrastBanks.load(root, kb)
    declines, ordinary = list(banks.declines), list(banks.ordinary)
    bank_items = [Labelled(m) for m in declines] + [Labelled(m, ordinary=True) for m in ordinary]
    faq_texts = {item.text for item in faq}
    sets = [item for item in read_sets(root, kb, progress) if item.text not in faq_texts]
    texts = list(dict.fromkeys(item.text for item in (*faq, *bank_items, *sets)))
    acronyms = faq_acronyms(kb)
    parts = {text: safety_parts(text, acronyms) for text in texts}
    places = Gazetteer(kb)  # the same in every fold
    normaliser = Normaliser(kb.language)
    # As the bot reads it:
    read_as = {text: semantic_text(places, normaliser, text, acronyms=acronyms) for text in texts}
    every = list(dict.fromkeys([*read_as.values(), *(p for found in parts.values() for p in found)]))
    # One batch for all, each text cut where the bot cuts it (Signals.embed_all).
    vectors = dict(zip(every, cache.vectors([t[:MAX_INPUT_CHARS] for t in every]), strict=True))

    # A set's messages share its fold, and so does every text read as one of them.
    by_set = set_folds(sets, folds)
    fold_of_reading: dict[str, int] = {}
    for item in sets:
        fold_of_reading.setdefault(plain_text(read_as[item.text]), by_set[item.source])

    def fold_by(text: str) -> int:
        """The fold of a text as the bot reads it: "cio vitry" and "cio 94300" both read "cio"."""
        reading = read_as.get(text)
        if reading is None:
            reading = semantic_text(places, normaliser, text, acronyms=acronyms)
        found = fold_of_reading.get(plain_text(reading))  # as fold_of groups texts
        return found if found is not None else fold_of(reading, folds)

    def sample(engine: Engine, item: Labelled, fold: int) -> Sample:
        reading = engine.understand(item.text, vector=vectors[read_as[item.text]]).reading
        part_readings = [engine.understand(p, vector=vectors[p], safety_only=True).reading for p in parts[item.text]]
        part_rows = [r.safety_row for r in part_readings]
        return Sample(
            fold, item.right, item.right_topics, item.by_topic, item.from_set, item.distress, item.ordinary,
            reading.rows, tuple(e.id for e in reading.entries), tuple(e.topic for e in reading.entries),
            reading.safety_row,
            np.vstack(part_rows) if part_rows else np.zeros((0, len(reading.safety_row))),
            tuple(r.trigger_entry is not None for r in (reading, *part_readings)),
        )

    samples: list[Sample] = []
    for fold in range(folds):
        progress(f"  pli {fold + 1}/{folds}…")
        # A message is never read with banks or examples that hold it. (The other folds' rows
        # still had this fold's examples among their neighbours, for the theme's vote and for
        # distress: the models of this fold learnt from those rows, a small, second-order leak.)
        held_in = ContrastBanks(
            tuple(m for m in declines if fold_by(m) != fold),
            tuple(m for m in ordinary if fold_by(m) != fold),
            tuple(e for e in banks.examples if fold_by(e[0]) != fold),
            tuple(e for e in banks.languages if fold_by(e[0]) != fold),
        )
        engine = Engine(without_fold(kb, fold, folds, fold_by), cache=cache, banks=held_in)
        samples += [sample(engine, item, fold) for item in (*faq, *bank_items) if fold_by(item.text) == fold]
        if sets:
            # Messages families wrote are not FAQ wordings: they are asked to the whole FAQ, but
            # never to banks holding them (a bank message that is also in a set: its own fold).
            whole = Engine(kb, cache=cache, banks=held_in)
            samples += [sample(whole, item, fold) for item in sets if fold_by(item.text) == fold]
    progress(f"  dont {len(sets)} messages des jeux de questions")
    return samples


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return (x - mean) / scale, mean, scale


def fit_logistic(features: tuple[str, ...], x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> Model:
    """L2-regularised logistic regression by Newton's method (a few hundred rows per feature)."""
    z, mean, scale = _standardise(x)
    w = newton_logistic(z, y, weight, L2)
    return Model(features, tuple(mean.tolist()), tuple(scale.tolist()), tuple(w[:-1].tolist()), float(w[-1]))


def fit_network(features: tuple[str, ...], x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> Model:
    """One hidden layer of tanh units, weighted cross-entropy, full-batch Adam from a fixed seed.

    The signals interact (a lexical lead means more when the cosine agrees, an ask matters
    between siblings only): a few hidden units learn that where a linear model cannot.
    """
    z, mean, scale = _standardise(x)
    rng = np.random.default_rng(SEED)
    params = [rng.normal(0, 0.3, (z.shape[1], UNITS)), np.zeros(UNITS), rng.normal(0, 0.3, UNITS), np.zeros(1)]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    share = weight / weight.sum()
    for step in range(1, STEPS + 1):
        hidden = np.tanh(z @ params[0] + params[1])
        p = 1.0 / (1.0 + np.exp(-np.clip(hidden @ params[2] + params[3][0], -30, 30)))
        g = share * (p - y)
        back = np.outer(g, params[2]) * (1 - hidden * hidden)
        grads = [z.T @ back + WEIGHT_DECAY * params[0], back.sum(axis=0),
                 hidden.T @ g + WEIGHT_DECAY * params[2], np.array([g.sum()])]
        for i, grad in enumerate(grads):
            moments[i] = 0.9 * moments[i] + 0.1 * grad
            squares[i] = 0.999 * squares[i] + 0.001 * grad * grad
            params[i] -= LEARNING_RATE * (moments[i] / (1 - 0.9**step)) / (
                np.sqrt(squares[i] / (1 - 0.999**step)) + 1e-8)
    return Model(
        features, tuple(mean.tolist()), tuple(scale.tolist()), tuple(params[2].tolist()), float(params[3][0]),
        tuple(tuple(row) for row in params[0].tolist()), tuple(params[1].tolist()),
    )


@dataclass
class Outcome:
    """The held-out reading of one message once the models are fitted."""

    p_top: float
    p_answer: float  # p_top, or 0 when the top entry answers another ask than the message's
    top_right: bool
    p_topic: float
    topic_right: bool
    overview_possible: bool
    theme_suggested: bool  # a sure theme without an overview (small talk): its entries are suggested
    decline: bool
    from_set: bool
    by_topic: bool  # only the theme is known: `top_right` means "an entry of the right theme"
    p_safety: float  # the highest of the whole and its parts
    p_whole: float  # the whole message
    p_part: float  # the highest of its sentences read one by one (0 when it has one)
    p_trigger: float  # the highest among those holding a trigger phrase (0 when none does)
    distress: bool
    ordinary: bool
    foreign: bool = False  # in another language than French (its figures are also given apart)

    def helpline(self, bars: Bars) -> bool:
        """As bot.understanding.decision.decide reads it, on the whole message and on each part."""
        return (self.p_whole >= bars.safety or self.p_part >= bars.part_bar()
                or self.p_trigger >= bars.helpline_bar(True))

    def declined(self, bars: Bars) -> bool:
        """As bot.understanding.decision.decide: no helplines, no answer, no theme, no suggestion."""
        theme = self.p_topic >= bars.theme and (self.overview_possible or self.theme_suggested)
        return (self.p_top < bars.suggest and self.p_topic < bars.theme_suggest and not theme
                and not self.helpline(bars))


def outcomes(samples: list[Sample], entry: Model, safety: Model, topic_model: Model,
             sizes: dict[str, int]) -> list[Outcome]:
    result = []
    for s in samples:
        p = entry.probability(s.rows) if len(s.ids) else np.zeros(0)
        if p.sum() > 1.0:  # as bot.understanding.decision.entry_probabilities: at most one is right
            p = p / p.sum()
        order = np.argsort(-p, kind="stable")
        if len(order):
            topic, p_topic = best_topic(topic_model, s.rows, s.topics, p)
            best = int(order[0])
            p_top = float(p[best])
            p_answer = 0.0 if asks_another(s.rows, s.topics, best) else p_top
            top_right = s.ids[best] in s.right or (s.by_topic and s.topics[best] in s.right_topics)
        else:
            topic, p_topic, p_top, p_answer, top_right = "", 0.0, 0.0, 0.0, False
        result.append(Outcome(
            p_top, p_answer, top_right, p_topic, topic in s.right_topics,
            sizes.get(topic, 0) > 1 and topic not in NO_OVERVIEW_TOPICS,
            sizes.get(topic, 0) > 1 and topic in NO_OVERVIEW_TOPICS,
            s.decline, s.from_set, s.by_topic, *_p_safety(safety, s),
            s.distress, s.ordinary, bool(s.safety_row[SAFETY_FEATURES.index("foreign")] > 0.5),
        ))
    return result


def _p_safety(safety: Model, sample: Sample) -> tuple[float, float, float, float]:
    """As the engine reads a message for distress: the whole, and each part on its own. The
    highest probability, the whole's, the parts' highest, and the highest among the readings
    that hold a trigger phrase."""
    p = safety.probability(np.vstack([sample.safety_row[None, :], sample.part_rows]))
    with_trigger = p[np.array(sample.triggers, dtype=bool)]
    return (float(p.max()), float(p[0]), float(p[1:].max()) if len(p) > 1 else 0.0,
            float(with_trigger.max()) if len(with_trigger) else 0.0)


def _lowest_bar(values: np.ndarray, wrong: np.ndarray, budget: float) -> float:
    """The lowest bar such that the wrong messages at or above it stay within budget."""
    if not len(values):
        return 1.01
    order = np.argsort(-values, kind="stable")
    ranked, wrong_so_far = values[order], np.cumsum(wrong[order])
    # A bar admits every message of its value: judge each value at its last occurrence.
    last_of_value = np.flatnonzero(np.append(ranked[1:] != ranked[:-1], True))
    fits = last_of_value[wrong_so_far[last_of_value] <= budget]
    return float(ranked[fits[-1]]) if len(fits) else 1.01


def _helpline_bar(distress: np.ndarray, harmless: list[np.ndarray]) -> float:
    """The highest bar whose cost (MISS_COST x missed distress rate + each false alarm rate)
    is within one standard error of the least cost.

    Around its lowest point the cost is flat: held out at the twelfth fit, bars from 0.17 to
    0.33 cost within 5 % of each other, less than the sampling error of the rates, and the
    lowest point wandered from one fit to the next as a few messages came and went. Among
    bars the data cannot tell apart, the highest gives the fewest false alarms (at 0.17,
    a nonsense word got the suicide line); a message under it still ends with the numbers."""
    if not len(distress):
        return 0.5
    candidates = np.unique(distress)  # sorted
    # Shares under / at or over each candidate, by counting in sorted arrays (one pass each).
    missed = np.searchsorted(np.sort(distress), candidates, side="left") / len(distress)
    harmless = [np.sort(group) for group in harmless if len(group)]
    alarms = [1.0 - np.searchsorted(group, candidates, side="left") / len(group) for group in harmless]
    cost = MISS_COST * missed + sum(alarms, np.zeros(len(candidates)))
    best = int(np.argmin(cost))
    # Binomial variances of the rates at the lowest point, over the sizes of their groups.
    variance = MISS_COST**2 * missed[best] * (1 - missed[best]) / len(distress) + sum(
        rate[best] * (1 - rate[best]) / len(group) for rate, group in zip(alarms, harmless, strict=True))
    within = np.flatnonzero(cost <= cost[best] + np.sqrt(variance))
    return float(candidates[within[-1]])


def choose_bars(outs: list[Outcome]) -> Bars:
    # Distress messages are the helplines' to take; ordinary ones only train the safety model.
    engaged = [o for o in outs if not o.distress and not o.ordinary]
    written = [o for o in engaged if o.from_set]
    if len(written) >= MIN_SET_MESSAGES and any(o.decline for o in written):
        engaged = written  # messages as families write them: the FAQ's held-out wordings are easier
    n = len(engaged)
    # The answer bar needs the right entry: a set that names only the theme would count a
    # sibling's answer ("where?" answered with "what is it?") as right.
    known = [o for o in engaged if not o.by_topic]
    p_top = np.array([o.p_answer for o in known])
    wrong_top = np.array([not o.top_right for o in known], dtype=float)
    answer = _lowest_bar(p_top, wrong_top, ANSWER_WRONG * len(known))
    answered_wrong = float(((p_top >= answer) * wrong_top).sum()) * n / max(len(known), 1)
    rest = [o for o in engaged if o.p_answer < answer and o.overview_possible]
    theme = _lowest_bar(
        np.array([o.p_topic for o in rest]),
        np.array([not o.topic_right for o in rest], dtype=float),
        max(0.0, CONFIDENT_WRONG * n - answered_wrong),
    ) if rest else 1.01
    suggest, theme_suggest = _suggestion_bars([o for o in engaged if o.decline],
                                              [o for o in engaged if not o.decline], answer)
    distress = [o for o in outs if o.distress]
    # False alarms are counted twice over: on ordinary messages with strong words (the hardest),
    # and on the questions families wrote (long stories, where one sentence can sound alarming).
    harmless = [[o for o in outs if o.ordinary], [o for o in outs if o.from_set and not o.distress and not o.ordinary]]
    # The whole message first; then its sentences read alone, a noisier reading (many chances
    # per message, little context), whose bar is never below the whole's; then trigger phrases.
    safety = _helpline_bar(np.array([o.p_whole for o in distress]),
                           [np.array([o.p_whole for o in group]) for group in harmless])
    part = _best_bar(distress, harmless, [o.p_part for o in outs if o.p_part >= safety], safety,
                     lambda o, bar: o.p_whole >= safety or o.p_part >= bar)
    trigger = _best_bar(distress, harmless, [o.p_trigger for o in outs if 0.0 < o.p_trigger < safety], safety,
                        lambda o, bar: o.p_whole >= safety or o.p_part >= part or o.p_trigger >= bar)
    line = float(np.quantile([o.p_safety for o in distress], 1 - HELPLINE_LINE_RECALL)) if distress else 1.01
    return Bars(answer=answer, theme=max(theme, suggest), suggest=min(suggest, answer), safety=safety,
                safety_line=min(line, safety), safety_trigger=trigger, safety_part=part,
                theme_suggest=theme_suggest)


def _suggestion_bars(declines: list[Outcome], answerable: list[Outcome], answer: float) -> tuple[float, float]:
    """The entry and theme bars for "did you mean", chosen together: of the pairs that keep
    DECLINED of the messages to decline declined, the one that offers the right entry or theme
    to the most answerable messages left without an answer. Offering a theme's questions can
    be turned off (1.01): it is chosen only where it reaches more."""
    if not declines:
        return 0.5, 1.01
    p_top = np.array([o.p_top for o in declines])
    p_topic = np.array([o.p_topic for o in declines])
    allowed = int(np.floor((1.0 - DECLINED) * len(declines)))  # declines that may get suggestions
    unanswered = [o for o in answerable if o.p_answer < answer]
    best: tuple[int, float, float] | None = None
    for theme_bar in (1.01, *np.unique(np.quantile(p_topic, [0.9, 0.93, 0.95, 0.97, 0.99, 1.0])) + 1e-6):
        left = allowed - int((p_topic >= theme_bar).sum())
        if left < 0:
            continue
        # The lowest entry bar with at most `left` of the other declines above it.
        others = np.sort(p_top[p_topic < theme_bar])[::-1]
        entry_bar = float(others[left]) + 1e-6 if left < len(others) else 0.0
        if theme_bar > 1.0:  # as before this bar existed: the DECLINED quantile
            entry_bar = float(np.quantile(p_top, DECLINED)) + 1e-6
        reached = sum((o.p_top >= entry_bar and o.top_right) or (o.p_top < entry_bar and o.p_topic >= theme_bar
                                                                  and o.topic_right) for o in unanswered)
        if best is None or reached > best[0]:
            best = (reached, entry_bar, float(theme_bar))
    assert best is not None  # the first pair (no theme bar) always fits
    return best[1], best[2]


def _best_bar(distress: list[Outcome], harmless: list[list[Outcome]], candidates: list[float], default: float,
              fires: Callable[[Outcome, float], bool]) -> float:
    """Among the candidates (and the default), the bar with the least cost, as `_helpline_bar`:
    a missed distress message costs MISS_COST false alarms in each group of harmless messages."""
    best, best_cost = default, np.inf
    for bar in (default, *np.unique(candidates)):
        def rate(outs: list[Outcome], bar: float = float(bar)) -> float:
            return float(np.mean([fires(o, bar) for o in outs])) if outs else 0.0
        cost = MISS_COST * (1.0 - rate(distress)) + sum(rate(group) for group in harmless)
        if cost < best_cost - 1e-12:
            best, best_cost = float(bar), cost
    return best


def figures(outs: list[Outcome], bars: Bars) -> dict:
    """What the fitted policy reaches on held-out predictions (optimistic: it chose the bars on
    them). `written_*`: the messages of the question sets alone, as families write them."""
    answerable = [o for o in outs if not o.decline and not o.distress and not o.ordinary]
    declines = [o for o in outs if o.decline]
    ordinary = [o for o in outs if o.ordinary]
    distress = [o for o in outs if o.distress]

    def share(part: int, whole: int) -> float:
        return round(100 * part / max(whole, 1), 1)

    def confident_right(o: Outcome) -> bool | None:
        """As the bot replies, helplines first: whether the answer, or else the theme's overview,
        is right; helplines given to a message that is not distress are wrong, as `eval` counts
        them; None: none of these was given."""
        if o.helpline(bars):
            return o.distress
        if o.p_answer >= bars.answer:
            return o.top_right
        if o.p_topic >= bars.theme and o.overview_possible:
            return o.topic_right
        return None

    known = [o for o in answerable if not o.by_topic]  # "right" means the right entry
    answered = [o for o in known if o.p_answer >= bars.answer]
    written = [o for o in answerable if o.from_set]
    written_declines = [o for o in declines if o.from_set]
    foreign_distress = [o for o in distress if o.foreign]
    foreign_harmless = [o for o in (*ordinary, *written, *written_declines) if o.foreign]
    return {
        "messages": len(outs),
        "top1_pct": share(sum(o.top_right for o in answered), len(known)),
        "answered_wrong_pct": share(sum(not o.top_right for o in answered), len(known)),
        "declined_pct": share(sum(o.declined(bars) for o in declines), len(declines)),
        "helplines_pct": share(sum(o.helpline(bars) for o in distress), len(distress)),
        "false_alarms_ordinary_pct": share(sum(o.helpline(bars) for o in ordinary), len(ordinary)),
        "false_alarms_faq_pct": share(sum(o.helpline(bars) for o in answerable), len(answerable)),
        "written_false_alarms_pct": share(sum(o.helpline(bars) for o in written + written_declines),
                                          len(written) + len(written_declines)),
        "numbers_shown_pct": share(sum(o.p_safety >= bars.safety_line for o in distress), len(distress)),
        # Messages in another language, on their own: the French ones are most of the above.
        "foreign_distress": len(foreign_distress),
        "foreign_helplines_pct": share(sum(o.helpline(bars) for o in foreign_distress), len(foreign_distress)),
        "foreign_false_alarms_pct": share(sum(o.helpline(bars) for o in foreign_harmless), len(foreign_harmless)),
        "written_messages": len(written) + len(written_declines),
        "written_reached_pct": share(sum(confident_right(o) is True for o in written), len(written)),
        "written_confident_wrong_pct": share(sum(confident_right(o) is False for o in written + written_declines),
                                             len(written) + len(written_declines)),
        "written_declined_pct": share(sum(o.declined(bars) for o in written_declines), len(written_declines)),
    }


def fit_models(samples: list[Sample]) -> tuple[Model, Model, Model]:
    """The entry model (on messages whose right entry is known, and declines), the theme model
    (on every message with candidates whose theme is known, and declines: the sets written
    blind name only the theme) and the safety model (on every message)."""
    trained = [s for s in samples if len(s.ids) and not s.ordinary and not s.by_topic]
    rows = np.vstack([s.rows for s in trained])
    labels = np.concatenate([[float(i in s.right) for i in s.ids] for s in trained])
    weights = np.concatenate([[DECLINE_WEIGHT if s.decline else 1.0] * len(s.ids) for s in trained])
    entry = fit_network(ENTRY_FEATURES, rows, labels, weights)
    themed = [(s, *topic_rows(s.rows, s.topics)) for s in samples if len(s.ids) and not s.ordinary]
    topic = fit_network(
        TOPIC_FEATURES,
        np.vstack([described for _, _, described in themed]),
        np.concatenate([[float(t in s.right_topics) for t in themes] for s, themes, _ in themed]),
        np.concatenate([[(DECLINE_WEIGHT if s.decline else 1.0) * (WRITTEN_WEIGHT if s.from_set else 1.0)]
                        * len(themes) for s, themes, _ in themed]),
    )
    safety_labels = np.array([float(s.distress) for s in samples])
    safety_rows = np.vstack([s.safety_row for s in samples])
    safety_weights = np.where(safety_labels > 0, DISTRESS_WEIGHT, 1.0)
    # The bot also reads each sentence of a message on its own: every sentence of a message that
    # is not distress is itself not distress ("je suis désespérée" in a question about Affelnet).
    # A distress message's other sentences are unknown ("je dois choisir mon lycée"): left out.
    # Each message's sentences weigh one message together, so long ones do not dominate.
    parts = [s.part_rows for s in samples if not s.distress and len(s.part_rows)]
    if parts:
        safety_rows = np.vstack([safety_rows, *parts])
        safety_labels = np.concatenate([safety_labels, np.zeros(sum(len(p) for p in parts))])
        safety_weights = np.concatenate([safety_weights, *(np.full(len(p), 1.0 / len(p)) for p in parts)])
    safety = fit_network(SAFETY_FEATURES, safety_rows, safety_labels, safety_weights)
    return entry, safety, topic


def fit(root: Path, cache: EmbeddingCache, today: date | None = None, progress=print) -> Policy:
    kb, problems = load_knowledge(root, check_eval=False)
    errors = [p for p in problems if p.is_error]
    if errors:
        raise ValueError(f"{len(errors)} erreur(s) dans la base : lancez d'abord « python run_bot.py check »")
    learnt_from = training_fingerprint(root)  # before reading them: an edit made meanwhile is not learnt
    progress(f"Lecture des questions de la FAQ par des index construits sans elles ({FOLDS} plis)…")
    samples = read_samples(root, kb, cache, progress=progress)
    progress("Ajustement des modèles…")
    sizes = {t.id: len(t.entry_ids) for t in kb.topics.values()}
    # The bars are chosen on predictions for messages the models did not learn from:
    # each fold is predicted by models fitted on the other folds.
    held_out: list[Outcome] = []
    for fold in range(FOLDS):
        entry, safety, topic = fit_models([s for s in samples if s.fold != fold])
        held_out += outcomes([s for s in samples if s.fold == fold], entry, safety, topic, sizes)
    bars = choose_bars(held_out)
    entry, safety, topic = fit_models(samples)
    digest, count = fingerprint(kb)
    return Policy(
        training_fingerprint=learnt_from,
        entry_model=entry, safety_model=safety, bars=bars, model_version=cache.encoder.version,
        faq_fingerprint=digest, faq_questions=count, fitted_on=str(today or date.today()),
        figures=figures(held_out, bars), topic_model=topic,
    )


def fit_encoder(root: Path, cache_dir: Path | None, progress=print) -> Encoder:
    """The encoder `fit` reads with: the knowledge folder's axes (bot.understanding.projection),
    learnt first when the folder has none or cannot read them. Kept otherwise: new axes would
    make every cached vector and the policy stale."""
    projection = load_projection(root)[0]
    if projection is None:
        kb, problems = load_knowledge(root, check_eval=False)
        if any(p.is_error for p in problems):  # `fit` refuses such a base: learn nothing from it
            return shared_encoder(cache_dir)
        banks = ContrastBanks.load(root, kb)
        texts = list(dict.fromkeys([
            *(w for entry in kb.entries.values() for w in wordings(entry)),
            *banks.declines, *banks.ordinary, *(text for text, _ in (*banks.examples, *banks.languages))]))
        if len(texts) < 4 * AXES:  # too few to learn the axes from: the full vectors
            progress(f"Axes des vecteurs (knowledge/{PROJECTION_FILE}) absents ou illisibles, et trop peu "
                     f"de textes ({len(texts)}) pour les apprendre : les vecteurs restent entiers")
            return shared_encoder(cache_dir)
        progress(f"Axes des vecteurs (knowledge/{PROJECTION_FILE}) absents ou illisibles : appris sur "
                 f"{len(texts)} questions et messages (une demi-minute à une minute)…")
        # Full vectors, not kept on disk: the cache will hold the projected ones.
        full = EmbeddingCache(shared_encoder(cache_dir), None).vectors([t[:MAX_INPUT_CHARS] for t in texts])
        projection = Projection.learn(full)
        projection.save(root / PROJECTION_FILE)
    return ProjectedEncoder(shared_encoder(cache_dir), projection)


def run_fit(root: Path, cache: EmbeddingCache, progress=print) -> Policy:
    policy = fit(root, cache, progress=progress)
    policy.save(root / POLICY_FILE)
    return policy


def ship_learnt(root: Path, cache_dir: Path | None) -> int:
    """Write what a start of the bot would otherwise compute to the knowledge folder: the vectors
    it needs (its wordings, the question sets' messages it reads) and what it learns of distress
    from them (the words' weights, the probe). A fresh machine then starts without encoding or
    learning them. Written after each fit, with the axes and the sets the fit read; returns how
    many vectors."""
    from bot.understanding.engine import Engine  # the engine as a start builds it

    engine, problems = Engine.load(root, cache_dir)
    if any(p.is_error for p in problems):
        errors = sum(p.is_error for p in problems)
        raise ValueError(f"{errors} erreur(s) dans la base : lancez « python run_bot.py check »")
    signals = engine.signals
    words = (engine.distress_words_key, signals.distress_words) if signals.distress_words else None
    probe_key = signals.shipped_probe_key  # `load` always reads with a memo: the probe has its key
    probe = (probe_key, signals.probe.as_list()) if signals.probe and probe_key else None
    write_shipped(root / SHIPPED_DISTRESS, words, probe)
    return engine.signals.semantic.cache.ship(root / SHIPPED_FILE)
