"""Asked questions, feedback votes and the unanswered list for the policy owner."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from sqlite_utils.migrations import Migrations

from handlers.models import Actor, Question
from knowledge.models import Answer

from bot.store import Store

migrations = Migrations("staffbot.questions")


@migrations()
def create_questions(db) -> None:
    db["questions"].create(
        {
            "id": int,
            "asked_at": str,
            "platform": str,
            "user_id": str,
            "question": str,
            "answered": int,
            "confidence": float,
            "top_chunk": str,
            "top_section": str,
            "sent_to_owner_by": str,
            "sent_to_owner_at": str,
        },
        pk="id",
    )
    db["questions"].create_index(["answered", "asked_at"])
    db["feedback"].create(
        {"question_id": int, "voter": str, "helpful": int, "voted_at": str},
        pk=("question_id", "voter"),
        foreign_keys=[("question_id", "questions", "id")],
    )


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class QuestionLogDB:
    """The SQLite implementation of `handlers.ports.QuestionLog`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.migrate([migrations])

    def record_question(self, question: Question, answer: Answer) -> int:
        top = answer.matches[0].chunk if answer.matches else None
        row = {
            "asked_at": now_utc(),
            "platform": question.actor.platform,
            "user_id": question.actor.user_id,
            "question": question.text,
            "answered": int(answer.answered),
            "confidence": round(answer.confidence, 4),
            "top_chunk": top.id if top else None,
            "top_section": top.section_path if top else None,
        }
        return self.store.db["questions"].insert(row).last_pk

    def question_text(self, question_id: int) -> str | None:
        rows = list(self.store.db.query("select question from questions where id = ?", [question_id]))
        return rows[0]["question"] if rows else None

    def record_feedback(self, question_id: int, actor: Actor, helpful: bool) -> bool:
        try:
            self.store.db["feedback"].upsert(
                {"question_id": question_id, "voter": actor.key, "helpful": int(helpful), "voted_at": now_utc()},
                pk=("question_id", "voter"),
            )
        except sqlite3.IntegrityError:
            return False
        return True

    def mark_sent_to_owner(self, question_id: int, actor: Actor) -> bool:
        cursor = self.store.db.execute(
            "update questions set sent_to_owner_by = ?, sent_to_owner_at = ? "
            "where id = ? and sent_to_owner_at is null",
            [actor.key, now_utc(), question_id],
        )
        return cursor.rowcount == 1

    def unanswered(self, limit: int = 200) -> list[dict]:
        """The newest questions the policy did not cover, for the policy owner."""
        return list(
            self.store.db.query(
                "select id, asked_at, question, confidence, top_section, sent_to_owner_at "
                "from questions where answered = 0 order by id desc limit ?",
                [limit],
            )
        )

    def feedback_summary(self) -> list[dict]:
        """Answers people found unhelpful, so the policy owner can improve them."""
        return list(
            self.store.db.query(
                "select q.id, q.question, q.top_section, f.helpful, f.voted_at from feedback f "
                "join questions q on q.id = f.question_id order by f.voted_at desc"
            )
        )
