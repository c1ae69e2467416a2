"""The fields of the maintainers' YAML items, each declared once: a table per kind of item.

A `Field` says how its value is read (type), whether it is required, what is checked and
what the maintainers' guide says of it. `Schema.read` reads one item: every problem of the
item is reported at once (file:line, in French), and an item with any error is left out
whole (None), never half-loaded. `Schema.guide_table` writes the guide's table of fields,
which a test keeps identical to `knowledge/README.md`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bot.knowledge.yaml_source import LineDict, LineList, load_yaml

STALE_AFTER_DAYS = 365
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_BUTTON = 60  # characters on a Telegram button


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str
    is_error: bool = True

    def __str__(self) -> str:
        prefix = "" if self.is_error else "avertissement : "
        return f"{self.file}:{self.line}: {prefix}{self.message}"


class Report:
    """Collects problems for one load; `file` is the path shown to maintainers. `parse` reads
    one file as `load_yaml` does (the bot's engine passes one that remembers between starts)."""

    def __init__(self, root: Path, parse: Callable[[Path], Any] = load_yaml) -> None:
        self.root = root
        self.parse = parse
        self.problems: list[Problem] = []

    def error(self, path: Path, line: int, message: str) -> None:
        self.problems.append(Problem(self._show(path), line, message))

    def warn(self, path: Path, line: int, message: str) -> None:
        self.problems.append(Problem(self._show(path), line, message, is_error=False))

    @property
    def error_count(self) -> int:
        return sum(p.is_error for p in self.problems)

    @staticmethod
    def _show(path: Path) -> str:
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class Where:
    """Where an item is read, for its problems, and the day its dates are judged on."""

    path: Path
    report: Report
    today: date

    def error(self, line: int, message: str) -> None:
        self.report.error(self.path, line, message)

    def warn(self, line: int, message: str) -> None:
        self.report.warn(self.path, line, message)


# --- readers: (item, key, where, required) -> value; they report what is wrong ---------------

Reader = Callable[[LineDict, str, Where, bool], Any]


def text(item: LineDict, key: str, where: Where, required: bool) -> str:
    value = item.get(key)
    if value is None:
        if required:
            where.error(item.line, f"le champ « {key} » est obligatoire")
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        where.error(item.line_of(key), f"« {key} » doit être un texte non vide")
        return ""
    return value.strip()


def texts(item: LineDict, key: str, where: Where, required: bool) -> tuple[str, ...]:
    value = item.get(key)
    if value is None:
        if required:
            where.error(item.line, f"le champ « {key} » est obligatoire")
        return ()
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, list):
        # "3018" written without quotes is a number: it is still the text a person types.
        value = [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        where.error(item.line_of(key), f"« {key} » doit être une liste de textes non vides")
        return ()
    if required and not value:
        where.error(item.line_of(key), f"« {key} » ne peut pas être vide")
    return tuple(v.strip() for v in value)


def verified_date(item: LineDict, key: str, where: Where, required: bool) -> date | None:
    value = item.get(key)
    if value is None:
        if required:
            where.error(item.line, f"le champ « {key} » (date de vérification) est obligatoire")
        return None
    if not isinstance(value, date):
        where.error(item.line_of(key), f"« {key} » doit être une date AAAA-MM-JJ")
        return None
    if value > where.today:
        where.error(item.line_of(key), f"« {key} » est dans le futur ({value})")
    elif (where.today - value).days > STALE_AFTER_DAYS:
        where.warn(item.line_of(key), f"vérifié le {value.isoformat()}, il y a plus d'un an : à revérifier")
    return value


def boolean(item: LineDict, key: str, where: Where, required: bool) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool):
        where.error(item.line_of(key), f"« {key} » vaut true ou false")
        return False
    return value


def number(item: LineDict, key: str, where: Where, required: bool) -> float | None:
    value = item.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        where.error(item.line_of(key) if key in item else item.line, f"« {key} » doit être un nombre (ex. 48.79)")
        return None
    return float(value)


def is_valid_url(url: str) -> bool:
    parsed = urlparse(url)
    return (
        parsed.scheme in ("http", "https")
        and "." in parsed.netloc
        and " " not in url
        and not parsed.netloc.startswith(".")
    )


def sources(item: LineDict, key: str, where: Where, required: bool) -> tuple[str, ...]:
    found = texts(item, key, where, required)
    for source in found:
        if source.startswith(("http:", "https:")) and not is_valid_url(source.split(" ")[0]):
            where.error(item.line_of(key), f"source : adresse web invalide « {source} »")
    return found


def pattern(regex: str, message: str, drop: bool = False) -> Reader:
    """A text that must match `regex`; `message` says what is wrong ({value} is the text).
    `drop`: a wrong one is read as missing (an id the rest of the base cannot point to)."""
    compiled = re.compile(regex)

    def read(item: LineDict, key: str, where: Where, required: bool) -> str:
        value = text(item, key, where, required)
        if value and not compiled.fullmatch(value):
            where.error(item.line_of(key), message.format(value=value))
            return "" if drop else value
        return value

    return read


ID_RULE = "minuscules, chiffres et tirets, 40 caractères au plus"
identifier = pattern(ID_PATTERN.pattern, "identifiant « {value} » invalide : " + ID_RULE, drop=True)


def url(item: LineDict, key: str, where: Where, required: bool) -> str:
    value = text(item, key, where, required)
    if value and not is_valid_url(value):
        where.error(item.line_of(key), f"adresse web invalide « {value} »")
    return value


def button_text(item: LineDict, key: str, where: Where, required: bool) -> str:
    value = text(item, key, where, required)
    if len(value) > MAX_BUTTON:
        where.error(item.line_of(key), f"« {key} » doit tenir sur un bouton ({MAX_BUTTON} caractères au plus)")
    return value


def links(item: LineDict, key: str, where: Where, required: bool) -> tuple[tuple[str, str], ...]:
    raw = item.get(key)
    if raw is None:
        return ()
    if not isinstance(raw, LineList):
        where.error(item.line_of(key), f"« {key} » doit être une liste de {{title: ..., url: ...}}")
        return ()
    found = []
    for index, link in enumerate(raw):
        line = raw.line_of(index)
        if not isinstance(link, LineDict) or not all(isinstance(link.get(k), str) for k in ("title", "url")):
            where.error(line, "un lien doit avoir « title » et « url »")
        elif not is_valid_url(link["url"]):
            where.error(line, f"adresse web invalide « {link['url']} »")
        elif len(link["title"]) > MAX_BUTTON:
            where.error(line, f"le titre d'un lien doit tenir sur un bouton ({MAX_BUTTON} caractères au plus)")
        else:
            found.append((link["title"].strip(), link["url"].strip()))
    return tuple(found)


def accepted(item: LineDict, key: str, where: Where, required: bool) -> Any:
    """A field the bot accepts and keeps for later, without using it yet."""
    return item.get(key)


# --- the table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    read: Reader
    required: bool
    guide: str  # what the maintainers' guide says of it (French)


@dataclass(frozen=True)
class Schema:
    what: str  # "une entrée", "un lieu"...: for the messages
    fields: tuple[Field, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def read(self, raw: Any, line: int, where: Where) -> tuple[LineDict | None, dict[str, Any]]:
        """The item and its values; every problem of the item is reported."""
        if not isinstance(raw, LineDict):
            where.error(line, f"{self.what} doit être une liste de champs « nom: valeur »")
            return None, {}
        for key in raw:
            if key not in self.names:
                known = ", ".join(sorted(self.names))
                where.error(raw.line_of(key), f"champ inconnu « {key} » (champs permis : {known})")
        return raw, {f.name: f.read(raw, f.name, where, f.required) for f in self.fields}

    def guide_table(self) -> str:
        """The table of fields of the maintainers' guide (knowledge/README.md)."""
        rows = ["| champ | | rôle et limites |", "| --- | --- | --- |"]
        rows += [f"| `{f.name}` | {'obligatoire' if f.required else 'facultatif'} | {f.guide} |" for f in self.fields]
        return "\n".join(rows)
