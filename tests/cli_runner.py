"""Run the real command line as a subprocess, the way users and maintainers do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `python run_bot.py ARGS` as users do, from the repository."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, str(REPO / "run_bot.py"), *args],
        input=stdin, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=full_env,
    )
