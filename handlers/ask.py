"""Answer a policy question: the passage, its section and the next step."""

from __future__ import annotations

from pathlib import PurePath

from knowledge.models import Answer

from handlers import actions, messages
from handlers.models import Actor, Button, Passage, Question, Reply
from handlers.ports import Answerer, QuestionLog


def document_title(document: str) -> str:
    """'social-media-policy.txt' -> 'Social media policy'."""
    stem = PurePath(document).stem.replace("-", " ").replace("_", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else document


def ask(question: Question, kb: Answerer, log: QuestionLog) -> Reply:
    """Answer `question` from the knowledge base and record it (unanswered ones for the policy owner)."""
    answer = kb.answer(question.text)
    question_id = log.record_question(question, answer)
    if not answer.answered:
        return _not_covered(answer, question_id)
    return _answered(answer, question_id)


def _passages(answer: Answer) -> list[Passage]:
    """The matches as shown: a lead-in already on screen (as a passage or another's lead-in, in
    the same document and section) is not repeated above the next bullet."""
    passages: list[Passage] = []
    shown: set[tuple[str, str, str]] = set()  # (document, section, text): the same words elsewhere are another list
    for m in answer.matches:
        where = (m.chunk.document, m.chunk.section_path)
        lead_in = "" if (*where, m.chunk.context) in shown else m.chunk.context
        passages.append(Passage(text=m.chunk.text, document=document_title(m.chunk.document),
                                section=m.chunk.section_path, score=round(m.score, 3), lead_in=lead_in))
        shown |= {(*where, m.chunk.text), (*where, m.chunk.context)}
    return passages


def _next_step(answer: Answer, ref: str) -> tuple[list[str], list[Button]]:
    """The note and button for what the question describes, whether or not the policy covers it:
    a hacked account is still something to report when no passage answers it."""
    if answer.next_step == "report":
        button = Button(action=actions.OPEN_REPORT, label="Report an incident", value=ref, style="primary")
        return [messages.NEXT_STEP_REPORT], [button]
    if answer.next_step == "second_opinion":
        button = Button(action=actions.OPEN_SECOND_OPINION, label="Ask for a second opinion", value=ref, style="primary")
        return [messages.NEXT_STEP_SECOND_OPINION], [button]
    return [], []


def _answered(answer: Answer, question_id: int) -> Reply:
    ref = str(question_id)
    notes, next_buttons = _next_step(answer, ref)
    buttons = [
        Button(action=actions.FEEDBACK_HELPFUL, label="Helpful", value=ref),
        Button(action=actions.FEEDBACK_NOT_HELPFUL, label="Not helpful", value=ref),
        *next_buttons,
    ]
    return Reply(
        kind="answer",
        title=messages.ANSWER_TITLE,
        text=messages.AMBIGUOUS if answer.ambiguous else "",
        passages=_passages(answer),
        notes=notes,
        buttons=buttons,
    )


def _not_covered(answer: Answer, question_id: int) -> Reply:
    ref = str(question_id)
    notes, next_buttons = _next_step(answer, ref)
    if answer.closest_sections:
        notes.insert(0, messages.did_you_mean(answer.closest_sections))
    return Reply(
        kind="not_covered",
        title=messages.NOT_COVERED_TITLE,
        text=messages.NOT_COVERED,
        notes=notes,
        buttons=[Button(action=actions.SEND_TO_OWNER, label="Pass to the policy owner", value=ref), *next_buttons],
    )


def feedback(actor: Actor, question_id: int, helpful: bool, log: QuestionLog) -> Reply:
    """Record a Helpful / Not helpful vote and thank the person."""
    if not log.record_feedback(question_id, actor, helpful):
        return Reply(kind="error", text=messages.UNKNOWN_QUESTION, private=True)
    return Reply(kind="confirmation", text=messages.THANKS_HELPFUL if helpful else messages.THANKS_NOT_HELPFUL)


def pass_to_owner(actor: Actor, question_id: int, log: QuestionLog) -> tuple[Reply, Reply | None]:
    """Flag an unanswered question for the policy owner.

    Returns the confirmation for the person and the notice to post in the SLT channel
    (None when it was already passed on, so a double click posts once).
    """
    text = log.question_text(question_id)
    if text is None:
        return Reply(kind="error", text=messages.UNKNOWN_QUESTION, private=True), None
    if not log.mark_sent_to_owner(question_id, actor):
        return Reply(kind="confirmation", text=messages.ALREADY_PASSED_ON, private=True), None
    notice = Reply(
        kind="info",
        title=messages.OWNER_NOTICE_TITLE,
        text=text,
        notes=[messages.owner_notice_asked_by(actor)],
    )
    return Reply(kind="confirmation", text=messages.PASSED_ON, private=True), notice
