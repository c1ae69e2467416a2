"""YAML loading that remembers where each value came from, so maintainers get file:line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml


class LineDict(dict):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence that knows its own line and the line of each item (1-based)."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


@dataclass(frozen=True)
class YamlError(Exception):
    """A file that is not valid YAML, with the line where the parser gave up."""

    line: int
    message: str


# libyaml's parser when present: ten times faster, with the same line marks.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that builds LineDict/LineList and refuses duplicate keys."""


# YAML 1.1 reads on/off/yes/no as booleans: in a French list, "on" would become True.
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "clé invalide", key_node.start_mark
            )
        key = str(key)
        if key in result:
            # PyYAML would silently keep the last one: a maintainer would lose an edit.
            raise yaml.constructor.ConstructorError(
                None, None, f"la clé « {key} » apparaît deux fois", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> object:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError as exc:  # 2026-25-11: a date that does not exist
        raise yaml.constructor.ConstructorError(
            None, None, f"date impossible « {node.value} » (format AAAA-MM-JJ)", node.start_mark
        ) from exc


_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def safe_load(text: str) -> Any:
    """`yaml.safe_load` through libyaml when it is there: five times faster on the large files
    read at every start (the policy, the banks, the translated messages)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_yaml(path: Path) -> Any:
    """Parse one file; raise YamlError with a French message and the line."""
    return parse_yaml(path.read_bytes())


def parse_yaml(content: bytes) -> Any:
    """Parse a file's bytes; raise YamlError with a French message and the line."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(1, f"le fichier n'est pas en UTF-8 ({exc.reason})") from exc
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or exc.context or "erreur"
        lines = text.splitlines()
        if 0 < line <= len(lines) and "\t" in lines[line - 1][: len(lines[line - 1]) - len(lines[line - 1].lstrip())]:
            what = "tab"
        raise YamlError(line, f"YAML invalide : {_translate(what)}") from exc
    except yaml.YAMLError as exc:
        raise YamlError(1, f"YAML invalide : {exc}") from exc


_TRANSLATIONS = {
    "tab": "tabulation interdite : indentez avec des espaces",
    "found character '\\t' that cannot start any token": "tabulation interdite : indentez avec des espaces",
    "mapping values are not allowed": "« : » inattendu (mettez le texte entre guillemets s'il contient « : »)",
    "could not find expected ':'": "il manque « : » après une clé",
    "did not find expected key": "indentation incohérente : cette ligne n'est pas alignée avec les autres",
    "did not find expected ',' or ']'": "un crochet « [ » n'est pas refermé par « ] »",
    "did not find expected ',' or '}'": "une accolade « { » n'est pas refermée par « } »",
    "found unexpected end of stream": "un guillemet n'est pas refermé",
    "found character that cannot start any token": "caractère inattendu : mettez ce texte entre guillemets",
    "found undefined alias": "« * » inattendu : mettez ce texte entre guillemets",
    "expected <block end>, but found '-'": "indentation incohérente avant ce « - »",
    "did not find expected '-' indicator": "indentation incohérente avant ce « - »",
}


def _translate(problem: str) -> str:
    for english, french in _TRANSLATIONS.items():
        if problem.startswith(english):
            return french
    return problem


# A parsed file as JSON can hold it, its lines included (the readings memo keeps it between
# starts): a mapping {"m": values, "l": line, "k": key lines}, a sequence {"s": items, "l": line,
# "i": item lines}, a date {"d": "2026-11-25"} or a moment {"t": ...}. No other dict is written.


def to_plain(value: Any) -> Any:
    """`value` (as `parse_yaml` returns it) in JSON's types, its lines kept."""
    if isinstance(value, LineDict):
        return {"m": {k: to_plain(v) for k, v in value.items()}, "l": value.line, "k": value.key_lines}
    if isinstance(value, LineList):
        return {"s": [to_plain(v) for v in value], "l": value.line, "i": value.item_lines}
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):  # YAML's timestamps: `verified: 2026-11-25`
        return {"d": value.isoformat()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    # `!!set`, `!!binary`...: no knowledge file uses them; such a file is parsed at every start.
    raise TypeError(f"{type(value).__name__} is not kept in JSON")


def from_plain(value: Any) -> Any:
    """What `to_plain` was given, rebuilt: equal to it, lines included."""
    if not isinstance(value, dict):
        return value
    if "m" in value:
        mapping = LineDict({k: from_plain(v) for k, v in value["m"].items()})
        mapping.line, mapping.key_lines = value["l"], value["k"]
        return mapping
    if "s" in value:
        sequence = LineList(from_plain(v) for v in value["s"])
        sequence.line, sequence.item_lines = value["l"], value["i"]
        return sequence
    if "t" in value:
        return datetime.fromisoformat(value["t"])
    return date.fromisoformat(value["d"])
