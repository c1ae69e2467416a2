"""Why the helpline bar moves from one `fit` to the next: the choice, or the models under it?

`fit` chooses the helpline bar on its held-out reading of every message (each predicted by models
fitted without its fold): the highest bar within one standard error of the least cost
(bot.maintainers.fit._helpline_bar). At the twenty-first session, removing 14 of 25,000
training messages moved it from 0.349 to 0.307, and a blind set's false alarms from 2 to 6 %.

This script reads the messages as `fit` does (several minutes), then gives:
- for each seed (`--seeds`, the networks' random start): the models fitted again, all the bars
  chosen as `fit` chooses them (`choose_bars`), the whole message's helpline bar, and the share
  of distress messages that get the helplines and of ordinary messages with strong words that get
  them wrongly, read as the bot reads them (the whole message, each sentence, trigger phrases;
  `Outcome.helpline`), on that reading (optimistic: the bars were chosen on it);
- with the first seed's models: the whole message's bar again, and its spread when 14 messages
  are left out at random, or all of them resampled, with those models kept: the choice alone.

Run:  python benchmarks/helpline_bar_stability.py [--seeds 0 1 2 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import bot.maintainers.fit as fit  # noqa: E402

REMOVED = 14  # as many as the training messages identical to one of blind set 24's
TRIALS = 30


def held_out(samples: list[fit.Sample], sizes: dict[str, int]) -> list[fit.Outcome]:
    """As `fit`: each fold predicted by models fitted on the others; what the bars are chosen on."""
    outs: list[fit.Outcome] = []
    for fold in range(fit.FOLDS):
        entry, safety, topic = fit.fit_models([s for s in samples if s.fold != fold])
        outs += fit.outcomes([s for s in samples if s.fold == fold], entry, safety, topic, sizes)
    return outs


def whole_messages(outs: list[fit.Outcome]) -> dict[str, np.ndarray]:
    """What the whole message's bar is chosen on."""
    return {
        "p_whole": np.array([o.p_whole for o in outs]),
        "distress": np.array([o.distress for o in outs]),
        "ordinary": np.array([o.ordinary for o in outs]),
        "from_set": np.array([o.from_set for o in outs]),
    }


def groups(reading: dict[str, np.ndarray], keep: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """As choose_bars: the distress messages; the ordinary ones and the sets' other messages."""
    p, distress, ordinary, from_set = (reading[k][keep] for k in ("p_whole", "distress", "ordinary", "from_set"))
    return p[distress], [p[ordinary], p[from_set & ~distress & ~ordinary]]


def spread(bars: list[float]) -> str:
    return f"médiane {np.median(bars):.3f}, de {min(bars):.3f} à {max(bars):.3f}, écart type {np.std(bars):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    args = parser.parse_args()
    from bot.knowledge.loader import load_knowledge
    from bot.settings import Settings
    from bot.understanding.semantic import EmbeddingCache

    settings = Settings.from_env()
    kb, _ = load_knowledge(REPO / "knowledge", check_eval=False)
    # As `fit` reads: the knowledge folder's axes.
    cache = EmbeddingCache(fit.fit_encoder(REPO / "knowledge", settings.cache_dir), settings.cache_dir)
    started = time.perf_counter()
    samples = fit.read_samples(REPO / "knowledge", kb, cache, progress=lambda *_: None)
    sizes = {t.id: len(t.entry_ids) for t in kb.topics.values()}
    print(f"{len(samples)} messages lus en {time.perf_counter() - started:.0f} s")
    rng = np.random.default_rng(0)
    for seed in args.seeds:
        fit.SEED = seed  # read by fit_network at each call
        outs = held_out(samples, sizes)
        bars = fit.choose_bars(outs)
        distress = [o for o in outs if o.distress]
        ordinary = [o for o in outs if o.ordinary]
        helped = 100 * float(np.mean([o.helpline(bars) for o in distress]))
        alarms = 100 * float(np.mean([o.helpline(bars) for o in ordinary]))
        print(f"\ngraine {seed} : seuil du message entier {bars.safety:.3f}, d'une phrase {bars.part_bar():.3f}, "
              f"avec une phrase d'alerte {bars.helpline_bar(True):.3f} ; numéros d'aide {helped:.1f} % des "
              f"{len(distress)} détresses, fausses alertes {alarms:.1f} % des {len(ordinary)} ordinaires")
        if seed != args.seeds[0]:
            continue
        reading = whole_messages(outs)
        n = len(reading["p_whole"])
        removals = []
        for _ in range(TRIALS):
            keep = np.ones(n, dtype=bool)
            keep[rng.choice(n, REMOVED, replace=False)] = False
            removals.append(fit._helpline_bar(*groups(reading, keep)))
        print(f"  mêmes modèles, {REMOVED} messages retirés au hasard ({TRIALS} fois) : {spread(removals)}")
        resampled = []
        for _ in range(TRIALS):
            index = rng.choice(n, n)
            resampled.append(fit._helpline_bar(*groups({k: v[index] for k, v in reading.items()},
                                                       np.ones(n, dtype=bool))))
        print(f"  mêmes modèles, tous les messages rééchantillonnés ({TRIALS} fois) : {spread(resampled)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
