"""Would smaller sentence vectors read the messages as well? A study for the speed and memory decision.

Every message is compared with some 24,000 vectors of 512 numbers (the FAQ's questions and the
learnt messages, about 47 MiB): most of the memory the bot holds for them and a part of each
message's time. This script projects the same vectors on their first principal axes (384, 256,
128 numbers instead of 512) and measures, for each size, what the nearest neighbours say:

- theme: each test message (2,000 learnt messages with a theme, drawn at random) is given the
  theme of its nearest neighbour, and the majority theme of its five nearest, among the FAQ's
  questions and the other learnt messages;
- distress: each message of the distress sets is called distress when most of its five nearest
  neighbours among the others are;
- the memory of the matrix and the time of one message's product with it (median, 99th centile).

The axes are computed without the test messages. This does not run the engine's decision, whose
features (cosines and their margins) would change and need `fit` again: it said whether the
vectors keep what the decision reads, before the twenty-second session built it with 256 numbers
(bot/understanding/projection.py; `fit`'s own figures before and after are in the README). The
full vectors it starts from are kept in a cache folder of their own (`full-vectors/` in the bot's),
so that the bot's cache keeps the projected ones.

Run:  python benchmarks/smaller_vectors.py   (about a minute with a warm cache)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.settings import Settings  # noqa: E402
from bot.understanding.engine import Engine  # noqa: E402
from bot.understanding.policy import DISTRESS_KINDS, HELPLINE_EXAMPLE, ContrastBanks  # noqa: E402
from bot.understanding.semantic import EmbeddingCache, shared_encoder, wordings  # noqa: E402

SIZES = (512, 384, 256, 128)
THEME_SAMPLE = 2000
TIMED = 500


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def neighbours(queries: np.ndarray, pool: np.ndarray, exclude: np.ndarray, k: int = 5) -> np.ndarray:
    """The k nearest rows of `pool` to each query, its own row (`exclude`) left out."""
    found = []
    for start in range(0, len(queries), 500):
        sims = queries[start : start + 500] @ pool.T
        sims[np.arange(len(sims)), exclude[start : start + 500]] = -np.inf
        found.append(np.argpartition(-sims, k, axis=1)[:, :k])
        order = np.take_along_axis(sims, found[-1], axis=1).argsort(axis=1)[:, ::-1]
        found[-1] = np.take_along_axis(found[-1], order, axis=1)
    return np.vstack(found)


def majority(labels: np.ndarray) -> np.ndarray:
    return np.array([np.bincount(row).argmax() for row in labels])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knowledge", type=Path, default=REPO / "knowledge")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cache_dir = Settings.from_env().cache_dir
    engine, _ = Engine.load(args.knowledge, cache_dir)
    cache = EmbeddingCache(shared_encoder(cache_dir), cache_dir / "full-vectors")
    entries = list(engine.kb.entries.values())
    seen: set[str] = set()  # a text once: its own copy would be its nearest neighbour

    def first_time(text: str) -> bool:
        new = text not in seen
        seen.add(text)
        return new

    faq = [(text, entry.topic) for entry in entries for text in wordings(entry) if first_time(text)]
    examples = [(engine.semantic_text(t), topic) for t, topic in ContrastBanks.load(args.knowledge, engine.kb).examples]
    themed = [(t, topic) for t, topic in examples if topic and topic not in DISTRESS_KINDS and first_time(t)]
    distress = [(t, topic) for t, topic in examples if topic in DISTRESS_KINDS and first_time(t)]
    texts = [t for t, _ in (*faq, *themed, *distress)]
    vectors = cache.vectors(texts)
    topics = sorted({topic for _, topic in (*faq, *themed)})
    number = {topic: i for i, topic in enumerate(topics)}
    theme = np.array([number[topic] for _, topic in (*faq, *themed)])
    n_theme = len(faq) + len(themed)
    rng = np.random.default_rng(args.seed)
    test = rng.choice(np.arange(len(faq), n_theme), min(THEME_SAMPLE, len(themed)), replace=False)
    train = np.setdiff1d(np.arange(len(vectors)), test)
    is_help = np.array([topic == HELPLINE_EXAMPLE for _, topic in distress])
    d_rows = np.arange(n_theme, len(vectors))
    mean = vectors[train].mean(axis=0)
    axes = np.linalg.svd(vectors[train] - mean, full_matrices=False)[2]
    timed = vectors[rng.choice(len(vectors), TIMED, replace=False)]
    print(f"{len(faq)} FAQ questions, {len(themed)} messages with a theme ({len(test)} tested), "
          f"{is_help.sum()} distress and {(~is_help).sum()} ordinary messages\n")
    print("| numbers a vector | theme, nearest | theme, 5 nearest | distress found (5 nearest) | "
          "ordinary called distress | matrix (24,000 rows) | product per message, median / p99 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size in SIZES:
        shrink = (lambda rows: rows) if size == 512 else (lambda rows, a=axes[:size]: unit((rows - mean) @ a.T))
        space = np.ascontiguousarray(shrink(vectors), dtype=np.float32)
        near = neighbours(space[test], space[:n_theme], test)
        first, five = (theme[near[:, 0]] == theme[test]).mean(), (majority(theme[near]) == theme[test]).mean()
        pool = space[d_rows]
        called = majority(is_help[neighbours(pool, pool, np.arange(len(pool)))].astype(np.int64)).astype(bool)
        matrix = np.ascontiguousarray(np.resize(space, (24_000, size)))
        times = []
        for vector in shrink(timed).astype(np.float32):
            began = time.perf_counter()
            _ = vector @ matrix.T
            times.append(time.perf_counter() - began)
        median, p99 = (np.percentile(times, q) * 1000 for q in (50, 99))
        print(f"| {size} | {first:.1%} | {five:.1%} | {called[is_help].mean():.1%} | {called[~is_help].mean():.1%} "
              f"| {matrix.nbytes / 2**20:.1f} MiB | {median:.2f} / {p99:.2f} ms |")


if __name__ == "__main__":
    main()
