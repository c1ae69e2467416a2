"""The maintainers' inbox: what the bot could not answer, and answers people disliked.

Shared by `run_bot.py report` (Markdown or CSV) and the /stats command on Telegram.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rapidfuzz import fuzz

from bot.knowledge.loader import STALE_AFTER_DAYS
from bot.storage.store import Store
from bot.understanding.engine import Engine

SIMILAR = 80  # token_set_ratio between two normalised questions of one group
MAX_GROUPED = 2000  # the most recent declined questions grouped (grouping is quadratic)


@dataclass
class Group:
    """Declined questions that say the same thing in other words."""

    example: str  # the first wording seen
    normalised: str
    texts: list[str] = field(default_factory=list)
    closest: str | None = None  # the entry the bot found nearest
    closest_score: float = 0.0

    @property
    def count(self) -> int:
        return len(self.texts)


def group_similar(rows: Iterable[tuple[str, str]]) -> list[Group]:
    """Greedy grouping of (text, normalised) pairs, most frequent group first."""
    groups: list[Group] = []
    for text, normalised in rows:
        key = normalised or text.lower()
        for group in groups:
            if fuzz.token_set_ratio(key, group.normalised) >= SIMILAR:
                group.texts.append(text)
                break
        else:
            groups.append(Group(text, key, [text]))
    groups.sort(key=lambda g: -g.count)
    return groups


def inbox_groups(store: Store, retention_days: int) -> list[Group]:
    """Declined questions still within the retention period, grouped; blocking: run in a thread."""
    since = datetime.now(UTC) - timedelta(days=retention_days)
    declined = store.declined_questions(since)[-MAX_GROUPED:]
    return group_similar((text, normalised) for text, normalised, _ in declined)


@dataclass(frozen=True)
class Report:
    groups: list[Group]
    feedback: list[tuple[str, int, int]]  # entry id, 👍, 👎 (most 👎 first)
    stale: list[tuple[str, date, str]]  # entry id, verified, file


def build(data_dir: Path, engine: Engine, retention_days: int, today: date | None = None) -> Report:
    today = today or date.today()
    with Store.open(data_dir, retention_days) as store:
        groups = inbox_groups(store, retention_days)
        feedback = [f for f in store.stats().feedback if f[2] > 0]
    for group in groups:
        candidates = engine.matcher.rank(engine.normaliser.normalise(group.example))
        if candidates:
            group.closest, group.closest_score = candidates[0].entry.id, candidates[0].score
    stale = sorted(
        (e.id, e.verified, e.file)
        for e in engine.kb.entries.values()
        if (today - e.verified).days > STALE_AFTER_DAYS
    )
    return Report(groups, feedback, stale)


def build_report(data_dir: Path, engine: Engine, fmt: str, retention_days: int) -> str:
    report = build(data_dir, engine, retention_days)
    return as_csv(report) if fmt == "csv" else as_markdown(report)


def as_markdown(report: Report) -> str:
    lines = ["# Boîte de réception des mainteneurs", "", "## Questions sans réponse sûre", ""]
    if report.groups:
        lines += ["| fois | question (exemple) | entrée la plus proche | score |", "| --- | --- | --- | --- |"]
        for group in report.groups:
            example = group.example.replace("|", "/").replace("\n", " ")
            lines.append(f"| {group.count} | {example} | {group.closest or '-'} | {group.closest_score:.0f} |")
    else:
        lines.append("Aucune pour l'instant.")
    lines += ["", "## Réponses jugées inutiles (👎)", ""]
    if report.feedback:
        lines += ["| entrée | 👎 | 👍 |", "| --- | --- | --- |"]
        lines += [f"| {entry} | {down} | {up} |" for entry, up, down in report.feedback]
    else:
        lines.append("Aucune pour l'instant.")
    lines += ["", f"## Entrées vérifiées il y a plus de {STALE_AFTER_DAYS} jours", ""]
    if report.stale:
        lines += [f"- {entry} (vérifiée le {verified.isoformat()}, {file})" for entry, verified, file in report.stale]
    else:
        lines.append("Aucune : tout a été vérifié depuis moins d'un an.")
    return "\n".join(lines)


def as_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "count", "text", "entry", "score", "up", "down", "verified"])
    for group in report.groups:
        writer.writerow(["declined", group.count, group.example, group.closest or "", group.closest_score, "", "", ""])
    for entry, up, down in report.feedback:
        writer.writerow(["feedback", "", "", entry, "", up, down, ""])
    for entry, verified, _ in report.stale:
        writer.writerow(["stale", "", "", entry, "", "", "", verified.isoformat()])
    return out.getvalue().rstrip("\n")
