"""Which way a sentence's meaning leans: towards a cry for help, or towards strong words said of
ordinary things.

The safety model's other signals are closeness to single messages (the nearest distress message,
the nearest ordinary one, the share of distress among the nearest seven). A message said in
words no labelled message uses has no close neighbour, and "je suis très énervée, le prof est
absent" sits as near to anger at home as to anger at school. A direction learnt over all the
labelled messages at once (a logistic regression on the encoder's vectors: distress against
what must not get the helplines and sounds near them, ordinary messages with strong words and
messages to decline) reads what they share rather than who is nearest.
"""

from __future__ import annotations

import numpy as np

from bot.understanding.logistic import newton_logistic

PENALTY = 0.1  # L2 on the weights: the groups are ~2,000 and ~4,000 messages in 256 dimensions
# (the projected vectors: bot.understanding.projection)
STEPS = 30  # Newton steps at most; it settles in about ten
LIMIT = 20.0  # the score is a log-odds, clipped: far from the boundary, more says nothing more


class DistressProbe:
    """A linear score on a sentence vector: positive leans to distress, negative to ordinary."""

    def __init__(self, weights: np.ndarray, bias: float) -> None:
        self.weights = np.asarray(weights, dtype=np.float32)
        self.bias = float(bias)

    @classmethod
    def learn(cls, distress: np.ndarray, ordinary: np.ndarray) -> DistressProbe | None:
        """Fitted on the two groups of vectors (rows); None when either is empty."""
        if not len(distress) or not len(ordinary):
            return None
        # Both groups and the bias's column of ones in one array, made once: at a first start,
        # copies of these 12,000 rows were most of the start's peak of memory.
        x = np.empty((len(distress) + len(ordinary), distress.shape[1] + 1))
        x[: len(distress), :-1] = distress
        x[len(distress) :, :-1] = ordinary
        x[:, -1] = 1.0
        y = np.concatenate([np.ones(len(distress)), np.zeros(len(ordinary))])
        # Each group weighs as much as the other, whatever their sizes.
        weight = np.where(y > 0, len(x) / (2 * len(distress)), len(x) / (2 * len(ordinary)))
        w = newton_logistic(x, y, weight, PENALTY, steps=STEPS, tolerance=1e-6, bias_column=True)
        return cls(w[:-1], float(w[-1]))

    def score(self, vector: np.ndarray) -> float:
        return float(np.clip(vector @ self.weights + self.bias, -LIMIT, LIMIT))

    def as_list(self) -> list[float]:
        return [*map(float, self.weights), self.bias]

    @classmethod
    def from_list(cls, values: list[float]) -> DistressProbe:
        return cls(np.asarray(values[:-1], dtype=np.float32), float(values[-1]))
