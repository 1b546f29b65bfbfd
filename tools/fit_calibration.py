"""Fit the Q&A confidence calibrations (CALIBRATION and CALIBRATION_WITHOUT_EXAMPLES in knowledge/answer.py).

    python tools/fit_calibration.py          # print the constants to paste into answer.py
    python tools/fit_calibration.py --check  # exit 1 if answer.py's constants are stale

A logistic regression of "in scope" on `KnowledgeBase.features` over the labelled questions
of FITTED (L2 penalty as scikit-learn's C=10, fitted by Newton's method), whose bias is then
set as low as it can go with at most MAX_WRONGLY_REJECTED of the in-scope questions below
ANSWER_THRESHOLD, so that as many out-of-scope questions as possible are rejected, and then
raised halfway towards the highest bias that still rejects those same out-of-scope questions:
in-scope questions between the two are not turned away for nothing, and a margin is left on
both sides for questions not seen here. The same questions without the closeness feature give
CALIBRATION_WITHOUT_EXAMPLES. The fresh question sets (tests/knowledge_fresh*_qa.json), written
apart from the code, are never fitted on: `staffbot eval` on them is the honest check.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from knowledge.answer import (ANSWER_THRESHOLD, CALIBRATION, CALIBRATION_BIAS, CALIBRATION_WITHOUT_EXAMPLES,
                              CALIBRATION_WITHOUT_EXAMPLES_BIAS, KnowledgeBase)
from fit_logistic import logistic_regression

ROOT = Path(__file__).resolve().parent.parent
FITTED = ("data/eval/qa_dev.json", "tests/knowledge_extra_qa.json", "tests/knowledge_heldout_qa.json",
          "tests/knowledge_diag_qa.json")
MAX_WRONGLY_REJECTED = 0.03
PENALTY = 0.1  # 1 / C
ROUNDING = 4


def rows(kb: KnowledgeBase) -> tuple[list[dict[str, float]], list[bool]]:
    """The features and in-scope labels of the fitted questions."""
    features, labels = [], []
    for name in FITTED:
        for item in json.loads((ROOT / name).read_text(encoding="utf-8")):
            features.append(kb.features(kb.read(item["question"])))
            labels.append(bool(item["in_scope"]))
    return features, labels


def fit(features: Sequence[Mapping[str, float]], labels: Sequence[bool],
        names: Sequence[str]) -> tuple[dict[str, float], float]:
    """(weights of the features `names`, bias), the bias set as the module docstring says."""
    vectors = [[found[name] for name in names] for found in features]
    _, *weights = logistic_regression(vectors, labels, PENALTY)
    weights = [round(w, ROUNDING) for w in weights]
    margin = math.log(ANSWER_THRESHOLD / (1 - ANSWER_THRESHOLD))
    found = [sum(w * v for w, v in zip(weights, x)) for x in vectors]
    scores = sorted(v for v, y in zip(found, labels) if y)
    if not scores:
        raise ValueError("no in-scope questions to set the bias on")
    allowed = int(MAX_WRONGLY_REJECTED * len(scores))  # this many may score below the threshold
    lowest = margin - scores[allowed]
    rejected = [v for v, y in zip(found, labels) if not y and v + lowest < margin]
    bias = (lowest + margin - max(rejected)) / 2 if rejected else lowest
    return dict(zip(names, weights)), math.ceil(bias * 10**ROUNDING) / 10**ROUNDING


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if answer.py's constants differ from a fresh fit")
    args = parser.parse_args(argv)
    features, labels = rows(KnowledgeBase.from_folder(ROOT / "data" / "policies"))
    shipped = {"CALIBRATION": (CALIBRATION, CALIBRATION_BIAS),
               "CALIBRATION_WITHOUT_EXAMPLES": (CALIBRATION_WITHOUT_EXAMPLES, CALIBRATION_WITHOUT_EXAMPLES_BIAS)}
    fitted = {name: fit(features, labels, list(weights)) for name, (weights, _) in shipped.items()}
    if args.check:
        fresh = fitted == shipped
        print(f"knowledge/answer.py calibration: {'up to date' if fresh else 'STALE: run tools/fit_calibration.py'}")
        return 0 if fresh else 1
    for name, (weights, bias) in fitted.items():
        print(f"{name} = {json.dumps(weights)}\n{name}_BIAS = {bias}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
