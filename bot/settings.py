"""Settings read from the environment (see the README's table)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    token: str | None
    api_base_url: str | None
    knowledge_dir: Path
    data_dir: Path
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
        return cls(
            token=env.get("TELEGRAM_BOT_TOKEN") or None,
            api_base_url=env.get("TELEGRAM_API_BASE_URL") or None,
            knowledge_dir=Path(env.get("BOT_KNOWLEDGE_DIR") or PROJECT_DIR / "knowledge"),
            data_dir=Path(env.get("BOT_DATA_DIR") or "data"),
            admin_ids=admins,
            webhook_url=env.get("BOT_WEBHOOK_URL") or None,
            webhook_port=int(env.get("BOT_WEBHOOK_PORT") or 8443),
            webhook_secret=env.get("BOT_WEBHOOK_SECRET") or None,
            retention_days=int(env.get("BOT_RETENTION_DAYS") or 90),
        )

    def __repr__(self) -> str:  # never print the token
        return f"Settings(knowledge_dir={self.knowledge_dir}, data_dir={self.data_dir})"
