"""Per-user flood guard: a sliding window of accepted messages (pure, clock injectable).

Within any `window` seconds a user gets at most `limit` messages answered. The first one
over the limit gets one polite warning; the following ones are dropped silently until the
oldest accepted message leaves the window. Dropped messages do not count, so someone who
keeps typing recovers as soon as the window has cleared instead of being locked out.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

DEFAULT_LIMIT = 8
DEFAULT_WINDOW = 10.0  # seconds
SWEEP_EVERY = 1000  # checks between two sweeps of idle users (bounds memory)


class Verdict(Enum):
    ALLOW = "allow"
    WARN = "warn"  # first message over the limit: answer with a warning, nothing else
    DROP = "drop"  # further messages over the limit: ignore


@dataclass
class _UserWindow:
    accepted: deque[float] = field(default_factory=deque)
    warned: bool = False


class FloodGuard:
    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        window: float = DEFAULT_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._users: dict[int, _UserWindow] = {}
        self._checks = 0

    def check(self, user_id: int) -> Verdict:
        """Count one incoming message from this user and say what to do with it."""
        now = self._clock()
        self._checks += 1
        if self._checks % SWEEP_EVERY == 0:
            self._sweep(now)
        state = self._users.setdefault(user_id, _UserWindow())
        self._expire(state, now)
        if len(state.accepted) < self.limit:
            state.accepted.append(now)
            state.warned = False
            return Verdict.ALLOW
        if not state.warned:
            state.warned = True
            return Verdict.WARN
        return Verdict.DROP

    def _expire(self, state: _UserWindow, now: float) -> None:
        while state.accepted and now - state.accepted[0] >= self.window:
            state.accepted.popleft()

    def _sweep(self, now: float) -> None:
        for user_id in list(self._users):
            state = self._users[user_id]
            self._expire(state, now)
            if not state.accepted:
                del self._users[user_id]

    def __len__(self) -> int:
        """Users currently tracked (for tests and monitoring)."""
        return len(self._users)
