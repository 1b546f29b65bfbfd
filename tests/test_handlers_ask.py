"""handlers/ask.py on the shipped knowledge base and a real SQLite question log.

The next step (report / second opinion) decides which button every platform shows, so it
is checked here once, through the handler, rather than per platform.
"""

from __future__ import annotations

import pytest

from bot.questions import QuestionLogDB
from bot.store import Store
from handlers import actions, messages
from handlers.ask import ask, document_title, feedback, pass_to_owner
from handlers.models import Actor, Question
from knowledge import KnowledgeBase
from knowledge_fixtures import SAMPLE_TXT

ANN = Actor(platform="slack", user_id="U1", name="Ann")
BEN = Actor(platform="teams", user_id="aad-2", name="Ben")
FEEDBACK = [actions.FEEDBACK_HELPFUL, actions.FEEDBACK_NOT_HELPFUL]


@pytest.fixture
def log(tmp_path):
    store = Store(tmp_path / "questions.db")
    yield QuestionLogDB(store)
    store.close()


def question(text: str, actor: Actor = ANN) -> Question:
    return Question(actor=actor, text=text)


def first_buttons(reply) -> list[str]:
    """Feedback on an answer, "pass to the policy owner" when the policy doesn't cover it."""
    return FEEDBACK if reply.kind == "answer" else [actions.SEND_TO_OWNER]


@pytest.mark.parametrize(
    "text",
    [
        "Someone is posting racist comments under our page, what do I do?",
        "A journalist rang me about a tweet",
        "I think our school account has been hacked",
    ],
)
def test_something_to_report_ends_with_the_report_button_carrying_the_question(kb, log, text):
    reply = ask(question(text), kb, log)
    assert reply.notes[-1] == messages.NEXT_STEP_REPORT
    assert [b.action for b in reply.buttons] == [*first_buttons(reply), actions.OPEN_REPORT]
    report = reply.buttons[-1]
    assert (report.label, report.style) == ("Report an incident", "primary")
    assert log.question_text(int(report.value)) == text  # the form is pre-filled from it


@pytest.mark.parametrize(
    "text",
    ["Can I post this photo of the football team?", "Here is my draft for the newsletter post, is this ok?"],
)
def test_something_about_to_be_published_ends_with_the_second_opinion_button(kb, log, text):
    reply = ask(question(text), kb, log)
    assert reply.notes[-1] == messages.NEXT_STEP_SECOND_OPINION
    assert [b.action for b in reply.buttons] == [*first_buttons(reply), actions.OPEN_SECOND_OPINION]
    assert log.question_text(int(reply.buttons[-1].value)) == text


@pytest.mark.parametrize(
    ("text", "step", "action"),
    [
        ("I think our school account has been hacked", messages.NEXT_STEP_REPORT, actions.OPEN_REPORT),
        ("Can I post this photo of the football team?", messages.NEXT_STEP_SECOND_OPINION, actions.OPEN_SECOND_OPINION),
    ],
)
def test_the_next_step_is_offered_even_when_the_policy_has_no_passage_for_it(tmp_path, log, text, step, action):
    (tmp_path / "p.txt").write_text(SAMPLE_TXT, encoding="utf-8")
    small = KnowledgeBase.from_folder(tmp_path)  # roles and photos only
    assert not small.answer(text).answered
    reply = ask(question(text), small, log)
    assert reply.kind == "not_covered" and reply.notes[-1] == step
    assert [b.action for b in reply.buttons] == [actions.SEND_TO_OWNER, action]


def test_a_plain_policy_question_has_no_next_step(kb, log):
    reply = ask(question("How often should school accounts be monitored?"), kb, log)
    assert reply.kind == "answer" and reply.notes == []
    assert [b.action for b in reply.buttons] == FEEDBACK
    assert len({b.value for b in reply.buttons}) == 1


@pytest.mark.parametrize(
    "text",
    [
        "Who approves creating a new school account?",
        "Can I accept a friend request from a former pupil?",
        "Can I block someone on the school page?",
    ],
)
def test_passages_are_the_verbatim_matches_with_document_title_and_section(kb, log, text):
    answer = kb.answer(text)
    reply = ask(question(text), kb, log)
    assert 1 <= len(reply.passages) <= 3
    assert [(p.text, p.section, p.score) for p in reply.passages] == [
        (m.chunk.text, m.chunk.section_path, round(m.score, 3)) for m in answer.matches
    ]
    assert {p.document for p in reply.passages} == {"Social media policy"}
    assert reply.text == (messages.AMBIGUOUS if answer.ambiguous else "")


def test_an_uncovered_question_says_so_suggests_sections_and_is_logged(kb, log):
    text = "Where is the fire evacuation procedure kept?"
    answer = kb.answer(text)
    reply = ask(question(text), kb, log)
    assert (reply.kind, reply.title, reply.text) == ("not_covered", messages.NOT_COVERED_TITLE, messages.NOT_COVERED)
    assert reply.passages == []
    assert reply.notes == [messages.did_you_mean(answer.closest_sections)]
    [button] = reply.buttons
    assert button.action == actions.SEND_TO_OWNER
    [row] = log.unanswered()
    assert (row["id"], row["question"], row["sent_to_owner_at"]) == (int(button.value), text, None)


def test_answered_questions_are_logged_but_not_as_unanswered(kb, log):
    ask(question("Who approves creating a new school account?"), kb, log)
    assert log.store.db["questions"].count == 1
    assert log.unanswered() == []


def test_feedback_through_the_handler_is_one_vote_per_person(kb, log):
    reply = ask(question("How often should school accounts be monitored?"), kb, log)
    qid = int(reply.buttons[0].value)
    assert feedback(ANN, qid, True, log).text == messages.THANKS_HELPFUL
    assert feedback(ANN, qid, False, log).text == messages.THANKS_NOT_HELPFUL
    assert feedback(BEN, qid, False, log).kind == "confirmation"
    votes = {r["voter"]: r["helpful"] for r in log.store.db["feedback"].rows}
    assert votes == {"slack:U1": 0, "teams:aad-2": 0}
    unknown = feedback(ANN, qid + 100, True, log)
    assert (unknown.kind, unknown.text, unknown.private) == ("error", messages.UNKNOWN_QUESTION, True)


def test_passing_to_the_owner_posts_one_notice_with_the_question_and_who_asked(kb, log):
    text = "How do I order more printer toner?"
    qid = int(ask(question(text, BEN), kb, log).buttons[0].value)
    confirmation, notice = pass_to_owner(BEN, qid, log)
    assert confirmation.text == messages.PASSED_ON and confirmation.private
    assert notice is not None
    assert (notice.title, notice.text, notice.notes) == (
        messages.OWNER_NOTICE_TITLE, text, [messages.owner_notice_asked_by(BEN)]
    )  # fmt: skip
    again, second = pass_to_owner(ANN, qid, log)
    assert (again.text, second) == (messages.ALREADY_PASSED_ON, None)
    assert pass_to_owner(ANN, qid + 100, log)[0].text == messages.UNKNOWN_QUESTION
    assert log.unanswered()[0]["sent_to_owner_at"]


def test_document_titles_are_readable():
    assert document_title("social-media-policy.txt") == "Social media policy"
    assert document_title("Acceptable_Use.docx") == "Acceptable Use"
    assert document_title(".pdf") == ".pdf"


def test_a_question_with_emoji_sequences_is_read(kb, log):
    text = "Can we post a 🏳️‍🌈 for Pride month on the school insta? 👨‍👩‍👧"
    assert question(text).text == text  # joiners and variation selectors are text, not junk
    assert ask(question(text), kb, log).kind == "answer"


def test_a_bullet_is_shown_under_its_lead_in_once(tmp_path, log):
    (tmp_path / "p.txt").write_text(SAMPLE_TXT, encoding="utf-8")
    small = KnowledgeBase.from_folder(tmp_path)
    reply = ask(question("Does SLT approve account creation and lead investigations?"), small, log)
    slt = [(p.text, p.lead_in) for p in reply.passages if p.text in ("approve account creation", "lead investigations")]
    assert len(slt) == 2 and [lead_in for _, lead_in in slt] == ["SLT", ""]


def test_the_same_lead_in_in_another_document_is_shown_again(tmp_path, log):
    lead_in = "Before anything is posted, members of staff must make sure that:"
    for name, bullet in (("photo-policy.txt", "- photo consent forms are on file"),
                         ("messaging-policy.txt", "- message consent forms are on file")):
        (tmp_path / name).write_text(f"Posting\n\n{lead_in}\n\n{bullet}\n", encoding="utf-8")
    text = "Are photo consent forms and message consent forms on file before anything is posted?"
    reply = ask(question(text), KnowledgeBase.from_folder(tmp_path), log)
    bullets = [p for p in reply.passages if "consent forms" in p.text]
    assert len(bullets) == 2 and all(p.lead_in == lead_in for p in bullets)
