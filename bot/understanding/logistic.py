"""L2-regularised logistic regression by Newton's method: the fit's plain models and the
distress probe share it (both have a few thousand rows and at most a few hundred columns)."""

from __future__ import annotations

import numpy as np

ROWS_AT_ONCE = 4096  # rows a Hessian is summed over at once: its temporary stays a few MB


def newton_logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray, penalty: float,
                    steps: int = 100, tolerance: float = 1e-7, bias_column: bool = False) -> np.ndarray:
    """The weights, then the bias (not shrunk), for rows `x`, labels `y` (0 or 1) and row weights.
    `bias_column`: `x` already ends with a column of ones (a large `x` is then not copied)."""
    if not bias_column:
        x = np.hstack([x, np.ones((len(x), 1))])
    shrink = np.full(x.shape[1], penalty)
    shrink[-1] = 0.0
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        gradient = x.T @ (weight * (p - y)) + shrink * w
        curvature = weight * p * (1 - p)
        hessian = np.diag(shrink + 1e-9)
        for start in range(0, len(x), ROWS_AT_ONCE):  # the distress probe: 12,000 rows of 257
            rows = x[start : start + ROWS_AT_ONCE]
            hessian += (rows * curvature[start : start + ROWS_AT_ONCE, None]).T @ rows
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < tolerance:
            break
    return w
