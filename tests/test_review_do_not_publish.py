"""The do-not-publish list: fuzzy matching of nicknames and typos, and names never leaked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from knowledge.review import DraftInput, Reviewer

RULES = Path(__file__).resolve().parent.parent / "data" / "review"


@pytest.fixture
def reviewer(tmp_path: Path) -> Reviewer:
    listed = tmp_path / "do_not_publish.txt"
    listed.write_text("# learners whose names and images must not be published\nThomas Greene\n\nAaliyah Okonkwo\n")
    return Reviewer.from_folder(RULES, do_not_publish_path=listed)


@pytest.mark.parametrize("written", ["Thomas Greene", "Tom Green", "Tomas Greene", "Tommy Greene", "Aliyah Okonkwo"])
def test_listed_learner_is_found_despite_nickname_or_typo(reviewer: Reviewer, written: str) -> None:
    review = reviewer.review(DraftInput(text=f"Well done to {written} for a fantastic poem!"))
    assert review.reasons == ["learner_identification"]
    assert review.findings[0].span.text == written


@pytest.mark.parametrize("written", ["Tim Greenwood", "Thomas Brown", "Sarah Greene"])
def test_other_names_are_not_the_listed_learner(reviewer: Reviewer, written: str) -> None:
    assert reviewer.review(DraftInput(text=f"Well done to {written} for a fantastic poem!")).verdict == "fine"


def test_listed_learner_in_a_photo_description_is_an_image_finding(reviewer: Reviewer) -> None:
    review = reviewer.review(DraftInput(text="Science week! [Attached: photo of Tom Green with his rocket]"))
    assert set(review.reasons) == {"learner_identification", "image_permission"}
    assert review.findings[0].policy.startswith("must not be on any school list")


def test_names_never_appear_in_repr_or_logs(reviewer: Reviewer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    reviewer.review(DraftInput(text="Congratulations to Thomas Greene!"))
    for shown in (repr(reviewer), str(reviewer), repr(reviewer.do_not_publish), caplog.text):
        assert "Greene" not in shown and "Okonkwo" not in shown and "Thomas" not in shown
    assert "2 names" in repr(reviewer)


def test_without_a_list_nothing_is_matched() -> None:
    reviewer = Reviewer.from_folder(RULES)
    assert reviewer.review(DraftInput(text="Congratulations to Thomas Greene!")).verdict == "fine"
