"""What the very words of a message say of distress: a logistic regression on its words, word
pairs and letter sequences, learnt from every labelled message.

The sentence encoder reads what a message is about: "mon voisin se gare devant mon garage, mes
enfants sont en retard" sits near "un voisin frappe ses enfants". The words tell the two apart
("se gare", "retard"), and so do the marks of a joke or an idiom ("mdr", "mort de rire", "pour un
exposé"), in SMS spelling as well ("jveu plu", "g envi d"), which letter sequences share with the
spelled-out words. Learnt from the same labelled messages as the distress probe, plus the
questions families wrote about school (a story told with emotion is not a cry for help), and
read beside the other signals by the safety model.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import unicodedata
import zlib
from collections.abc import Sequence

import numpy as np

DIMENSIONS = 1 << 18  # hashed features: collisions are rare among ~300,000 distinct ones
LETTERS = (3, 4, 5)  # lengths of the letter sequences read, spaces included
# Measured on the held-out rounds of knowledge/fit/ (recall of distress at 5 % false alarms on
# ordinary messages with strong words): 5 passes over the messages in batches of 256 reach what
# 300 passes over all of them at once reach, in a hundredth of the time.
PASSES, BATCH, LEARNING_RATE, PENALTY, SEED = 5, 256, 0.05, 1e-6, 0
LIMIT = 20.0  # the score is a log-odds, clipped as the probe's


def features(text: str) -> np.ndarray:
    """The hashed features present in a text (each once): its words, word pairs and letter
    sequences, read without case, accents or punctuation."""
    folded = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", folded) or re.findall(r"\w+", text.lower())  # another script
    found = {f"w:{w}" for w in words} | {f"b:{a} {b}" for a, b in itertools.pairwise(words)}
    padded = f" {' '.join(words)} "
    for n in LETTERS:
        found.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return np.array(sorted({zlib.crc32(f.encode("utf-8")) % DIMENSIONS for f in found}), dtype=np.int64)


class DistressWords:
    """A linear score on a text's features: positive leans to distress, negative to ordinary."""

    def __init__(self, weights: np.ndarray, bias: float) -> None:
        self.weights = np.asarray(weights, dtype=np.float32)
        self.bias = float(bias)

    def score(self, text: str) -> float:
        present = features(text)
        if not len(present):
            return float(np.clip(self.bias, -LIMIT, LIMIT))
        # Each text's features weigh as a vector of length one: long and short messages alike.
        total = float(self.weights[present].sum()) / np.sqrt(len(present))
        return float(np.clip(total + self.bias, -LIMIT, LIMIT))

    @classmethod
    def learn(cls, texts: Sequence[str], distress: Sequence[bool]) -> DistressWords | None:
        """Fitted on labelled texts (each group weighs as much as the other); None when either
        group is empty. Adam on shuffled batches, from a fixed seed: the same texts give the same
        weights on every machine."""
        labels = np.asarray(distress, dtype=np.float64)
        n = len(labels)
        if not n or labels.all() or not labels.any():
            return None
        present = [features(t) for t in texts]
        sizes = np.array([len(p) for p in present])
        norm = 1.0 / np.sqrt(np.maximum(sizes, 1))
        weight = np.where(labels > 0, n / (2 * labels.sum()), n / (2 * (n - labels.sum())))
        # One more coordinate, the bias (not shrunk): Adam moves each coordinate on its own.
        w, first, second = (np.zeros(DIMENSIONS + 1) for _ in range(3))
        rng = np.random.default_rng(SEED)
        step = 0
        for _ in range(PASSES):
            order = rng.permutation(n)
            for start in range(0, n, BATCH):
                batch = order[start : start + BATCH]
                step += 1
                columns = np.concatenate([present[i] for i in batch])
                rows = np.repeat(np.arange(len(batch)), sizes[batch])
                values = norm[batch][rows]
                z = np.bincount(rows, weights=w[columns] * values, minlength=len(batch)) + w[DIMENSIONS]
                p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
                g = weight[batch] * (p - labels[batch]) / len(batch)
                touched, where = np.unique(columns, return_inverse=True)
                grad = np.bincount(where, weights=g[rows] * values, minlength=len(touched)) + PENALTY * w[touched]
                touched, grad = np.append(touched, DIMENSIONS), np.append(grad, g.sum())
                first[touched] = 0.9 * first[touched] + 0.1 * grad
                second[touched] = 0.999 * second[touched] + 0.001 * grad * grad
                w[touched] -= LEARNING_RATE * (first[touched] / (1 - 0.9**step)) / (
                    np.sqrt(second[touched] / (1 - 0.999**step)) + 1e-8)
        # Kept as half floats (the memo holds them so): the bot and the fit read the same weights.
        return cls(w[:DIMENSIONS].astype(np.float16).astype(np.float32), float(w[DIMENSIONS]))

    def as_text(self) -> str:
        return f"{self.bias!r} " + base64.b64encode(self.weights.astype(np.float16).tobytes()).decode("ascii")

    @classmethod
    def from_text(cls, kept: str) -> DistressWords:
        bias, packed = kept.split(" ", 1)
        weights = np.frombuffer(base64.b64decode(packed), dtype=np.float16).astype(np.float32)
        if len(weights) != DIMENSIONS:
            raise ValueError("distress words: wrong size")
        return cls(weights, float(bias))


def labelled_digest(texts: Sequence[str], distress: Sequence[bool]) -> str:
    """What the learnt weights depend on: the texts, their labels and their order."""
    digest = hashlib.blake2b(digest_size=16)
    for text, label in zip(texts, distress, strict=True):
        digest.update(text.encode("utf-8", "surrogateescape") + (b"\1" if label else b"\0"))
    return digest.hexdigest()
