"""The logistic function, shared by the calibrations that turn a score into a probability."""

from __future__ import annotations

import math


def sigmoid(z: float) -> float:
    """1 / (1 + e^-z), without overflow for large |z|."""
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    e = math.exp(z)
    return e / (1 + e)
