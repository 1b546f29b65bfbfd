"""Fit the Q&A confidence calibration (CALIBRATION in knowledge/answer.py).

    python tools/fit_calibration.py          # print the constants to paste into answer.py
    python tools/fit_calibration.py --check  # exit 1 if answer.py's constants are stale

A logistic regression of "in scope" on `KnowledgeBase.features` over the labelled questions
of FITTED (L2 penalty as scikit-learn's C=10, fitted by Newton's method), whose bias is then
set as low as it can go with at most MAX_WRONGLY_REJECTED of the in-scope questions below
ANSWER_THRESHOLD, so that as many out-of-scope questions as possible are rejected, and then
raised halfway towards the highest bias that still rejects those same out-of-scope questions:
in-scope questions between the two are not turned away for nothing, and a margin is left on
both sides for questions not seen here.
tests/knowledge_fresh_qa.json, written apart from the code, is never fitted on: `staffbot eval`
on it is the honest check.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from knowledge.answer import ANSWER_THRESHOLD, CALIBRATION, CALIBRATION_BIAS, KnowledgeBase
from fit_logistic import logistic_regression

ROOT = Path(__file__).resolve().parent.parent
FITTED = ("data/eval/qa_dev.json", "tests/knowledge_extra_qa.json", "tests/knowledge_heldout_qa.json",
          "tests/knowledge_diag_qa.json")
MAX_WRONGLY_REJECTED = 0.05
PENALTY = 0.1  # 1 / C
ROUNDING = 4


def rows(kb: KnowledgeBase) -> tuple[list[list[float]], list[bool]]:
    """Feature vectors (in CALIBRATION's order) and in-scope labels of the fitted questions."""
    features, labels = [], []
    for name in FITTED:
        for item in json.loads((ROOT / name).read_text(encoding="utf-8")):
            units = kb.index.analyse(item["question"])
            found = kb.features(item["question"], units, kb.index.coverage(units))
            features.append([found[key] for key in CALIBRATION])
            labels.append(bool(item["in_scope"]))
    return features, labels


def fit(features: Sequence[Sequence[float]], labels: Sequence[bool]) -> tuple[dict[str, float], float]:
    """(weights by feature name, bias), the bias set as the module docstring says."""
    _, *weights = logistic_regression(features, labels, PENALTY)
    weights = [round(w, ROUNDING) for w in weights]
    margin = math.log(ANSWER_THRESHOLD / (1 - ANSWER_THRESHOLD))
    found = [sum(w * v for w, v in zip(weights, x)) for x in features]
    scores = sorted(v for v, y in zip(found, labels) if y)
    if not scores:
        raise ValueError("no in-scope questions to set the bias on")
    allowed = int(MAX_WRONGLY_REJECTED * len(scores))  # this many may score below the threshold
    lowest = margin - scores[allowed]
    rejected = [v for v, y in zip(found, labels) if not y and v + lowest < margin]
    bias = (lowest + margin - max(rejected)) / 2 if rejected else lowest
    return dict(zip(CALIBRATION, weights)), math.ceil(bias * 10**ROUNDING) / 10**ROUNDING


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if answer.py's constants differ from a fresh fit")
    args = parser.parse_args(argv)
    weights, bias = fit(*rows(KnowledgeBase.from_folder(ROOT / "data" / "policies")))
    if args.check:
        fresh = weights == CALIBRATION and bias == CALIBRATION_BIAS
        print(f"knowledge/answer.py calibration: {'up to date' if fresh else 'STALE: run tools/fit_calibration.py'}")
        return 0 if fresh else 1
    print(f"CALIBRATION = {json.dumps(weights)}\nCALIBRATION_BIAS = {bias}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
