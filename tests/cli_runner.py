"""Run the real command line as a subprocess, the way users and maintainers do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The FAQ's sentence vectors, shared by every test process: encoded once, then read from disk.
SHARED_CACHE = REPO / "data" / "cache"


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the bot's settings, with the shared vector cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    env["BOT_CACHE_DIR"] = str(SHARED_CACHE)
    env.update(extra)
    return env


def run_cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `python run_bot.py ARGS` as users do, from the repository."""
    full_env = clean_env(**(env or {}))
    return subprocess.run(
        [sys.executable, str(REPO / "run_bot.py"), *args],
        input=stdin, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=full_env,
    )
