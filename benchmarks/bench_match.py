"""Measure start-up, answering speed and peak memory, on the shipped base and on a larger one.

Run:  python benchmarks/bench_match.py            (a base 50x larger: several minutes on 2 cores,
                                                    its questions are encoded once, cold)
      python benchmarks/bench_match.py --scale 10 (a smaller generated base)
      python benchmarks/bench_match.py --scale 1  (the shipped base only: a minute)

Every figure comes from a fresh Python process, as a bot would start: a first start (cold: the
vector cache is empty, as on a fresh machine: the vectors and the distress words the knowledge
folder ships are read, the rest is computed), on the shipped base also a first start with
nothing shipped (every question encoded, every reading made: what a base of one's own costs,
or one whose shipped files `fit` has not written again), then a restart (warm: the cache is read
back) which then answers the questions, then another restart answering them again while a
second process keeps one core busy (a machine that is not the bot's alone). Start-up is timed
from the launch of the process (the interpreter and the imports included) to the first reply;
peak memory is the process's resident set (the encoder's model included), for the cold start
and for the warm one that answered every question. The naive matcher (one rapidfuzz scorer
over every question, with a cut-off) is timed on the same questions afterwards, as a
reference. The bot's code is compiled by the first start (`__pycache__`, written even where
PYTHONDONTWRITEBYTECODE says not to) and read back by the next ones, as on a server.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process, utils

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.knowledge.questions import load_questions  # noqa: E402
from bot.understanding.distress_words import SHIPPED_FILE as SHIPPED_DISTRESS  # noqa: E402
from bot.understanding.engine import Engine  # noqa: E402
from bot.understanding.semantic import SHIPPED_FILE as SHIPPED_VECTORS  # noqa: E402

NAIVE_CUTOFF = 80.0
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
BIG_SAMPLE = 300  # questions timed on the large base (the naive matcher is slow there)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def first_reply(root: Path, cache: Path) -> tuple[Engine, float]:
    """Engine built from disk, the encoder's model loaded, the first message answered: the
    wall-clock time then (the parent subtracts the time it launched this process)."""
    engine, _ = Engine.load(root, cache)
    engine.respond("bonjour")  # waits for the encoder if it is still loading
    return engine, time.time()


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


def knowledge_copy(source: Path, target: Path) -> None:
    """The knowledge folder copied, the question sets it reads as examples named where they are
    (some lie outside it, in benchmarks/: a copy elsewhere would miss them)."""
    shutil.copytree(source, target)
    listing = target / "fit" / "sets.yaml"
    if listing.exists():
        names = yaml.safe_load(listing.read_text(encoding="utf-8")).get("sets") or []
        kept = [str((source / "fit" / n).resolve()) for n in names if (source / "fit" / n).resolve().exists()]
        listing.write_text(yaml.safe_dump({"sets": kept}, allow_unicode=True), encoding="utf-8")


def scaled_copy(source: Path, target: Path, scale: int, seed: int = 7) -> None:
    """A knowledge base `scale` times larger: each theme copied with new ids and new words."""
    knowledge_copy(source, target)
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
                clone.pop("translations", None)
                clone["questions"] = [f"{q} {rng.choice(made_up)}" for q in entry["questions"]]
                clone.pop("service", None)
                clone.pop("needs_place", None)
                entries.append(clone)
            body = {"topic": topic, "title": f"{data['title']} {copy}", "entries": entries}
            (target / "faq" / f"{topic}.yaml").write_text(
                yaml.dump(body, Dumper=DUMPER, allow_unicode=True, sort_keys=False), encoding="utf-8"
            )
    (target / "eval.yaml").unlink(missing_ok=True)


def measure_cold(root: Path, cache: Path) -> dict:
    """In this fresh process: a first start, every question encoded and written to the cache."""
    _, seconds = first_reply(root, cache)
    return {"cold_s": seconds, "cold_peak_mib": peak_mib()}


def measure_busy(root: Path, cache: Path, questions: list[str], rounds: int) -> dict:
    """In this fresh process, while another process keeps one core busy (as a reload, a `fit` or
    another service on the same machine would): every question answered."""
    engine, _ = first_reply(root, cache)
    ours = per_question_ms(engine.respond, questions, rounds)
    return {"busy_median_ms": statistics.median(ours), "busy_p99_ms": percentile(ours, 0.99)}


def measure_warm(root: Path, cache: Path, questions: list[str], rounds: int) -> dict:
    """In this fresh process: a restart (vectors read back), then every question answered."""
    engine, seconds = first_reply(root, cache)
    ours = per_question_ms(engine.respond, questions, rounds)
    peak = peak_mib()  # before the naive matcher, which the bot does not hold
    # The sentence encoder alone, on each whole message: the floor under the engine's time.
    encoder = per_question_ms(lambda q: engine.signals.embed_all([q]), questions, rounds)
    naive = NaiveMatcher(engine)
    baseline = per_question_ms(naive.answer, questions, rounds)
    return {
        "entries": len(engine.kb.entries), "questions": len(naive.choices), "warm_s": seconds,
        "median_ms": statistics.median(ours), "p99_ms": percentile(ours, 0.99), "peak_mib": peak,
        "naive_median_ms": statistics.median(baseline), "naive_p99_ms": percentile(baseline, 0.99),
        "encoder_median_ms": statistics.median(encoder), "encoder_p99_ms": percentile(encoder, 0.99),
    }


def child(mode: str, root: Path, cache: Path, questions: list[str], rounds: int) -> dict:
    """One measurement in a fresh Python process: its start and its memory are its own."""
    args = [sys.executable, __file__, "--child", mode, str(root), str(cache), "--rounds", str(rounds)]
    # As a bot restarts: its code compiled at the first start (__pycache__), even where the
    # shell says not to write it (PYTHONDONTWRITEBYTECODE): compiling it costs 0.1 to 0.2 s.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    launched = time.time()
    done = subprocess.run(args, input=json.dumps(questions), capture_output=True, text=True, check=True, env=env)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    key = f"{mode}_s"
    if key in figures:
        figures[key] -= launched  # from the launch to the first reply
    return figures


def run_base(root: Path, questions: list[str], rounds: int, bare: bool = False) -> dict:
    figures: dict = {}
    if bare:  # a copy of the folder without what it ships, on an empty cache
        with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as cache:
            copy = Path(tmp) / "knowledge"
            knowledge_copy(root, copy)
            for name in (SHIPPED_VECTORS, SHIPPED_DISTRESS):
                (copy / name).unlink(missing_ok=True)
            nothing = child("cold", copy, Path(cache), [], rounds)
            figures.update(bare_s=nothing["cold_s"], bare_peak_mib=nothing["cold_peak_mib"])
    with tempfile.TemporaryDirectory() as cache:
        figures.update(child("cold", root, Path(cache), [], rounds))
        figures.update(child("warm", root, Path(cache), questions, rounds))
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            figures.update(child("busy", root, Path(cache), questions, rounds))
        finally:
            spinner.kill()
            spinner.wait()
    return figures


def show(name: str, figures: dict, sampled: int) -> None:
    print(f"\n{name}: {figures['entries']} entrées, {figures['questions']} questions ({sampled} messages chronométrés)")
    print(f"  démarrage jusqu'à la 1re réponse : {figures['warm_s']:.2f} s avec le cache des vecteurs, "
          f"{figures['cold_s']:.2f} s sans (premier démarrage, ce que la base livre lu)")
    if "bare_s" in figures:
        print(f"  premier démarrage sans rien de livré (tout calculé) : {figures['bare_s']:.2f} s, "
              f"{figures['bare_peak_mib']:.0f} Mio de pointe")
    print(f"  mémoire de pointe (processus entier) : {figures['peak_mib']:.0f} Mio en service "
          f"(démarrage avec le cache, puis les messages), {figures['cold_peak_mib']:.0f} Mio au premier démarrage")
    print(f"  moteur : médiane {figures['median_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms par message")
    print(f"  dont le modèle de phrases seul (le message entier) : médiane {figures['encoder_median_ms']:.2f} ms, "
          f"p99 {figures['encoder_p99_ms']:.2f} ms")
    print(f"  moteur, un autre processus occupant un cœur : médiane {figures['busy_median_ms']:.2f} ms, "
          f"p99 {figures['busy_p99_ms']:.2f} ms")
    print(f"  naïf   : médiane {figures['naive_median_ms']:.2f} ms, p99 {figures['naive_p99_ms']:.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=50)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, root, cache = args.child[0], Path(args.child[1]), Path(args.child[2])
        questions = json.loads(sys.stdin.read())
        measure = {"cold": lambda: measure_cold(root, cache),
                   "warm": lambda: measure_warm(root, cache, questions, args.rounds),
                   "busy": lambda: measure_busy(root, cache, questions, args.rounds)}[mode]
        figures = measure()
        print(json.dumps(figures))
        return 0
    knowledge = REPO / "knowledge"
    texts = [q.text for q in load_questions(knowledge / "eval.yaml") + load_questions(
        REPO / "benchmarks" / "unseen_questions.yaml")]
    show("Base livrée", run_base(knowledge, texts, 3, bare=True), len(texts))
    if args.scale <= 1:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "knowledge"
        scaled_copy(knowledge, big, args.scale)
        sample = random.Random(1).sample(texts, min(BIG_SAMPLE, len(texts)))
        show(f"Base x{args.scale}", run_base(big, sample, 1), len(sample))
    return 0


if __name__ == "__main__":
    sys.exit(main())
