"""tools/fit_calibration.py and tools/fit_logistic.py: the logistic fit, the bias rule, the shipped constants."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import fit_calibration  # noqa: E402
from fit_logistic import logistic_regression  # noqa: E402


def test_newton_fit_finds_the_logistic_optimum() -> None:
    # Overlapping classes on one feature: the penalised optimum has a zero gradient.
    features = [[x] for x in (0.0, 1.0, 2.0, 3.0, 1.5, 2.5)]
    labels = [False, False, True, True, True, False]
    bias, weight = logistic_regression(features, labels, penalty=0.1)
    p = [1 / (1 + math.exp(-(bias + weight * x[0]))) for x in features]
    assert sum(pi - y for pi, y in zip(p, labels)) == pytest.approx(0, abs=1e-8)
    assert sum((pi - y) * x[0] for pi, y, x in zip(p, labels, features)) + 0.1 * weight == (
        pytest.approx(0, abs=1e-8))
    assert weight > 0


def test_the_bias_rejects_at_most_the_allowed_share_of_in_scope_questions() -> None:
    in_scope = [{"score": float(x)} for x in range(40)]
    out_of_scope = [{"score": float(x)} for x in range(-10, 5)]
    weights, bias = fit_calibration.fit(in_scope + out_of_scope, [True] * 40 + [False] * 15, ["score"])
    below = sum(bias + weights["score"] * x["score"] < 0 for x in in_scope)
    assert below == int(fit_calibration.MAX_WRONGLY_REJECTED * 40)


def test_the_bias_then_stops_halfway_to_answering_an_out_of_scope_question() -> None:
    in_scope = [{"score": float(x), "unused": 0.0} for x in range(20, 60)]
    # the last one scores like an in-scope question
    out_of_scope = [{"score": float(x), "unused": 0.0} for x in (0, 5, 10, 40)]
    weights, bias = fit_calibration.fit(in_scope + out_of_scope, [True] * 40 + [False] * 4, ["score"])
    assert list(weights) == ["score"]
    allowed = int(fit_calibration.MAX_WRONGLY_REJECTED * 40)  # in-scope questions 20, 21... may be rejected
    lowest = -weights["score"] * (20 + allowed)
    highest = -weights["score"] * 10  # past this, the out-of-scope question scoring 10 is answered
    assert bias == pytest.approx((lowest + highest) / 2, abs=1e-4)
    assert all(bias + weights["score"] * x["score"] < 0 for x in out_of_scope[:3])


def test_the_shipped_constants_are_a_fresh_fit() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "fit_calibration.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
