"""The per-user flood guard: sliding window, one warning, recovery."""

from __future__ import annotations

import pytest

from bot.telegram.flood import FloodGuard, Verdict

ALLOW, WARN, DROP = Verdict.ALLOW, Verdict.WARN, Verdict.DROP


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_limit_then_one_warning_then_silence(clock: Clock) -> None:
    guard = FloodGuard(limit=8, window=10.0, clock=clock)
    verdicts = []
    for _ in range(12):
        verdicts.append(guard.check(1))
        clock.now += 0.1
    assert verdicts == [ALLOW] * 8 + [WARN] + [DROP] * 3


def test_the_window_slides(clock: Clock) -> None:
    guard = FloodGuard(limit=3, window=10.0, clock=clock)
    for offset in (0.0, 4.0, 8.0):
        clock.now = 1000.0 + offset
        assert guard.check(1) is ALLOW
    clock.now = 1009.9
    assert guard.check(1) is WARN  # the first message is still inside the window
    clock.now = 1010.0
    assert guard.check(1) is ALLOW  # it has just left: one slot is free again
    assert guard.check(1) is WARN  # full again, and the warning comes once per episode


def test_recovery_after_the_window_clears(clock: Clock) -> None:
    guard = FloodGuard(limit=2, window=10.0, clock=clock)
    assert [guard.check(1) for _ in range(5)] == [ALLOW, ALLOW, WARN, DROP, DROP]
    clock.now += 5
    assert guard.check(1) is DROP  # dropped messages do not extend the penalty...
    clock.now += 5
    assert [guard.check(1) for _ in range(3)] == [ALLOW, ALLOW, WARN]  # ...nor outlive it


def test_users_are_independent(clock: Clock) -> None:
    guard = FloodGuard(limit=1, window=10.0, clock=clock)
    assert [guard.check(1), guard.check(1), guard.check(2)] == [ALLOW, WARN, ALLOW]


def test_idle_users_are_forgotten(clock: Clock) -> None:
    guard = FloodGuard(limit=8, window=10.0, clock=clock)
    for user in range(500):
        guard.check(user)
    assert len(guard) == 500
    clock.now += 60
    for _ in range(1000):  # a sweep runs every 1000 checks
        guard.check(9999)
    assert len(guard) == 1


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        FloodGuard(limit=0)
    with pytest.raises(ValueError):
        FloodGuard(window=0)
