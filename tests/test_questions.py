from handlers.models import Actor, Question
from knowledge.models import Answer, Chunk, Match

from bot.questions import QuestionLogDB
from bot.store import Store

ALICE = Actor(platform="slack", user_id="U1", name="Alice")
BOB = Actor(platform="teams", user_id="aad-2", name="Bob")
CHUNK = Chunk(id="p.txt:3", document="p.txt", section=("Tone",), text="Be kind.", line_start=3, line_end=3)


def log(tmp_path) -> QuestionLogDB:
    return QuestionLogDB(Store(tmp_path / "q.db"))


def test_records_questions_with_outcome(tmp_path):
    questions = log(tmp_path)
    answered = Answer(question="q", answered=True, confidence=0.9, matches=[Match(chunk=CHUNK, score=0.9)])
    qid = questions.record_question(Question(actor=ALICE, text="tone?"), answered)
    qid2 = questions.record_question(
        Question(actor=BOB, text="parking permit?"), Answer(question="q", answered=False, confidence=0.1)
    )
    assert questions.question_text(qid) == "tone?"
    row = questions.store.db["questions"].get(qid)
    assert (row["top_section"], row["answered"], row["platform"]) == ("Tone", 1, "slack")
    assert [r["id"] for r in questions.unanswered()] == [qid2]


def test_feedback_is_one_vote_per_person(tmp_path):
    questions = log(tmp_path)
    qid = questions.record_question(Question(actor=ALICE, text="tone?"), Answer(question="q", answered=True, confidence=1))
    assert questions.record_feedback(qid, ALICE, True)
    assert questions.record_feedback(qid, ALICE, False)
    assert questions.record_feedback(qid, BOB, False)
    votes = {r["voter"]: r["helpful"] for r in questions.store.db["feedback"].rows}
    assert votes == {"slack:U1": 0, "teams:aad-2": 0}


def test_feedback_for_unknown_question_is_refused(tmp_path):
    assert not log(tmp_path).record_feedback(404, ALICE, True)


def test_passing_to_owner_happens_once(tmp_path):
    questions = log(tmp_path)
    qid = questions.record_question(Question(actor=ALICE, text="x?"), Answer(question="q", answered=False, confidence=0))
    assert questions.mark_sent_to_owner(qid, ALICE)
    assert not questions.mark_sent_to_owner(qid, BOB)
    assert not questions.mark_sent_to_owner(999, BOB)
    assert questions.unanswered()[0]["sent_to_owner_at"]
