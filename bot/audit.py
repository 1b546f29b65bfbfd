"""The append-only audit trail of every action on a safeguarding record.

Rows can be inserted but never changed: SQLite triggers abort any UPDATE or DELETE, so
even a bug or a hand-run query cannot rewrite the chronology.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from handlers.models import Actor

migrations = Migrations("staffbot.audit")

ACTIONS = frozenset(
    {
        "created",
        "viewed",
        "routed",
        "acknowledged",
        "assigned",
        "noted",
        "escalated",
        "resolved",
        "refused",
        "exported",
        "requested",
        "approved",
        "changes_requested",
        "rejected",
        "reminded",
        "delivery_failed",
        "delivery_retried",
    }
)


@migrations()
def create_audit(db: Database) -> None:
    db["audit"].create(
        {"id": int, "at": str, "subject": str, "action": str, "actor": str, "detail": str},
        pk="id",
        not_null={"at", "subject", "action", "actor"},
    )
    db["audit"].create_index(["subject", "id"])
    db.execute(
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'audit rows cannot be changed'); END"
    )
    db.execute(
        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'audit rows cannot be deleted'); END"
    )


@migrations()
def add_once_key(db: Database) -> None:
    """The submission an action came from, when it can arrive twice: UNIQUE, so it is recorded once."""
    db["audit"].add_column("once_key", str)
    db.execute("CREATE UNIQUE INDEX audit_once_key ON audit (once_key) WHERE once_key IS NOT NULL")


def record(
    db: Database, *, subject: str, action: str, actor: Actor | str, at: str, detail: str = "", once_key: str = ""
) -> None:
    """Append one audit row; call it inside the same `db.atomic()` as the change it records.

    `subject` is the record's reference (e.g. INC-2026-0042 or SO-2026-0007); `actor` an
    `Actor` or a system name such as "outbox"; `once_key` see `recorded()`.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    who = actor.key if isinstance(actor, Actor) else actor
    db["audit"].insert({"at": at, "subject": subject, "action": action, "actor": who, "detail": detail,
                        "once_key": once_key or None})


def recorded(db: Database, once_key: str) -> str | None:
    """The action recorded from the submission `once_key`, if any: ask inside the write
    transaction that would record it, so a copy arriving at the same moment waits and sees it."""
    row = db.execute("select action from audit where once_key = ?", [once_key]).fetchone() if once_key else None
    return row[0] if row else None


def chronology(db: Database, subject: str) -> list[dict]:
    """Every audit row for one record, oldest first."""
    return list(db.query("select at, action, actor, detail from audit where subject = ? order by id", [subject]))
