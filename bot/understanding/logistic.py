"""L2-regularised logistic regression by Newton's method: the fit's plain models and the
distress probe share it (both have a few thousand rows and at most a few hundred columns)."""

from __future__ import annotations

import numpy as np


def newton_logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray, penalty: float,
                    steps: int = 100, tolerance: float = 1e-7) -> np.ndarray:
    """The weights, then the bias (not shrunk), for rows `x`, labels `y` (0 or 1) and row weights."""
    x = np.hstack([x, np.ones((len(x), 1))])
    shrink = np.full(x.shape[1], penalty)
    shrink[-1] = 0.0
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        gradient = x.T @ (weight * (p - y)) + shrink * w
        hessian = (x * (weight * p * (1 - p))[:, None]).T @ x + np.diag(shrink + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < tolerance:
            break
    return w
