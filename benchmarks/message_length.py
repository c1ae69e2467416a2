"""Where the time per message goes, by the length of the message.

`bench_match.py` gives one median and one 99th centile for all messages. This script splits the
same questions (`eval.yaml` and the "never seen" set) by length, because a long story is read
twice: as a whole and sentence by sentence, so that distress said in one sentence of it is not
lost. For each band it gives the number of questions, the median and the 99th centile of the time
per message (three rounds, warm cache), and how many questions stay over the issue's 5 ms even at
their fastest round. Then, for the long band only, a profile says how many milliseconds per
message go to the sentence encoder, to the comparison with every vector, and to the reading of
each sentence.

Run:  python benchmarks/message_length.py   (about a minute with a warm cache)
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_match import percentile  # noqa: E402  (this folder: the same centile as bench_match)

from bot.knowledge.questions import load_questions  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.understanding.engine import Engine  # noqa: E402

BANDS = ((0, 40, "court (≤ 40 caractères)"), (41, 150, "moyen (41–150)"), (151, 10**9, "long (> 150)"))
TARGET_MS = 5.0
# Functions whose cumulative time the profile reports (name as cProfile sees it, label).
STAGES = (
    ("embed_all", "modèle de phrases (le message et ses phrases, un lot)"),
    ("closeness_to_all", "comparaison avec tous les vecteurs (questions et banques)"),
    ("_distress_in_a_part", "lecture de chaque phrase (détresse)"),
)


def timings(engine: Engine, questions: list[str], rounds: int) -> dict[str, list[float]]:
    by_question: dict[str, list[float]] = {question: [] for question in questions}
    for _ in range(rounds):
        for question in questions:
            start = time.perf_counter()
            engine.respond(question)
            by_question[question].append((time.perf_counter() - start) * 1000)
    return by_question


def stage_ms(engine: Engine, questions: list[str], rounds: int) -> dict[str, float]:
    """Cumulative milliseconds per message spent in each stage, under the profiler."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(rounds):
        for question in questions:
            engine.respond(question)
    profile.disable()
    totals = {name: 0.0 for name, _ in STAGES} | {"respond": 0.0}
    for (_, _, function), (_, _, _, cumulative, _) in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        if function in totals:
            totals[function] += cumulative
    messages = rounds * len(questions)
    return {name: seconds * 1000 / messages for name, seconds in totals.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knowledge", type=Path, default=REPO / "knowledge")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    engine, _ = Engine.load(args.knowledge, Settings.from_env().cache_dir)
    engine.respond("bonjour")  # waits for the encoder
    questions = list(dict.fromkeys(
        question.text
        for path in (args.knowledge / "eval.yaml", REPO / "benchmarks" / "unseen_questions.yaml")
        for question in load_questions(path)
    ))
    by_question = timings(engine, questions, args.rounds)

    print(f"{len(questions)} questions, {args.rounds} passes, cache chaud\n")
    print("| longueur | questions | médiane | p99 | au-dessus de 5 ms même au plus rapide |")
    print("| --- | --- | --- | --- | --- |")
    for low, high, label in BANDS:
        band = [q for q in questions if low <= len(q) <= high]
        if not band:
            continue
        times = [t for q in band for t in by_question[q]]
        over = sum(min(by_question[q]) > TARGET_MS for q in band)
        print(f"| {label} | {len(band)} | {statistics.median(times):.1f} ms "
              f"| {percentile(times, 0.99):.1f} ms | {over} |")
    every = [t for times in by_question.values() for t in times]
    print(f"| toutes | {len(questions)} | {statistics.median(every):.1f} ms | {percentile(every, 0.99):.1f} ms "
          f"| {sum(min(t) > TARGET_MS for t in by_question.values())} |")

    long_ones = [q for q in questions if len(q) > BANDS[-1][0] - 1]
    if long_ones:
        stages = stage_ms(engine, long_ones, args.rounds)
        print(f"\nMessages longs, sous le profileur ({stages['respond']:.1f} ms par message en tout) :")
        for name, label in STAGES:
            print(f"- {label} : {stages[name]:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
