"""Score the engine on a question set written the way families write."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.engine import ANSWER, ASK_LOCATION, FALLBACK, SERVICE, SUGGEST, Engine, Reply
from bot.loader import expectations
from bot.yaml_source import load_yaml

CONFIDENT = (ANSWER, SERVICE, ASK_LOCATION)
BARS = {"top1": 0.92, "confident_wrong": 0.02, "declined": 0.95}


@dataclass
class Failure:
    question: str
    expected: tuple[str, ...]
    reply: Reply

    def __str__(self) -> str:
        got = self.reply.entry.id if self.reply.entry else "-"
        extra = ""
        if self.reply.status == SUGGEST:
            extra = " [" + ", ".join(e.id for e in self.reply.suggestions) + "]"
        want = ", ".join(self.expected)
        return (
            f"  {self.question[:90]!r}\n    attendu {want} ; obtenu {self.reply.status} "
            f"{got}{extra} (score {self.reply.score})"
        )


@dataclass
class Scores:
    answerable: int = 0
    top1: int = 0
    via_suggestion: int = 0
    declines: int = 0
    declined: int = 0
    confident_wrong: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.answerable + self.declines

    def rate(self, name: str) -> float:
        if name == "top1":
            return self.top1 / max(self.answerable, 1)
        if name == "via_suggestion":
            return self.via_suggestion / max(self.answerable, 1)
        if name == "declined":
            return self.declined / max(self.declines, 1)
        return self.confident_wrong / max(self.total, 1)

    def passes(self) -> bool:
        return (
            self.rate("top1") >= BARS["top1"]
            and self.rate("confident_wrong") <= BARS["confident_wrong"]
            and self.rate("declined") >= BARS["declined"]
        )


def load_questions(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    data = load_yaml(path) or {}  # the project's loader: "q: non" stays text, not False
    return [(str(item["q"]), expectations(item.get("expect"))) for item in data["questions"]]


def evaluate(engine: Engine, questions: list[tuple[str, tuple[str, ...]]]) -> Scores:
    scores = Scores()
    for question, expected in questions:
        reply = engine.respond(question)
        got = reply.entry.id if reply.entry else None
        if expected == ("decline",):
            scores.declines += 1
            if reply.status == FALLBACK:
                scores.declined += 1
            else:
                if reply.status in CONFIDENT:
                    scores.confident_wrong += 1
                scores.failures.append(Failure(question, expected, reply))
            continue
        scores.answerable += 1
        if reply.status in CONFIDENT and got in expected:
            scores.top1 += 1
            continue
        if reply.status in CONFIDENT:
            scores.confident_wrong += 1
        elif reply.status == SUGGEST and any(e.id in expected for e in reply.suggestions):
            scores.via_suggestion += 1
        scores.failures.append(Failure(question, expected, reply))
    return scores


def format_scores(scores: Scores, name: str) -> str:
    def pct(key: str) -> str:
        return f"{100 * scores.rate(key):.1f} %"

    lines = [
        f"Jeu de questions : {name} ({scores.answerable} à répondre, {scores.declines} à décliner)",
        f"  bonne réponse du premier coup : {pct('top1')} (seuil {BARS['top1']:.0%})",
        f"  trouvée parmi les suggestions : {pct('via_suggestion')}",
        f"  réponses sûres mais fausses   : {pct('confident_wrong')} "
        f"({scores.confident_wrong}) (seuil {BARS['confident_wrong']:.0%} au plus)",
        f"  questions bien déclinées      : {pct('declined')} (seuil {BARS['declined']:.0%})",
    ]
    if scores.failures:
        lines.append(f"Échecs ({len(scores.failures)}) :")
        lines.extend(str(f) for f in scores.failures)
    lines.append("RÉUSSI" if scores.passes() else "SOUS LE SEUIL")
    return "\n".join(lines)
