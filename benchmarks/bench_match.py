"""Measure loading and answering speed, and peak memory, on the shipped base and on one 50x larger.

Run:  python benchmarks/bench_match.py            (about a minute on 2 cores)
      python benchmarks/bench_match.py --scale 10 (a smaller generated base)

The naive matcher (one rapidfuzz scorer over every question, with a cut-off) is measured in
the same run, for speed and for accuracy on the project's question set.
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process, utils

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.engine import Engine  # noqa: E402
from bot.evaluation import evaluate, load_questions  # noqa: E402

NAIVE_CUTOFF = 80.0
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
BIG_SAMPLE = 300  # questions timed on the large base (the naive matcher is slow there)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed_load(root: Path, repeats: int = 3) -> tuple[Engine, float, float]:
    """Engine built from disk: seconds (best of `repeats`), and peak memory in MiB while building.

    Memory is traced in a separate build: tracing slows Python down several times.
    """
    seconds = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        engine, _ = Engine.load(root)
        seconds.append(time.perf_counter() - start)
    del engine
    gc.collect()
    tracemalloc.start()
    engine, _ = Engine.load(root)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return engine, min(seconds), peak


def per_question_ms(answer, questions: list[str], rounds: int = 3) -> list[float]:
    times = []
    for _ in range(rounds):
        for question in questions:
            start = time.perf_counter()
            answer(question)
            times.append((time.perf_counter() - start) * 1000)
    return times


class NaiveMatcher:
    """The baseline the issue describes: WRatio over all questions, answer above a cut-off."""

    def __init__(self, engine: Engine) -> None:
        self.choices: list[str] = []
        self.ids: list[str] = []
        for entry in engine.kb.entries.values():
            for question in entry.questions:
                self.choices.append(utils.default_process(question))
                self.ids.append(entry.id)

    def answer(self, question: str) -> str | None:
        found = process.extractOne(
            utils.default_process(question), self.choices, scorer=fuzz.WRatio, score_cutoff=NAIVE_CUTOFF
        )
        return self.ids[found[2]] if found else None


def naive_accuracy(naive: NaiveMatcher, questions: list[tuple[str, tuple[str, ...]]]) -> dict[str, float]:
    answerable = [(q, e) for q, e in questions if e != ("decline",)]
    declines = [q for q, e in questions if e == ("decline",)]
    right = sum(naive.answer(q) in e for q, e in answerable)
    wrong = sum(naive.answer(q) not in (None, *e) for q, e in answerable)
    wrong += sum(naive.answer(q) is not None for q in declines)
    declined = sum(naive.answer(q) is None for q in declines)
    return {
        "top1": right / len(answerable),
        "confident_wrong": wrong / len(questions),
        "declined": declined / len(declines),
    }


def scaled_copy(source: Path, target: Path, scale: int, seed: int = 7) -> None:
    """A knowledge base `scale` times larger: each theme copied with new ids and new words."""
    shutil.copytree(source, target)
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ra", "tu", "ve", "zo", "ni", "pa", "sé", "gu", "bo"]
    for path in sorted((target / "faq").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for copy in range(1, scale):
            topic = f"{data['topic']}-x{copy}"
            entries = []
            for entry in data["entries"]:
                made_up = ["".join(rng.choices(syllables, k=4)) for _ in range(3)]
                clone = dict(entry, id=f"{entry['id'][:30]}-x{copy}", follow_up=[], triggers=[])
                clone["questions"] = [f"{q} {rng.choice(made_up)}" for q in entry["questions"]]
                clone.pop("service", None)
                clone.pop("needs_place", None)
                entries.append(clone)
            body = {"topic": topic, "title": f"{data['title']} {copy}", "entries": entries}
            (target / "faq" / f"{topic}.yaml").write_text(
                yaml.dump(body, Dumper=DUMPER, allow_unicode=True, sort_keys=False), encoding="utf-8"
            )
    (target / "eval.yaml").unlink(missing_ok=True)


def report(
    name: str, engine: Engine, load_s: float, peak_mib: float, questions: list[str], rounds: int = 3
) -> None:
    naive = NaiveMatcher(engine)
    ours = per_question_ms(engine.respond, questions, rounds)
    baseline = per_question_ms(naive.answer, questions, rounds)
    print(f"\n{name}: {len(engine.kb.entries)} entrées, {len(naive.choices)} questions")
    print(f"  chargement + index : {load_s:.3f} s, mémoire de pointe {peak_mib:.1f} Mio")
    print(f"  moteur  : médiane {statistics.median(ours):.3f} ms, p99 {percentile(ours, 0.99):.3f} ms")
    print(
        f"  naïf    : médiane {statistics.median(baseline):.3f} ms, p99 {percentile(baseline, 0.99):.3f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=50)
    args = parser.parse_args()
    knowledge = REPO / "knowledge"
    eval_questions = load_questions(knowledge / "eval.yaml")
    unseen = load_questions(REPO / "benchmarks" / "unseen_questions.yaml")
    development = load_questions(REPO / "benchmarks" / "dev_questions.yaml")
    texts = [q for q, _ in eval_questions + unseen]

    engine, load_s, peak = timed_load(knowledge)
    report("Base livrée", engine, load_s, peak, texts)
    for label, questions in (("eval.yaml", eval_questions), ("développement", development), ("jamais vues", unseen)):
        ours = evaluate(engine, questions)
        naive = naive_accuracy(NaiveMatcher(engine), questions)
        print(
            f"  précision sur {label} : moteur top-1 {ours.rate('top1'):.1%}, sûr-mais-faux "
            f"{ours.rate('confident_wrong'):.1%}, déclinées {ours.rate('declined'):.1%} | naïf top-1 "
            f"{naive['top1']:.1%}, sûr-mais-faux {naive['confident_wrong']:.1%}, déclinées {naive['declined']:.1%}"
        )

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "knowledge"
        scaled_copy(knowledge, big, args.scale)
        engine, load_s, peak = timed_load(big, repeats=1)
        sample = random.Random(1).sample(texts, min(BIG_SAMPLE, len(texts)))
        report(f"Base x{args.scale} ({len(sample)} questions tirées au hasard)", engine, load_s, peak, sample, 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
