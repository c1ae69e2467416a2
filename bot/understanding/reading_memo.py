"""How the bot read the knowledge base's texts, kept on disk between starts.

Preparing the words of the FAQ's 5,900 wordings and reading the 3,400 examples as a message
is read takes most of a second at every start, in pure Python, and gives the same result as
long as neither the code nor the files that decide how a text is read have changed: both are
in the file's key, so an edit of either makes the bot read everything afresh, once.

Only texts of the knowledge base are kept (its wordings and the question sets' messages),
never a message someone sent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from bot.knowledge.yaml_source import from_plain, parse_yaml, to_plain

logger = logging.getLogger(__name__)

MEMO_FILE = "readings.json"
# The knowledge files a reading depends on: spelling, stopwords, place names.
READING_FILES = ("language.yaml", "communes.yaml", "outside_places.yaml", "french_towns.yaml")
_CODE = Path(__file__).resolve().parents[1]  # the bot package: any change of code changes the key

T = TypeVar("T")


def _code_digest() -> bytes:
    """The bot's code as it was when this process imported it (a `git pull` under a running bot
    must not file the old code's readings under the new code's key), and the libraries whose
    behaviour shapes a reading: fuzzy place names, Unicode folding, YAML parsing, the language
    detector."""
    import rapidfuzz
    import yaml

    from bot.understanding.languages import LANGID_VERSION

    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(_CODE.rglob("*.py")):
        digest.update(path.relative_to(_CODE).as_posix().encode("utf-8") + b"\0" + path.read_bytes())
    digest.update(f"rapidfuzz {rapidfuzz.__version__} unicode {unicodedata.unidata_version}".encode())
    # Which set messages are plainly another language is the language detector's reading.
    digest.update(LANGID_VERSION.encode())
    # The knowledge files kept as parsed: another PyYAML, or its libyaml parser present or not.
    digest.update(f"pyyaml {yaml.__version__} libyaml {hasattr(yaml, 'CSafeLoader')}".encode())
    return digest.digest()


_CODE_DIGEST = _code_digest()


def reading_key(root: Path) -> str:
    """A digest of the bot's code and of the knowledge files that decide how a text is read."""
    digest = hashlib.blake2b(_CODE_DIGEST, digest_size=16)
    for name in READING_FILES:
        path = root / name
        digest.update(name.encode("utf-8") + b"\0" + (path.read_bytes() if path.exists() else b"-"))
    return digest.hexdigest()


_IN_FILE = object()  # a reading given from the file (ReadingMemo._asked)


class WordPool:
    """One string object a word, made afresh: for the words an index keeps for good.

    A word read back from the memo is an object of the memo's parse, which lies in blocks of
    1 MiB among every other reading of the file; kept (interned, a dictionary's key), it would
    hold its whole block after the rest of the parse is let go. On a base 50 times larger, the
    words the indexes kept held 180 MiB of blocks otherwise free."""

    def __init__(self) -> None:
        self._own: dict[str, str] = {}  # a word as given: the copy kept

    def __call__(self, word: str) -> str:
        own = self._own.get(word)
        if own is None:
            # A slice makes a new string (`str(word)` or `word + ""` give the same object back).
            own = self._own[word] = sys.intern((word + " ")[:-1])
        return own


def digest_texts(digest: Any, texts: Iterable[str]) -> None:
    """Feed `texts` to a hashlib digest a text at a time, each after its length (where one ends
    counts): the key of a reading learnt from many texts, without joining them in memory first."""
    for text in texts:
        data = text.encode("utf-8", "surrogateescape")
        digest.update(len(data).to_bytes(8, "little") + data)


class ReadingMemo:
    """Readings by kind ("tokens", "semantic") and text; `save` keeps only those asked for
    since it was opened, so the file never grows with every edit of the FAQ."""

    def __init__(self, path: Path | None, key: str) -> None:
        self.path = path
        self.key = key
        # The file's kinds (where each lies), read at once; a kind's readings are parsed when first
        # asked for: parsed with the FAQ's words, the other kinds held some 20 MiB more at the
        # start's peak on a base 50 times larger (674-675 -> 651-658 MiB).
        self._index: dict[str, tuple[int, int, int]] = self._read_index()
        self._known: dict[str, dict[str, object]] = {}  # the kinds parsed
        self._gone: set[str] = set()  # the kinds let go: not parsed again
        # What was asked for: the reading when computed, _IN_FILE when given from the file (the
        # memo keeps no reading it gave: `let_go` can drop the file's at once).
        self._asked: dict[str, dict[str, object]] = {}
        self._computed = 0
        self._unused = False  # a kind let go held readings no one asked for

    def _read_index(self) -> dict[str, tuple[int, int, int]]:
        """The file's kinds, when it was written under this memo's key."""
        if self.path is None or not self.path.exists():
            return {}
        try:
            with self.path.open("rb") as handle:
                index = _index_of(handle)
        except OSError as exc:
            logger.warning("Readings memo %s ignored: %s", self.path, exc)
            return {}
        if index is None:
            logger.warning("Readings memo %s ignored: not a memo file, or cut short", self.path)
            return {}
        key, kinds = index
        return kinds if key == self.key else {}

    def _parsed(self, kind: str) -> dict[str, object]:
        """A kind's readings from the file, when it still holds them under this memo's key (a file
        written meanwhile by another start under the same key holds the same readings)."""
        if self.path is None:
            return {}
        try:
            with self.path.open("rb") as handle:
                index = _index_of(handle)
                if index is None or index[0] != self.key or kind not in index[1]:
                    return {}
                found = _kind_of(handle, index[1][kind])
        except OSError as exc:
            logger.warning("Readings memo %s: %s not read: %s", self.path, kind, exc)
            return {}
        if found is None:
            logger.warning("Readings memo %s: %s ignored, damaged", self.path, kind)
            return {}
        return found

    def _kind(self, kind: str) -> dict[str, object]:
        """The file's readings of `kind`, parsed at the first call (none once let go)."""
        known = self._known.get(kind)
        if known is None:
            known = {} if kind in self._gone or kind not in self._index else self._parsed(kind)
            self._known[kind] = known
        return known

    @classmethod
    def open(cls, cache_dir: Path | None, root: Path) -> ReadingMemo:
        return cls(cache_dir / MEMO_FILE if cache_dir else None, reading_key(root))

    def get(self, kind: str, text: str, read: Callable[[str], T]) -> T:
        """The reading of `text`, from the file when it holds it, else `read(text)`."""
        known = self._kind(kind)
        if text in known:
            value = known[text]
            self._asked.setdefault(kind, {})[text] = _IN_FILE
        else:
            value = read(text)
            self._computed += 1
            self._asked.setdefault(kind, {})[text] = value
        return value  # type: ignore[return-value]  # a list read back where a tuple was kept

    def let_go(self, kind: str) -> None:
        """Drop the file's readings of `kind` once what reads them is built, and never parse them
        again: the FAQ's words alone, 200 MiB on a base 50 times larger, held until the end of the
        start, its peak. `save` reads the kind again from the file if it must write it."""
        self._gone.add(kind)
        known = self._known.pop(kind, None)
        if known is None:  # never asked for: all the file holds of it is unused
            self._unused = self._unused or self._index.get(kind, (0, 0, 0))[2] > 0
            return
        asked = self._asked.get(kind, {})
        self._unused = self._unused or any(text not in asked for text in known)

    def replace(self, kind: str, text: str, value: object) -> None:
        """What `save` keeps for `text` instead of what `get` returned (a kept value found unreadable)."""
        self._asked.setdefault(kind, {})[text] = value
        self._computed += 1  # read afresh: `save` writes it

    def parsed_yaml(self, path: Path) -> Any:
        """A knowledge file as `load_yaml` parses it (its lines included), from the file when this
        very content was parsed before: the FAQ's YAML takes a tenth of a second to parse, its
        JSON a hundredth. Raises as `load_yaml` does."""
        content = path.read_bytes()  # read once: the digest and the parse are of the same bytes
        key = f"{path.name} {hashlib.blake2b(content, digest_size=16).hexdigest()}"
        parsed: list[Any] = []  # the parse of this start, when the memo did not hold it

        def parse(_: str) -> Any:
            parsed.append(parse_yaml(content))
            return to_plain(parsed[0])  # a value JSON cannot hold raises TypeError: not kept

        try:
            kept = self.get("yaml", key, parse)
        except TypeError:
            return parsed[0]
        return parsed[0] if parsed else from_plain(kept)

    def _readings(self) -> dict[str, dict[str, object]]:
        """What was asked for, each with its reading: those given from the file are looked up in
        it (read again for a kind let go; one the file no longer holds is left out: read afresh
        at the next start)."""
        readings: dict[str, dict[str, object]] = {}
        for kind, asked in self._asked.items():
            known = self._known.get(kind)
            if known is None and _IN_FILE in asked.values():
                known = self._parsed(kind)
            kept: dict[str, object] = {}
            for text, value in asked.items():
                if value is _IN_FILE:
                    if known is None or text not in known:
                        continue
                    value = known[text]
                kept[text] = value
            readings[kind] = kept
        return readings

    def save(self) -> None:
        """Write what was asked for, if anything was read afresh or left unused."""
        unused = self._unused or any(
            text not in self._asked.get(kind, {}) for kind, found in self._known.items() for text in found) or any(
            count and kind not in self._known and kind not in self._gone for kind, (_, _, count) in self._index.items())
        if self.path is None or not (self._computed or unused):
            return
        readings = self._readings()
        partial: Path | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # A name of its own: two reloads in one process must not write the same file.
            handle, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            partial = Path(name)
            with os.fdopen(handle, "wb") as out:
                write_memo(out, self.key, readings)
            partial.replace(self.path)  # readers see the old file or the new one, never half
        except OSError as exc:
            logger.warning("Readings memo %s not written: %s", self.path, exc)
            if partial is not None:
                partial.unlink(missing_ok=True)


# The file: one line of JSON a kind (its readings by text), then a last line, the index: the key
# and, for each kind, where its line starts, its length and how many readings it holds. In ASCII
# (other scripts as \u escapes): read back at the next start, a kind is a string of one byte a
# letter; with one emoji among its letters, four bytes each (32 MB for the shipped base), and
# that memory stayed the process's.
_INDEX_TAIL = 1 << 16  # the index is the file's last line, some hundred bytes


def write_memo(out: BinaryIO, key: str, readings: dict[str, dict[str, object]]) -> None:
    """Write `readings` by kind, then the index, to a file open for writing in binary."""
    kinds: dict[str, list[int]] = {}
    offset = 0
    for kind, found in readings.items():
        line = json.dumps(found, ensure_ascii=True).encode("ascii")
        out.write(line + b"\n")
        kinds[kind] = [offset, len(line), len(found)]
        offset += len(line) + 1
    out.write(json.dumps({"key": key, "kinds": kinds}, ensure_ascii=True).encode("ascii") + b"\n")


def _index_of(handle: BinaryIO) -> tuple[str, dict[str, tuple[int, int, int]]] | None:
    """The key and the kinds of a memo file, or None when it is not one (damaged, cut short)."""
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - _INDEX_TAIL))
    last = handle.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    try:
        index = json.loads(last)
        key, kinds = index["key"], index["kinds"]
        if not isinstance(key, str) or not isinstance(kinds, dict):
            return None
        where = {kind: (int(start), int(length), int(count)) for kind, (start, length, count) in kinds.items()}
    except (ValueError, TypeError, KeyError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    if any(start < 0 or length < 0 or start + length > size for start, length, _ in where.values()):
        return None
    return key, where


def _kind_of(handle: BinaryIO, where: tuple[int, int, int]) -> dict[str, object] | None:
    """A kind's readings, read where the index says; None when they do not parse."""
    start, length, _ = where
    handle.seek(start)
    try:
        found = json.loads(handle.read(length))
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def read_memo(path: Path) -> dict[str, Any]:
    """A whole memo file as {"key": ..., "readings": {kind: {text: reading}}} (tests, tools)."""
    with path.open("rb") as handle:
        index = _index_of(handle)
        if index is None:
            raise ValueError(f"{path}: not a readings memo")
        key, kinds = index
        return {"key": key, "readings": {kind: _kind_of(handle, where) for kind, where in kinds.items()}}
