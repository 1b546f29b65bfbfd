"""Fit the reranker's weights (WEIGHTS and WEIGHTS_WITHOUT_EXAMPLES in knowledge/rerank.py).

    python tools/fit_reranker.py [--policies DIR]   # print the weights to paste into rerank.py
    python tools/fit_reranker.py --check            # exit 1 if rerank.py's weights are stale

Every example question of the shipped topics files is asked of a knowledge base built without
it (tools/confused_passages.py's folds). Of its candidates, the right passage's features minus
each wrong one's make a row labelled True, and the reverse a row labelled False: a logistic
regression on those rows without bias (L2 penalty as scikit-learn's C=1) gives the weights
under which e^(score difference) is the odds that one candidate is right rather than another.
The same rows with only the features of WEIGHTS_WITHOUT_EXAMPLES give those weights.
No evaluation set is read, so a school can refit on its own policies and topics files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from confused_passages import held_out
from fit_logistic import logistic_regression
from knowledge.ingest import load_folder
from knowledge.rerank import DEPTH, WEIGHTS, WEIGHTS_WITHOUT_EXAMPLES
from knowledge.text import same_text
from knowledge.vocabulary import Vocabulary

ROOT = Path(__file__).resolve().parent.parent
PENALTY = 1.0  # 1 / C
ROUNDING = 4
TOLERANCE = 1e-3  # --check allows this much: another stemmer or rapidfuzz release may shift the last digit


def pairs(folder: Path) -> tuple[list[list[float]], list[bool]]:
    """Feature differences (in WEIGHTS' order) between the right candidate of each held-out
    example question and each wrong one, both ways round."""
    rows: list[list[float]] = []
    labels: list[bool] = []
    chunks = load_folder(folder).chunks
    for kb, chunk, question in held_out(chunks, Vocabulary.default()):
        units = kb.index.analyse(question)
        coverage = kb.index.coverage(units)
        ranked = kb.index.rank(units, DEPTH)
        vectors = [[found[name] for name in WEIGHTS] for found in kb.reranker.features(question, ranked, coverage)]
        right = [same_text(chunk.text, kb.chunks[i].text) for i, _ in ranked]
        if not any(right):
            continue
        best = vectors[right.index(True)]
        for vector, is_right in zip(vectors, right):
            if not is_right:
                difference = [a - b for a, b in zip(best, vector)]
                rows += [difference, [-d for d in difference]]
                labels += [True, False]
    return rows, labels


def fit(rows: Sequence[Sequence[float]], labels: Sequence[bool], names: Sequence[str]) -> dict[str, float]:
    """Weights for the features `names` (some of WEIGHTS') from `pairs`' rows."""
    columns = [list(WEIGHTS).index(name) for name in names]
    kept = [[row[c] for c in columns] for row in rows]
    _, *weights = logistic_regression(kept, labels, PENALTY)  # the bias is 0: the rows are symmetric
    return {name: round(w, ROUNDING) for name, w in zip(names, weights)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=Path, default=ROOT / "data" / "policies")
    parser.add_argument("--check", action="store_true", help="exit 1 if rerank.py's weights differ from a fresh fit")
    args = parser.parse_args(argv)
    rows, labels = pairs(args.policies)
    fitted = {"WEIGHTS": fit(rows, labels, list(WEIGHTS)),
              "WEIGHTS_WITHOUT_EXAMPLES": fit(rows, labels, list(WEIGHTS_WITHOUT_EXAMPLES))}
    if args.check:
        shipped = {"WEIGHTS": WEIGHTS, "WEIGHTS_WITHOUT_EXAMPLES": WEIGHTS_WITHOUT_EXAMPLES}
        fresh = all(abs(weights[name] - shipped[key][name]) <= TOLERANCE
                    for key, weights in fitted.items() for name in weights)
        print(f"knowledge/rerank.py weights: {'up to date' if fresh else 'STALE: run tools/fit_reranker.py'}")
        return 0 if fresh else 1
    for name, weights in fitted.items():
        print(f"{name} = {json.dumps(weights)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
