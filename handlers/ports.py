"""The few things handlers need from the outside world, as small protocols.

`bot/` implements them with SQLite and the knowledge base; tests may pass the real ones
over a temporary database.
"""

from __future__ import annotations

from typing import Protocol

from knowledge.models import Answer

from handlers.models import Actor, Question


class Answerer(Protocol):
    def answer(self, question: str) -> Answer: ...


class QuestionLog(Protocol):
    def record_question(self, question: Question, answer: Answer) -> int:
        """Store an asked question with its outcome; returns its id for feedback buttons."""
        ...

    def question_text(self, question_id: int) -> str | None: ...

    def record_feedback(self, question_id: int, actor: Actor, helpful: bool) -> bool:
        """Store one vote per person per question; False if the question is unknown."""
        ...

    def mark_sent_to_owner(self, question_id: int, actor: Actor) -> bool:
        """Flag an unanswered question for the policy owner; False if already flagged or unknown."""
        ...
