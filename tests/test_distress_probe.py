"""The distress probe: a direction in the encoder's space, learnt from the labelled messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from cli_runner import SHARED_CACHE

from bot.understanding.distress_probe import DistressProbe
from bot.understanding.distress_words import read_shipped_probe, shipped_key, write_shipped
from bot.understanding.engine import Engine
from bot.understanding.reading_memo import ReadingMemo
from bot.understanding.signals import PROBE_CODE, SAFETY_FEATURES, _learnt_probe, _probe_key

REPO = Path(__file__).resolve().parent.parent


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_it_learns_the_side_each_group_lies_on() -> None:
    rng = np.random.default_rng(0)
    direction = _unit(rng.normal(size=(1, 16)))[0]
    distress = _unit(rng.normal(size=(60, 16)) + 1.5 * direction)
    ordinary = _unit(rng.normal(size=(200, 16)) - 1.5 * direction)
    probe = DistressProbe.learn(distress, ordinary)
    assert probe is not None
    assert np.mean([probe.score(v) > 0 for v in distress]) > 0.9
    assert np.mean([probe.score(v) < 0 for v in ordinary]) > 0.9
    assert probe.score(direction) > 0 > probe.score(-direction)
    again = DistressProbe.from_list(probe.as_list())
    assert np.isclose(again.score(direction), probe.score(direction), atol=1e-5)
    assert DistressProbe.learn(distress, ordinary[:0]) is None


def test_many_rows_learn_as_one_newton_step_over_all_of_them() -> None:
    """The Hessian is summed over blocks of rows (its temporary stays small at a first start) and
    the probe gives its rows with their column of ones: the same weights as all rows at once."""
    from bot.understanding import logistic

    rng = np.random.default_rng(3)
    direction = _unit(rng.normal(size=(1, 8)))[0]
    x = _unit(rng.normal(size=(3 * logistic.ROWS_AT_ONCE + 17, 8)) + 0.3 * direction)
    y = (x @ direction + 0.3 * rng.normal(size=len(x)) > 0.3).astype(float)
    weight = np.ones(len(x))

    def at_once(steps: int = 100) -> np.ndarray:  # the plain Newton method, every row in one product
        rows = np.hstack([x, np.ones((len(x), 1))])
        shrink = np.r_[np.full(8, 0.1), 0.0]
        w = np.zeros(9)
        for _ in range(steps):
            p = 1 / (1 + np.exp(-np.clip(rows @ w, -30, 30)))
            hessian = (rows * (p * (1 - p))[:, None]).T @ rows + np.diag(shrink + 1e-9)
            step = np.linalg.solve(hessian, rows.T @ (p - y) + shrink * w)
            w -= step
            if np.abs(step).max() < 1e-10:
                break
        return w

    blocks = logistic.newton_logistic(x, y, weight, 0.1, tolerance=1e-10)
    with_ones = logistic.newton_logistic(np.hstack([x, np.ones((len(x), 1))]), y, weight, 0.1, tolerance=1e-10,
                                         bias_column=True)
    assert np.allclose(blocks, at_once(), atol=1e-8) and np.allclose(with_ones, blocks, atol=1e-12)


def test_the_groups_weigh_alike_whatever_their_sizes() -> None:
    """Overlapping groups, ten times more ordinary messages: unweighted, the boundary would
    slide towards distress and miss most of it; weighed alike, it stays in the middle."""
    rng = np.random.default_rng(2)
    direction = np.zeros(8)
    direction[0] = 1.0
    distress = rng.normal(size=(60, 8)) + 0.5 * direction
    ordinary = rng.normal(size=(600, 8)) - 0.5 * direction
    probe = DistressProbe.learn(distress, ordinary)
    assert probe is not None
    caught = np.mean([probe.score(v) > 0 for v in distress])
    spared = np.mean([probe.score(v) < 0 for v in ordinary])
    assert caught > 0.55 and spared > 0.55 and abs(caught - spared) < 0.25, (caught, spared)


def test_the_memo_keeps_it_and_a_change_of_examples_learns_it_again(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    distress, ordinary = _unit(rng.normal(size=(20, 8)) + 1), _unit(rng.normal(size=(20, 8)) - 1)
    made: list[int] = []

    def groups(d: np.ndarray = distress) -> tuple[np.ndarray, np.ndarray]:
        made.append(1)
        return d, ordinary

    memo = ReadingMemo(tmp_path / "memo.json", "k")
    first = _learnt_probe(groups, _probe_key((distress, ordinary)), memo)
    memo.save()
    reopened = ReadingMemo(tmp_path / "memo.json", "k")
    kept = _learnt_probe(groups, _probe_key((distress, ordinary)), reopened)
    assert first is not None and kept is not None and np.allclose(first.weights, kept.weights)
    assert reopened._computed == 0 and len(made) == 1  # read back: neither learnt nor its rows copied
    changed = _learnt_probe(lambda: groups(distress[1:]), _probe_key((distress[1:], ordinary)), reopened)
    assert reopened._computed == 1 and changed is not None
    # Which rows go to which group is part of the key: the same matrix split otherwise is learnt again.
    split = np.arange(len(distress)) < 10
    _learnt_probe(lambda: (distress[split], distress[~split]), _probe_key((distress, split)), reopened)
    _learnt_probe(lambda: (distress[~split], distress[split]), _probe_key((distress, ~split)), reopened)
    assert reopened._computed == 3


def test_a_probe_shipped_for_the_same_vectors_is_read_not_learnt(tmp_path: Path) -> None:
    """`fit` ships the probe under a key of the arrays it was learnt from and of the code that
    learns it: a fresh machine (an empty memo) reads it; other arrays learn their own."""
    rng = np.random.default_rng(2)
    distress, ordinary = _unit(rng.normal(size=(20, 8)) + 1), _unit(rng.normal(size=(20, 8)) - 1)
    made: list[int] = []

    def groups() -> tuple[np.ndarray, np.ndarray]:
        made.append(1)
        return distress, ordinary

    key = _probe_key((distress, ordinary))
    learnt = DistressProbe.learn(distress, ordinary)
    assert learnt is not None
    shipped = tmp_path / "distress.npz"
    write_shipped(shipped, None, (shipped_key(key, PROBE_CODE), learnt.as_list()))
    assert read_shipped_probe(shipped, key) is None  # the code is part of the key
    read = _learnt_probe(groups, key, ReadingMemo(tmp_path / "memo.json", "k"), shipped)
    assert read is not None and read.as_list() == learnt.as_list() and made == []
    other = _learnt_probe(lambda: (ordinary, distress), _probe_key((ordinary, distress)),
                          ReadingMemo(tmp_path / "other.json", "k"), shipped)
    assert other is not None and other.score(distress[0]) < 0 < read.score(distress[0])


def test_the_bots_probe_leans_the_right_way_on_messages_it_never_learnt() -> None:
    """Learnt from the FAQ's helpline questions and the distress messages of the sets, against
    the ordinary messages with strong words and the messages to decline; read here on
    messages none of them holds."""
    engine = Engine.load(REPO / "knowledge", SHARED_CACHE)[0]
    column = SAFETY_FEATURES.index("distress_lean")
    assert engine.signals.probe is not None

    def lean(text: str) -> float:
        return float(engine.understand(text).reading.safety_row[column])

    for text in ("le soir quand maman dort le monsieur d'en haut me dit de monter chez lui et de rien dire",
                 "jpp de cette vie jveux juste que tout s'arrete"):
        assert lean(text) > 0, text
    for text in ("jsuis mort de rire la prof a glissé devant toute la classe",
                 "ma fille stresse pour le brevet blanc de jeudi, c'est normal ?"):
        assert lean(text) < 0, text
