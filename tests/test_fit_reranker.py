"""tools/fit_reranker.py: pairwise rows from held-out example questions, and the shipped weights."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from knowledge.rerank import WEIGHTS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import fit_reranker  # noqa: E402

POLICY = """Photos

Photographs of pupils need parental consent before they go online.

Comments

Reply to comments on school pages politely and promptly.
"""
TOPICS = """[[passage]]
match = "Photographs of pupils need parental consent"
questions = ["can I put photographs of pupils on the page", "do photographs of pupils need consent first",
  "is parental consent needed for pupil pictures", "are photos of the fair okay to share online",
  "which photos of children need permission", "can we post the school play photos"]

[[passage]]
match = "Reply to comments on school pages"
questions = ["how fast should we reply to comments", "is it ok to reply to comments late at night",
  "do we reply to rude comments politely", "someone commented on our page what now",
  "should every comment on the page get an answer", "how polite do replies to parents have to be"]
"""


def test_rows_are_the_right_candidate_minus_a_wrong_one_both_ways_round(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(POLICY, encoding="utf-8")
    (tmp_path / "p.topics.toml").write_text(TOPICS, encoding="utf-8")
    rows, labels = fit_reranker.pairs(tmp_path)
    assert rows and len(rows) == len(labels) and len(rows[0]) == len(WEIGHTS)
    for (ahead, label), (behind, flipped) in zip(zip(rows[::2], labels[::2]), zip(rows[1::2], labels[1::2])):
        assert (label, flipped) == (True, False) and behind == [-d for d in ahead]
    weights = fit_reranker.fit(rows, labels, list(WEIGHTS))
    assert weights["support"] > 0  # the passage whose example questions are closest tends to be the right one
    assert list(fit_reranker.fit(rows, labels, ["coverage"])) == ["coverage"]


def test_the_shipped_weights_are_a_fresh_fit() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "fit_reranker.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
