"""Penalised logistic regression by Newton's method, for the tools that fit small models
(tools/fit_calibration.py, tools/train_verdict_model.py, tools/fit_reranker.py): a handful of
features and at most some tens of thousands of rows, so plain Python is quick enough (seconds)
and the project needs no numeric library.
"""

from __future__ import annotations

from collections.abc import Sequence

from knowledge.logistic import sigmoid


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (one row per feature: small systems)."""
    n = len(vector)
    a = [row[:] + [v] for row, v in zip(matrix, vector)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            for c in range(col, n + 1):
                a[r][c] -= factor * a[col][c]
    x = [0.0] * n
    for r in reversed(range(n)):
        x[r] = (a[r][n] - sum(a[r][c] * x[c] for c in range(r + 1, n))) / a[r][r]
    return x


def logistic_regression(features: Sequence[Sequence[float]], labels: Sequence[bool], penalty: float,
                        iterations: int = 50) -> list[float]:
    """[bias, *weights] minimising log loss + penalty / 2 * |weights|^2 (the bias is not
    penalised; scikit-learn's C is 1 / penalty). Raises ValueError when both labels are not
    present or the fit does not converge."""
    if not features or len(set(labels)) < 2:
        raise ValueError("logistic regression needs rows of both labels")
    n = len(features[0]) + 1
    beta = [0.0] * n
    for _ in range(iterations):
        gradient = [penalty * b if j else 0.0 for j, b in enumerate(beta)]
        hessian = [[penalty if i == j and i else 0.0 for j in range(n)] for i in range(n)]
        for x, y in zip(features, labels):
            row = [1.0, *x]
            p = sigmoid(sum(b * v for b, v in zip(beta, row)))
            for i in range(n):
                gradient[i] += (p - y) * row[i]
                for j in range(n):
                    hessian[i][j] += p * (1 - p) * row[i] * row[j]
        step = _solve(hessian, gradient)
        beta = [b - s for b, s in zip(beta, step)]
        if max(abs(s) for s in step) < 1e-10:
            return beta
    raise ValueError(f"logistic regression did not converge in {iterations} iterations")
