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
import binascii
import hashlib
import itertools
import logging
import math
import os
import re
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import bot.text
from bot.text import fold
from bot.understanding.reading_memo import digest_texts

logger = logging.getLogger(__name__)

# Hashed features: about 210,000 distinct ones share these buckets, half of them with another;
# the model learns around the collisions (measured as it is, by `fit`'s held-out reading).
DIMENSIONS = 1 << 18
LETTERS = (3, 4, 5)  # lengths of the letter sequences read, spaces included
# Measured on the held-out rounds of knowledge/fit/ (recall of distress at 5 % false alarms on
# ordinary messages with strong words): 5 passes over the messages in batches of 256 reach what
# 300 passes over all of them at once reach, in a hundredth of the time.
PASSES, BATCH, LEARNING_RATE, PENALTY, SEED = 5, 256, 0.05, 1e-6, 0
LIMIT = 20.0  # the score is a log-odds, clipped as the probe's
# In the knowledge folder: what `fit` last learnt of distress, read at a start that would learn it
# from the same texts with the same code (learning takes a few seconds): these words' weights,
# and the distress probe on the sentence vectors (bot.understanding.distress_probe).
SHIPPED_FILE = "distress.npz"
# Letters of scripts other than Latin (Arabic, Chinese…): kept as written, beside the Latin words.
_OTHER_SCRIPT = re.compile(r"[^\W\d_a-zA-Z\u00C0-\u024F]+")
_RUN = re.compile(r"[^\W_]+")


def words_of(text: str) -> list[str]:
    """The words of a text in order: Latin ones without case, accents or ligatures ("sœur" and
    "soeur" alike), those of other scripts as written, in the same message too."""
    found: list[str] = []
    for run in _RUN.findall(text.lower()):
        found += fold(run).split()
        found += _OTHER_SCRIPT.findall(run)
    return found


def place_pattern(names: Sequence[str]) -> re.Pattern[str] | None:
    """Place names to leave out (as `words_of` reads them, longest first): a town says where, and
    one that happens to be frequent among the distress messages must not lean a message to them."""
    read = sorted({" ".join(words_of(n)) for n in names} - {""}, key=len, reverse=True)
    return re.compile(r"(?<!\S)(?:" + "|".join(map(re.escape, read)) + r")(?!\S)") if read else None


def features(text: str, places: re.Pattern[str] | None = None) -> np.ndarray:
    """The hashed features present in a text (each once): its words, word pairs and letter
    sequences, the places' names left out."""
    joined = " ".join(words_of(text))
    words = (places.sub(" ", joined) if places else joined).split()
    found = {f"w:{w}" for w in words} | {f"b:{a} {b}" for a, b in itertools.pairwise(words)}
    padded = f" {' '.join(words)} "
    for n in LETTERS:
        found.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return np.array(sorted({zlib.crc32(f.encode("utf-8")) % DIMENSIONS for f in found}), dtype=np.int64)


class DistressWords:
    """A linear score on a text's features: positive leans to distress, negative to ordinary."""

    def __init__(self, weights: np.ndarray, bias: float, places: re.Pattern[str] | None = None) -> None:
        self.weights = np.asarray(weights, dtype=np.float32)
        self.bias = float(bias)
        self.places = places

    def score(self, text: str) -> float:
        present = features(text, self.places)
        if not len(present):
            return float(np.clip(self.bias, -LIMIT, LIMIT))
        # Each text's features weigh as a vector of length one: long and short messages alike.
        total = float(self.weights[present].sum()) / np.sqrt(len(present))
        return float(np.clip(total + self.bias, -LIMIT, LIMIT))

    @classmethod
    def learn(cls, texts: Sequence[str], distress: Sequence[bool],
              places: re.Pattern[str] | None = None) -> DistressWords | None:
        """Fitted on labelled texts (each group weighs as much as the other); None when either
        group is empty. Adam on shuffled batches from a fixed seed: the same texts give the same
        weights, up to the last bits of numpy's `exp` on another processor. (Adam here moves only
        the features a batch holds, a rare one faster: `fit` measures the model as it learns.)"""
        labels = np.asarray(distress, dtype=np.float64)
        n = len(labels)
        if not n or labels.all() or not labels.any():
            return None
        present = [features(t, places) for t in texts]
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
        return cls(w[:DIMENSIONS].astype(np.float16).astype(np.float32), float(w[DIMENSIONS]), places)

    def as_text(self) -> str:
        packed = self.weights.astype("<f2").tobytes()
        return f"{self.bias!r} " + base64.b64encode(packed).decode("ascii")

    @classmethod
    def from_text(cls, kept: str, places: re.Pattern[str] | None = None) -> DistressWords:
        """Raises ValueError on anything but what `as_text` wrote."""
        try:
            bias, packed = kept.split(" ", 1)
            weights = np.frombuffer(base64.b64decode(packed, validate=True), dtype="<f2").astype(np.float32)
            value = float(bias)
        except (ValueError, TypeError, binascii.Error) as exc:
            raise ValueError(f"distress words: unreadable ({exc})") from exc
        if len(weights) != DIMENSIONS or not math.isfinite(value) or not np.isfinite(weights).all():
            raise ValueError("distress words: wrong size or not finite")
        return cls(weights, value, places)


def shipped_key(learnt_from: str, code: Sequence[str] = (__file__, bot.text.__file__)) -> str:
    """The key of something learnt and kept in the knowledge folder (`SHIPPED_FILE`): what it was
    learnt from (for these words: `labelled_digest`) and the code that learns it (for these words:
    this module and `bot.text`, which read a text's features), so that a change of either learns
    it again rather than reading a stale one."""
    digest = hashlib.blake2b(learnt_from.encode("ascii"), digest_size=16)
    for module in code:
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()


def _shipped(path: Path, part: str, key: str) -> dict[str, np.ndarray] | None:
    """The arrays of one part ("words", "probe") of the shipped file, named without the part's
    prefix, when it was learnt under `key`; None otherwise (absent, unreadable, or learnt from
    other texts or by other code)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if f"{part}_key" not in data.files or str(data[f"{part}_key"]) != key:
                return None
            arrays = {name.removeprefix(f"{part}_"): np.asarray(data[name]) for name in data.files
                      if name.startswith(f"{part}_") and name != f"{part}_key"}
        if not all(a.ndim == 1 and np.isfinite(a).all() for a in arrays.values()):
            raise ValueError(f"{part}: not rows of finite numbers")
        return arrays
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("Learnt distress %s ignored: %s", path, exc)
        return None


def read_shipped(path: Path, key: str, places: re.Pattern[str] | None = None) -> DistressWords | None:
    """The words' weights kept in `path` when they were learnt under `key` (`shipped_key`)."""
    arrays = _shipped(path, "words", key)
    if arrays is None:
        return None
    if set(arrays) != {"weights", "bias"} or len(arrays["weights"]) != DIMENSIONS or len(arrays["bias"]) != 1:
        logger.warning("Learnt distress %s ignored: words of the wrong shape", path)
        return None
    return DistressWords(arrays["weights"].astype(np.float32), float(arrays["bias"][0]), places)


def read_shipped_probe(path: Path, key: str) -> list[float] | None:
    """The distress probe's weights then bias (`DistressProbe.as_list`) kept under `key`."""
    arrays = _shipped(path, "probe", key)
    return None if arrays is None or "values" not in arrays else [float(v) for v in arrays["values"]]


def write_shipped(path: Path, words: tuple[str, DistressWords] | None,
                  probe: tuple[str, list[float]] | None) -> None:
    """Keep what was learnt (each part under its key) in the knowledge folder, whole or not at
    all: the words' weights in half floats, as the memo keeps them, the rest exact."""
    arrays: dict[str, np.ndarray] = {}
    if words is not None:
        arrays.update(words_key=np.array(words[0]), words_weights=words[1].weights.astype("<f2"),
                      words_bias=np.array([words[1].bias], dtype="<f8"))
    if probe is not None:
        arrays.update(probe_key=np.array(probe[0]), probe_values=np.asarray(probe[1], dtype="<f8"))
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    try:
        with partial.open("wb") as handle:
            np.savez(handle, **arrays)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def labelled_digest(texts: Sequence[str], distress: Sequence[bool], places: Sequence[str] = ()) -> str:
    """What the learnt weights depend on: the texts, their labels and their order, the places."""
    digest = hashlib.blake2b(digest_size=16)
    digest_texts(digest, (*texts, "\0places", *places))
    digest.update(bytes(bool(label) for label in distress))
    return digest.hexdigest()
