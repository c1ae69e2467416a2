"""How well the engine answers ways of asking it has never seen, using the FAQ's own questions.

The FAQ's questions are split into K folds; each fold in turn is taken out of the base,
the engine is rebuilt without it and asked those questions. Titles (the first question)
always stay: they are the buttons. This measures generalisation without touching the
question sets. The shipped policy was fitted on this same reading (bot/maintainers/fit.py): the figures
are optimistic for the decision's bars, honest for the signals.

Run:  python benchmarks/cross_validate.py            (5 folds, about 20 s)
      python benchmarks/cross_validate.py --folds 10 --by-topic
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.maintainers.evaluation import CONFIDENT  # noqa: E402
from bot.maintainers.fit import fold_of, without_fold  # noqa: E402
from bot.understanding.engine import SUGGEST, Engine  # noqa: E402


def outcome(engine: Engine, question: str, expected: str) -> str:
    reply = engine.respond(question)
    if reply.status in CONFIDENT:
        return "top1" if reply.entry is not None and reply.entry.id == expected else "wrong"
    if reply.status == SUGGEST and any(e.id == expected for e in reply.suggestions):
        return "suggested"
    return "missed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knowledge", type=Path, default=REPO / "knowledge")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--by-topic", action="store_true", help="one line per theme")
    args = parser.parse_args()
    base, _ = Engine.load(args.knowledge, REPO / "data" / "cache")
    kb = base.kb
    totals: Counter[str] = Counter()
    per_topic: dict[str, Counter[str]] = {}
    for fold in range(args.folds):
        engine = base.rebuilt(without_fold(kb, fold, args.folds))
        for entry in kb.entries.values():
            for question in entry.questions[1:]:
                if fold_of(question, args.folds) != fold:
                    continue
                result = outcome(engine, question, entry.id)
                totals[result] += 1
                per_topic.setdefault(entry.topic, Counter())[result] += 1

    def line(name: str, counts: Counter[str]) -> str:
        n = sum(counts.values()) or 1
        shares = "  ".join(f"{key} {100 * counts[key] / n:5.1f} %" for key in ("top1", "suggested", "wrong", "missed"))
        return f"{name:<18} {sum(counts.values()):>5}  {shares}"

    print(f"{args.folds} plis, questions retenues une à une (titres gardés)")
    if args.by_topic:
        for topic in sorted(per_topic):
            print(line(topic, per_topic[topic]))
    print(line("total", totals))


if __name__ == "__main__":
    main()
