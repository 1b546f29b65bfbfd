"""Retrieval and answers on the shipped policy: vocabulary, typos, rejection, next steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import KnowledgeBase
from knowledge.models import Chunk
from knowledge.vocabulary import Vocabulary
from knowledge_fixtures import policy_folder


def _top(kb: KnowledgeBase, question: str) -> str:
    return kb.answer(question).matches[0].chunk.text


def test_vocabulary_maps_staff_words_onto_policy_words(tmp_path: Path) -> None:
    # "ex-student" and "befriend"-style wording never appear in the policy text.
    kb = KnowledgeBase.from_folder(policy_folder(tmp_path / "policies"))
    assert "prior learners" in _top(kb, "Can I add a former student as a friend on my personal Facebook?")
    assert "journalist" in _top(kb, "A newspaper reporter messaged me about a post. What do I do?")


def test_vocabulary_expansion_finds_what_plain_words_miss(tmp_path: Path) -> None:
    bare = policy_folder(tmp_path / "policies")  # without its topics file
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    question = "Can I add a former student as a friend on my personal Facebook?"
    assert "prior learners" not in _top(KnowledgeBase.from_folder(bare, Vocabulary.load(empty)), question)
    assert "prior learners" in _top(KnowledgeBase.from_folder(bare), question)


def test_typos_are_repaired(kb: KnowledgeBase) -> None:
    units = {u.label for u in kb.index.analyse("Does the polcy say anything about a collegue?")}
    assert {"policy", "colleague"} <= units
    assert "subject to abuse by colleagues" in _top(kb, "a collegue is being harrassed in a group chat")


def test_real_words_are_not_corrected_into_policy_words(kb: KnowledgeBase) -> None:
    labels = {u.label for u in kb.index.analyse("careers advice for pupils who wear glasses")}
    assert "careers" in labels and "carers" not in labels
    assert "wear" in labels and "swear" not in labels


@pytest.mark.parametrize("question", [
    "How do I claim mileage for the museum trip?",
    "Where is the fire evacuation procedure kept?",
    "When are the Year 9 mock exams?",
    "How do I order more printer toner?",
    "Is there a discount for the staff gym?",
])
def test_clearly_unrelated_questions_are_not_answered(kb: KnowledgeBase, question: str) -> None:
    answer = kb.answer(question)
    assert not answer.answered
    assert answer.confidence < 0.5
    assert len(answer.closest_sections) <= 3
    assert len(set(answer.closest_sections)) == len(answer.closest_sections)


def test_unanswered_questions_suggest_the_closest_sections(kb: KnowledgeBase) -> None:
    answer = kb.answer("Where is the fire evacuation procedure kept?")
    assert not answer.answered
    assert 1 <= len(answer.closest_sections) <= 3
    assert answer.closest_sections[0] == answer.matches[0].chunk.section_path  # "procedures"


def test_policy_questions_are_answered_with_their_section(kb: KnowledgeBase) -> None:
    answer = kb.answer("Who approves creating a new school account?")
    assert answer.answered and answer.confidence >= 0.5
    assert answer.matches[0].chunk.text in {"approve account creation", "create the account following SLT approval"}
    assert answer.matches[0].chunk.section_path.endswith("Roles & Responsibilities")
    assert 1 <= len(answer.matches) <= 3
    assert all(0.0 <= m.score <= 1.0 for m in answer.matches)
    assert answer.closest_sections == []


@pytest.mark.parametrize(("question", "step"), [
    ("Someone is posting racist comments under our page, what do I do?", "report"),
    ("A journalist rang me about a tweet", "report"),
    ("I think our school account has been hacked", "report"),
    ("Can I post this photo of the football team?", "second_opinion"),
    ("Here is my draft for the newsletter post, is this ok?", "second_opinion"),
    ("How often should school accounts be monitored?", None),
])
def test_next_step(kb: KnowledgeBase, question: str, step: str | None) -> None:
    assert kb.answer(question).next_step == step


def _chunk(line: int, section: str, text: str) -> Chunk:
    return Chunk(id=str(line), document="d.txt", section=(section,), text=text, line_start=line, line_end=line)


@pytest.mark.parametrize(("runner_up_section", "ambiguous"), [("Trips", True), ("Photos", False)])
def test_ambiguous_when_a_passage_elsewhere_is_about_as_likely(runner_up_section: str, ambiguous: bool) -> None:
    kb = KnowledgeBase([_chunk(1, "Photos", "Staff photographs of pupils at sports fixtures need parental consent first."),
                        _chunk(2, runner_up_section, "For sports fixtures, parental consent comes first: staff photographs of pupils."),
                        _chunk(3, "Trips", "Coaches leave at nine for residential trips abroad."),
                        _chunk(4, "Other", "Mileage claims and printer toner orders go to the office.")], Vocabulary())
    answer = kb.answer("staff photographs of pupils at sports fixtures consent")
    assert answer.answered and answer.matches[1].score >= 0.5 * answer.matches[0].score
    assert answer.ambiguous is ambiguous


def test_find_passage_ignores_case_space_and_curly_quotes(kb: KnowledgeBase) -> None:
    chunk = kb.find_passage("don't  USE social media to air internal grievances")
    assert chunk is not None and chunk.text == "Don’t use social media to air internal grievances"
    assert kb.find_passage("this sentence is not in the policy") is None
    assert kb.find_passage("   ") is None


def test_sections_and_describe(kb: KnowledgeBase) -> None:
    sections = kb.sections()
    assert ("social-media-policy.txt", "Personal use › Pupil/Students", 3) in sections
    assert sum(n for _, _, n in sections) == len(kb.chunks)
    lines = kb.describe()
    assert lines[0] == f"social-media-policy.txt ({len(kb.chunks)} passages, {sum(bool(c.topics) for c in kb.chunks)} with topics)"


def test_search_returns_k_best_first(kb: KnowledgeBase) -> None:
    matches = kb.search("store account passwords securely", k=2)
    assert len(matches) == 2
    assert "passwords securely" in matches[0].chunk.text
    assert matches[0].score == 1.0 >= matches[1].score


def test_from_folder_without_documents_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no policy could be loaded"):
        KnowledgeBase.from_folder(tmp_path)


def test_malformed_vocabulary_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "vocab.toml"
    bad.write_text("[concepts\n", encoding="utf-8")
    with pytest.raises(ValueError, match="vocab.toml"):
        Vocabulary.load(bad)


def _on_topic(kb: KnowledgeBase, question: str) -> bool:
    return kb.on_topic(question, kb.index.analyse(question))


def test_questions_off_the_policy_subject_need_a_closer_match(kb: KnowledgeBase) -> None:
    assert _on_topic(kb, "Can I post the photos from sports day on Insta?")
    assert not _on_topic(kb, "When do support staff get their payslips each month?")
    assert not kb.answer("When do support staff get their payslips each month?").answered
    blank = KnowledgeBase(kb.chunks, Vocabulary())  # no topic list: nothing is off topic
    assert _on_topic(blank, "When do support staff get their payslips each month?")


def test_a_question_about_this_policy_is_on_topic_but_not_any_policy(kb: KnowledgeBase) -> None:
    assert _on_topic(kb, "Who is this policy meant for?")
    assert not _on_topic(kb, "What's the policy on staff parking?")


def test_words_the_policy_never_uses_lower_confidence(kb: KnowledgeBase) -> None:
    share = {q: kb.index.covered_share(kb.index.analyse(q))
             for q in ("can I post photos of kids", "can I post photos of the new boiler")}
    assert share["can I post photos of kids"] == 1.0
    assert 0 < share["can I post photos of the new boiler"] < 1.0
    assert kb.answer("can I post photos of kids").confidence > kb.answer("can I post photos of the new boiler").confidence


def test_closeness_to_an_example_question_raises_confidence(kb: KnowledgeBase) -> None:
    asked = "Can I accept a friend request from a Year 9 on Facebook?"
    reading = kb.read(asked)
    assert reading.described
    features = kb.features(reading)
    assert features["closeness"] == max(found["closeness"] for found in reading.evidence) > 0
    assert kb.confidence(features) > kb.confidence(features | {"closeness": 0.0})


def test_a_policy_without_topics_is_calibrated_without_closeness(kb: KnowledgeBase) -> None:
    bare = KnowledgeBase([c.model_copy(update={"topics": ()}) for c in kb.chunks], kb.vocabulary)
    reading = bare.read("Who must approve account creation?")
    assert not reading.described and {found["closeness"] for found in reading.evidence} == {0.0}
    answer = bare.answer("Who must approve account creation?")
    assert answer.answered and answer.matches[0].chunk.text == "approve account creation"
    assert answer.confidence == bare.confidence(bare.features(reading), described=False)
