"""Personal-data hygiene: masking of free text and keyed pseudonyms for user ids.

Many users are minors, so nothing that identifies them may reach the disk: questions are
masked before storage and Telegram user ids are replaced by an HMAC whose key never leaves
the data directory (a plain hash of an id could be reversed by enumerating ids).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from pathlib import Path

PHONE = "[téléphone]"
EMAIL = "[e-mail]"
NUMBER = "[numéro]"

SECRET_FILE = "secret.key"
SECRET_BYTES = 32

# Separators people type inside phone numbers (incl. the non-breaking spaces that phone
# keyboards and copy-paste produce).
_PHONE_SEP = r"[ \u00a0\u202f.\-]"
# Separators between digit groups of identifiers; no hyphen, so "2025-2026" stays intact.
_GROUP_SEP = r"[ \u00a0\u202f.]"

_EMAIL_RE = re.compile(r"[\w.%+\-]+ ?@ ?[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,}")

_PHONE_RE = re.compile(
    rf"""
    (?<![\w+])                          # not the tail of a longer token
    (?:
        (?:\+|00)\ ?33{_PHONE_SEP}?(?:\(0\){_PHONE_SEP}?)?[1-9]   # +33 6, 0033 6, +33 (0)6
      | 0[1-9]                                                    # 06
    )
    (?:{_PHONE_SEP}?\d{{2}}){{4}}
    (?!\d)
  |
    (?<![\w+])\+[1-9](?:{_PHONE_SEP}?\d){{7,14}}(?!\d)   # any other international number
    """,
    re.VERBOSE,
)

# 6+ contiguous digits (INE, card, account...), with the 1-2 letters an INE may end with.
_LONG_RUN_RE = re.compile(r"(?<!\d)\d{6,}(?:[A-Z]{1,2}(?![A-Za-z]))?")

# Identifiers typed in groups ("1 85 05 78 006 084 36", "4970 1012 3456 7890"). At least
# three groups of at most four digits: two groups are too often an amount or two years
# ("100 000 €", "2025 2026") and a five-digit group is a postcode.
_GROUPED_RE = re.compile(rf"(?<!\d)\d{{1,4}}(?:{_GROUP_SEP}\d{{1,4}}){{2,}}(?!\d)")


def _mask_grouped(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group())
    return NUMBER if digits >= 6 else match.group()


def mask_personal_data(text: str) -> str:
    """Replace phone numbers, e-mail addresses and long digit runs with placeholders.

    Postcodes (94400), years (2026) and short service numbers (119, 3020, 3114) are kept:
    they carry the meaning of the question, not the identity of the asker.
    """
    # E-mails first: their local part may contain digits the other rules would split.
    text = _EMAIL_RE.sub(EMAIL, text)
    text = _PHONE_RE.sub(PHONE, text)
    text = _LONG_RUN_RE.sub(NUMBER, text)
    return _GROUPED_RE.sub(_mask_grouped, text)


class UserKeyer:
    """Keyed pseudonym of Telegram user ids: HMAC-SHA256 with a per-installation secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < SECRET_BYTES:
            raise ValueError(f"secret must be at least {SECRET_BYTES} bytes")
        self._secret = secret

    @classmethod
    def from_dir(cls, data_dir: Path) -> UserKeyer:
        """Load `data_dir/secret.key`, creating it (0600) on first start."""
        return cls(load_or_create_secret(Path(data_dir) / SECRET_FILE))

    def key(self, user_id: int) -> str:
        # bool is an int subclass; accepting True would silently key user 1.
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise TypeError("user_id must be an int")
        return hmac.new(self._secret, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "UserKeyer(<secret>)"  # never leak the secret into logs


def _read_secret(path: Path) -> bytes:
    secret = path.read_bytes()
    if len(secret) != SECRET_BYTES:
        # Refuse rather than regenerate: a new secret would orphan every stored key.
        raise ValueError(f"{path} is corrupt ({len(secret)} bytes, expected {SECRET_BYTES})")
    return secret


def load_or_create_secret(path: Path) -> bytes:
    """Return the secret in `path`, creating it atomically if missing; never overwrite it."""
    with contextlib.suppress(FileNotFoundError):
        return _read_secret(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkstemp creates the file 0600, so the secret is never readable by others, even briefly.
    fd, tmp_name = tempfile.mkstemp(prefix=".secret-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(secrets.token_bytes(SECRET_BYTES))
            tmp.flush()
            os.fsync(tmp.fileno())
        try:
            # A hard link publishes the complete file atomically like os.replace, but fails
            # instead of overwriting when a concurrent start created the secret first.
            os.link(tmp_name, path)
        except FileExistsError:
            pass  # the other process won: use its secret
        except OSError:
            # File system without hard links: fall back to os.replace if still missing.
            if not path.exists():
                os.replace(tmp_name, path)
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    # Re-read so every racing process ends up with the same, durable secret.
    return _read_secret(path)


def _fsync_dir(directory: Path) -> None:
    # The directory entry must be durable too, or a power loss could lose the new file.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
