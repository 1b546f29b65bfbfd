"""Loading rules: the shipped folder loads, bad data is refused with the file named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.review import REASONS, Reviewer, RulesError, evaluate_drafts, load_rules
from knowledge_fixtures import rules_folder

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "data" / "review"


def test_shipped_rules_cover_every_reason() -> None:
    rules = load_rules(RULES)
    assert set(rules.policies) == set(REASONS)
    assert (RULES / "README.md").exists()


def test_unknown_reason_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text('reason = "rudeness"\npolicy = "Be respectful to all parties"\n')
    with pytest.raises(RulesError, match="x.toml"):
        load_rules(tmp_path)


def test_bad_pattern_and_empty_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RulesError):
        load_rules(tmp_path)
    (tmp_path / "x.toml").write_text('reason = "offensive"\npolicy = "p"\n[[rules]]\nmatch = ["(unclosed"]\n')
    with pytest.raises(RulesError, match="bad pattern"):
        load_rules(tmp_path)


def test_a_school_can_extend_a_list(tmp_path: Path) -> None:
    rules_folder(tmp_path)
    with (tmp_path / "offensive.toml").open("a", encoding="utf-8") as extra:
        extra.write("\n[[rules]]\nwords = [\"wazzock\"]\n")
    from knowledge.review import DraftInput

    assert Reviewer.from_folder(tmp_path).review(DraftInput(text="What a wazzock.")).reasons == ["offensive"]


@pytest.mark.parametrize("name", ["data/eval/drafts_dev.json", "tests/review_extra_drafts.json"])
def test_labelled_drafts_meet_the_targets(name: str) -> None:
    report = evaluate_drafts(Reviewer.from_folder(RULES), json.loads((ROOT / name).read_text(encoding="utf-8")))
    assert report.recall >= 0.9 and report.precision >= 0.85, "\n".join(report.summary_lines())


def test_a_macro_with_alternatives_stays_one_alternative() -> None:
    from knowledge.review.rules import compile_patterns

    pattern = compile_patterns(["{PET}s? for sale"], {"PET": "cat|dog"})
    assert pattern is not None
    assert pattern.search("dogs for sale") and not pattern.search("a cat nap")
