"""One decision: from the signals' reading and the policy, what kind of reply to give.

In order: helplines (a trigger phrase, or the safety model's probability over its bar);
then the best entry's probability decides whether to answer with it; if not, the best
theme's probability whether to show its overview with the sibling entries as buttons (sure
of the theme, not of the entry); if not, the best entry's whether to suggest the closest
entries; else decline. The step that decided is named.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.knowledge.loader import SAFETY_TOPIC
from bot.knowledge.model import Entry
from bot.understanding.policy import Model, Policy
from bot.understanding.signals import ENTRY_FEATURES, Reading, topic_rows

HELPLINE, ANSWER, THEME, SUGGEST, DECLINE = "helpline", "answer", "theme", "suggest", "decline"
MAX_SUGGESTIONS = 3
NO_OVERVIEW_TOPICS = frozenset({"chit-chat"})  # small talk has no overview to give
_INTENT = ENTRY_FEATURES.index("intent")


@dataclass(frozen=True)
class Decision:
    kind: str
    step: str  # the named step that decided (`decided_by`)
    ranked: tuple[Entry, ...]  # candidates, most probable first
    probabilities: tuple[float, ...]
    safety_probability: float
    helpline: Entry | None = None
    topic: str | None = None  # for THEME: the theme to show
    # for ANSWER: siblings that answer another ask of the message; for HELPLINE: the message's
    # other question (outside the helplines), when it would have been offered
    also_asked: tuple[Entry, ...] = ()

    @property
    def best(self) -> Entry | None:
        return self.ranked[0] if self.ranked else None

    @property
    def confidence(self) -> float:
        return self.probabilities[0] if self.probabilities else 0.0


def entry_probabilities(policy: Policy, rows: np.ndarray) -> np.ndarray:
    """Each candidate's probability of being the right entry.

    The model judges candidates one by one; at most one is right, so where their
    probabilities add up to more than 1 they are scaled down together: two near-equal
    candidates ("trouver un stage": 3e or seconde?) then share the certainty.
    """
    if not len(rows):
        return np.zeros(0)
    p = policy.entry_model.probability(rows)
    total = float(p.sum())
    return p / total if total > 1.0 else p


def decide(reading: Reading, policy: Policy, topic_sizes: dict[str, int], part: bool = False) -> Decision:
    """The reply for a reading; `part`: one sentence of a longer message, read alone."""
    probabilities = entry_probabilities(policy, reading.rows)
    p_safety = float(policy.safety_model.probability(reading.safety_row[None, :])[0])
    order = np.argsort(-probabilities, kind="stable")
    ranked = tuple(reading.entries[i] for i in order)
    probs = tuple(float(probabilities[i]) for i in order)
    common = {"ranked": ranked, "probabilities": probs, "safety_probability": p_safety}
    bars = policy.bars

    if p_safety >= bars.helpline_bar(reading.trigger_entry is not None, part):
        helpline = reading.trigger_entry or reading.safety_entry
        if helpline is not None:
            step = "helpline-trigger" if reading.trigger_entry else "helpline-meaning"
            return Decision(HELPLINE, step, helpline=helpline, also_asked=other_ask(reading, policy, probabilities),
                            **common)
    if not ranked:
        return Decision(DECLINE, "decline", **common)
    topics = tuple(e.topic for e in reading.entries)
    if probs[0] >= bars.answer and not asks_another(reading.rows, topics, int(order[0])):
        # "c'est pour qui et c'est quand ?": the other ask's entry is offered first.
        also = tuple(reading.entries[k] for k in order[1:]
                     if topics[k] == topics[order[0]] and reading.rows[k, _INTENT] > 0)[:MAX_SUGGESTIONS]
        return Decision(ANSWER, "answer", also_asked=also, **common)
    topic, p_topic = best_topic(policy.topic_model, reading.rows, topics, probabilities)
    sure_of_theme = p_topic >= bars.theme and topic_sizes.get(topic, 0) > 1
    if sure_of_theme and topic not in NO_OVERVIEW_TOPICS:
        return Decision(THEME, "theme-overview", topic=topic, **common)
    if sure_of_theme or (probs[0] < bars.suggest and p_topic >= bars.theme_suggest):
        # Sure of a theme without an overview ("t ki toi"), or, with no entry likely enough to
        # offer, likely enough of a theme: its entries are offered first, and the reply's score
        # is the first one's probability (the theme's entry, not the likeliest).
        mine = sorted(range(len(ranked)), key=lambda k: ranked[k].topic != topic)  # stable
        return Decision(SUGGEST, "suggest-theme", tuple(ranked[k] for k in mine),
                        tuple(probs[k] for k in mine), p_safety)
    if probs[0] >= bars.suggest:
        return Decision(SUGGEST, "suggest", **common)
    return Decision(DECLINE, "decline", **common)


def other_ask(reading: Reading, policy: Policy, probabilities: np.ndarray | None = None) -> tuple[Entry, ...]:
    """Beside the helplines, what else the message asks ("jveu plu vivre et jsais pas koi mettre
    sur affelnet"): the likeliest entry outside them, when it, or its theme, is likely enough to
    be offered in a "did you mean". The helplines come first; the question is not lost."""
    if not len(reading.rows):
        return ()
    if probabilities is None:
        probabilities = entry_probabilities(policy, reading.rows)
    topics = tuple(e.topic for e in reading.entries)
    school = [k for k, topic in enumerate(topics) if topic != SAFETY_TOPIC]
    if not school:
        return ()
    best = max(school, key=lambda k: probabilities[k])
    if probabilities[best] >= policy.bars.suggest:
        return (reading.entries[best],)
    if policy.topic_model is None:
        return ()
    themes, p = theme_probabilities(policy.topic_model, reading.rows, topics)
    likely = [(float(p[i]), theme) for i, theme in enumerate(themes) if theme != SAFETY_TOPIC]
    p_theme, theme = max(likely)
    if p_theme < min(policy.bars.theme_suggest, policy.bars.theme):
        return ()
    return (reading.entries[max((k for k in school if topics[k] == theme), key=lambda k: probabilities[k])],)


def asks_another(rows: np.ndarray, topics: tuple[str, ...], best: int) -> bool:
    """The best candidate answers another ask than the message's ("c'est où ?" read as "c'est
    quoi ?") while a candidate of its theme answers that one: what is asked wins, so the theme
    is shown with its questions rather than the wrong one answered (the fit reads it alike)."""
    if not len(rows):
        return False
    asked = rows[:, _INTENT]
    return bool(asked[best] < 0 and any(asked[k] > 0 and topics[k] == topics[best] for k in range(len(rows))))


def theme_probabilities(
    topic_model: Model, rows: np.ndarray, topics: tuple[str, ...]
) -> tuple[tuple[str, ...], np.ndarray]:
    """Each candidate theme and the theme model's probability that it is the right one (at most
    one is: scaled down together where they add up to more than 1)."""
    themes, described = topic_rows(rows, topics)
    p = topic_model.probability(described)
    total = float(p.sum())
    return themes, p / total if total > 1.0 else p


def best_topic(topic_model: Model | None, rows: np.ndarray, topics: tuple[str, ...],
               entry_probs: np.ndarray) -> tuple[str, float]:
    """The theme most likely to hold the right entry, and that probability: the theme model's
    (at most one theme is right: scaled down together where they add up to more than 1), or,
    for a policy without one, its candidates' entry probabilities added up."""
    if not len(rows):
        return "", 0.0
    if topic_model is not None:
        themes, p = theme_probabilities(topic_model, rows, topics)
        best = int(np.argmax(p))
        return themes[best], float(p[best])
    totals: dict[str, float] = {}
    for topic, p_entry in zip(topics, entry_probs, strict=True):
        totals[topic] = totals.get(topic, 0.0) + float(p_entry)
    topic = max(totals, key=totals.__getitem__)
    return topic, min(1.0, totals[topic])
