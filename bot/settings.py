"""Settings read from the environment (see the README's table)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting a person must fix; the message says which and how, in French."""


def _whole_number(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise SettingsError(f"{name}={raw!r} : un nombre entier entre {low} et {high} est attendu")
    return int(raw)


@dataclass(frozen=True)
class Settings:
    token: str | None
    api_base_url: str | None
    knowledge_dir: Path
    data_dir: Path
    cache_dir: Path  # the FAQ's sentence vectors (rebuilt if deleted)
    admin_ids: frozenset[int]
    webhook_url: str | None
    webhook_port: int
    webhook_secret: str | None
    retention_days: int

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        admins = frozenset(
            int(part) for part in env.get("BOT_ADMIN_IDS", "").replace(",", " ").split()
            if part.strip().lstrip("-").isdigit()
        )
        port = _whole_number(env, "BOT_WEBHOOK_PORT", 8443, 1, 65535)
        retention = _whole_number(env, "BOT_RETENTION_DAYS", 90, 1, 3650)
        data_dir = Path(env.get("BOT_DATA_DIR") or PROJECT_DIR / "data")
        return cls(
            token=env.get("TELEGRAM_BOT_TOKEN") or None,
            api_base_url=env.get("TELEGRAM_API_BASE_URL") or None,
            knowledge_dir=Path(env.get("BOT_KNOWLEDGE_DIR") or PROJECT_DIR / "knowledge"),
            data_dir=data_dir,
            cache_dir=Path(env.get("BOT_CACHE_DIR") or data_dir / "cache"),
            admin_ids=admins,
            webhook_url=env.get("BOT_WEBHOOK_URL") or None,
            webhook_port=port,
            webhook_secret=env.get("BOT_WEBHOOK_SECRET") or None,
            retention_days=retention,
        )

    def __repr__(self) -> str:  # never print the token
        return f"Settings(knowledge_dir={self.knowledge_dir}, data_dir={self.data_dir})"
