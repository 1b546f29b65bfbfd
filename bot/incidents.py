"""Incident reports in SQLite: the `IncidentBook` the report handlers write through.

Every write is one `BEGIN IMMEDIATE` transaction holding the change, its audit row and
its outbox jobs, so a report is either stored with its SLT notifications queued or not
stored at all (and `NotStored` is raised, which the handler turns into "not received").
References are `INC-<year>-<seq>` from a per-year counter row incremented inside that
transaction: the write lock taken by BEGIN IMMEDIATE serialises concurrent submissions,
and the UNIQUE `dedupe_key` makes a repeated submission return the first incident.

State changes are compare-and-set on `version`, so two SLT members pressing Resolve at
the same moment record one resolution; the loser is told to look again. An action sent
with a `once_key` (a Slack form's view id) is recorded once: the key is UNIQUE in the
audit trail and looked up inside the write transaction, so a retried or double-clicked
note is one note.

Notices are resolved here: "slt" posts go to `Routing.destinations(category)`, "slt"
replies/updates to each SLT post already queued for the incident (they wait in the
outbox until the post exists; none for a post that failed for good, which "Try again"
sends showing the incident as it is then), "dsl" to the routing file's safeguarding leads and
"reporter" to the reporter's own platform. A report made in the terminal (platform
"console") is a local trial: its notices go to the console transport only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from handlers.incident_models import Event, Incident, Notice, NotStored, ReportForm, Repeated
from handlers.models import Actor

from bot import audit, outbox
from bot.config import ConfigError
from bot.delivery import OutboundMessage
from bot.outbox import Outbox
from bot.routing import Destination, Routing
from bot.store import Store

migrations = Migrations("staffbot.incidents")

CONSOLE_SLT = Destination(platform="console", id="slt")
CONSOLE_DSL = Destination(platform="console", id="dsl")


@migrations()
def create_incidents(db: Database) -> None:
    db["incidents"].create(
        {
            "reference": str,
            "year": int,
            "seq": int,
            "dedupe_key": str,
            "created_at": str,
            "category": str,
            "what_happened": str,
            "platform": str,
            "link": str,
            "happened_on": str,
            "people": str,
            "urgent": int,
            "reporter_platform": str,
            "reporter_id": str,
            "reporter_name": str,
            "status": str,
            "acknowledged_by": str,
            "acknowledged_at": str,
            "assignee": str,
            "escalated_to": str,
            "outcome": str,
            "resolved_by": str,
            "resolved_at": str,
            "last_reminder_at": str,
            "version": int,
        },
        pk="reference",
        not_null={"year", "seq", "dedupe_key", "created_at", "category", "what_happened", "status", "version"},
    )
    db["incidents"].create_index(["dedupe_key"], unique=True)
    db["incidents"].create_index(["year", "seq"], unique=True)
    db["incidents"].create_index(["reporter_platform", "reporter_id"])
    db["incidents"].create_index(["status", "created_at"])
    db["incident_counters"].create({"year": int, "last": int}, pk="year")


def iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="seconds")


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def to_row(incident: Incident) -> dict:
    return {
        "reference": incident.reference,
        "created_at": iso(incident.created_at),
        "category": incident.category.value,
        "what_happened": incident.what_happened,
        "platform": incident.platform,
        "link": incident.link,
        "happened_on": incident.when.isoformat(),
        "people": incident.people,
        "urgent": int(incident.urgent),
        "reporter_platform": incident.reporter.platform,
        "reporter_id": incident.reporter.user_id,
        "reporter_name": incident.reporter.name,
        "status": incident.status,
        "acknowledged_by": incident.acknowledged_by,
        "acknowledged_at": iso(incident.acknowledged_at) if incident.acknowledged_at else None,
        "assignee": incident.assignee,
        "escalated_to": incident.escalated_to,
        "outcome": incident.outcome,
        "resolved_by": incident.resolved_by,
        "resolved_at": iso(incident.resolved_at) if incident.resolved_at else None,
        "version": incident.version,
    }


def from_row(row: dict) -> Incident:
    return Incident(
        reference=row["reference"],
        created_at=datetime.fromisoformat(row["created_at"]),
        category=row["category"],
        what_happened=row["what_happened"],
        platform=row["platform"] or "",
        link=row["link"] or "",
        when=date.fromisoformat(row["happened_on"]),
        people=row["people"] or "",
        urgent=bool(row["urgent"]),
        reporter=Actor(platform=row["reporter_platform"], user_id=row["reporter_id"], name=row["reporter_name"] or ""),
        status=row["status"],
        acknowledged_by=row["acknowledged_by"] or "",
        acknowledged_at=_when(row["acknowledged_at"]),
        assignee=row["assignee"] or "",
        escalated_to=row["escalated_to"] or "",
        outcome=row["outcome"] or "",
        resolved_by=row["resolved_by"] or "",
        resolved_at=_when(row["resolved_at"]),
        version=row["version"],
    )


STATE_COLUMNS = (
    "status",
    "acknowledged_by",
    "acknowledged_at",
    "assignee",
    "escalated_to",
    "outcome",
    "resolved_by",
    "resolved_at",
)


class IncidentDB:
    """The SQLite implementation of `handlers.incident_models.IncidentBook`.

    `routing` may be None for read-only use (`staffbot incidents`): records can be read and
    audited without the routing file, but nothing can be announced.
    """

    def __init__(
        self,
        store: Store,
        routing: Routing | None,
        outbox_worker: Outbox | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.store = store
        self.routing = routing
        self.outbox = outbox_worker
        self.clock = clock
        store.migrate([audit.migrations, outbox.migrations, migrations])

    @property
    def db(self) -> Database:
        return self.store.db

    @contextmanager
    def _writing(self) -> Iterator[Database]:
        """One immediate transaction; any SQLite failure becomes NotStored (nothing was written)."""
        try:
            with self.store.immediate() as db:
                yield db
        except sqlite3.Error as exc:
            raise NotStored(f"{self.store.path}: {exc}") from exc
        if self.outbox is not None:
            self.outbox.notify()

    # -- writes ---------------------------------------------------------------------------

    def create(
        self,
        form: ReportForm,
        reporter: Actor,
        dedupe_key: str,
        announce: Callable[[Incident], list[Notice]],
    ) -> tuple[Incident, bool]:
        now = self.clock()
        with self._writing() as db:
            existing = list(db.query("select * from incidents where dedupe_key = ?", [dedupe_key]))
            if existing:
                return from_row(existing[0]), False
            seq = db.execute(
                "insert into incident_counters (year, last) values (?, 1) "
                "on conflict(year) do update set last = last + 1 returning last",
                [now.year],
            ).fetchone()[0]
            incident = Incident(
                reference=f"INC-{now.year}-{seq:04d}",
                created_at=now.replace(microsecond=0),
                reporter=reporter,
                **form.model_dump(),
            )
            db["incidents"].insert({**to_row(incident), "year": now.year, "seq": seq, "dedupe_key": dedupe_key})
            audit.record(
                db, subject=incident.reference, action="created", actor=reporter, at=iso(now),
                detail=incident.category.value + (" urgent" if incident.urgent else ""),
            )
            self._enqueue(db, incident, announce(incident))
        return incident, True

    def save(self, before: Incident, after: Incident, event: Event, notices: list[Notice]) -> bool:
        row = to_row(after)
        assignments = ", ".join(f"{column} = :{column}" for column in STATE_COLUMNS)
        with self._writing() as db:
            self._once(db, event)
            cursor = db.execute(
                f"update incidents set {assignments}, version = version + 1 "
                "where reference = :reference and version = :expected",
                {**{c: row[c] for c in STATE_COLUMNS}, "reference": before.reference, "expected": before.version},
            )
            if cursor.rowcount != 1:
                return False
            self._audit(db, before.reference, event)
            self._enqueue(db, after, notices)
        return True

    def log(self, reference: str, event: Event, notices: list[Notice] | None = None) -> None:
        with self._writing() as db:
            self._once(db, event)
            self._audit(db, reference, event)
            if notices:
                incident = self.get(reference)
                assert incident is not None
                self._enqueue(db, incident, notices)

    def log_system(self, reference: str, action: str, actor: str, detail: str = "") -> None:
        """An audit row by a system actor (the CLI, the reminder job)."""
        with self._writing() as db:
            audit.record(db, subject=reference, action=action, actor=actor, at=iso(self.clock()), detail=detail)

    @staticmethod
    def _once(db: Database, event: Event) -> None:
        """Raise Repeated (rolling the transaction back) for a submission already recorded."""
        if audit.recorded(db, event.once_key) is not None:
            raise Repeated(event.once_key)

    def _audit(self, db: Database, reference: str, event: Event) -> None:
        audit.record(
            db, subject=reference, action=event.action, actor=event.actor, at=iso(self.clock()), detail=event.detail,
            once_key=event.once_key,
        )

    def _enqueue(self, db: Database, incident: Incident, notices: list[Notice]) -> None:
        now = self.clock().timestamp()
        for notice in notices:
            for platform, message, after in self._addressed(db, incident, notice):
                outbox.enqueue(db, platform, message, subject=incident.reference, after=after, now=now)

    def _addressed(self, db: Database, incident: Incident, notice: Notice) -> list[tuple[str, OutboundMessage, int | None]]:
        """(platform, message, job it waits for) for each recipient of a notice."""
        trial = incident.reporter.platform == "console"
        routing = self.routing
        if routing is None:
            raise ConfigError("incident routing was not loaded, so nothing can be announced")
        if notice.to == "reporter":
            who = incident.reporter
            return [(who.platform, OutboundMessage(kind="direct", destination=who.user_id, reply=notice.reply), None)]
        if notice.to == "dsl":
            targets = [CONSOLE_DSL] if trial else routing.dsl
            return [(t.platform, OutboundMessage(kind="direct", destination=t.id, reply=notice.reply), None) for t in targets]
        if notice.kind == "post":
            targets = [CONSOLE_SLT] if trial else routing.destinations(incident.category)
            return [(t.platform, OutboundMessage(kind="post", destination=t.id, reply=notice.reply), None) for t in targets]
        return [
            (post["platform"], OutboundMessage(kind=notice.kind, destination=post["destination"], reply=notice.reply), post["id"])
            for post in outbox.threads(db, incident.reference, notice.delivered_only)
        ]

    def remind(self, incident: Incident, last: datetime | None, reply_notice: Notice, hours: float) -> bool:
        """Record a reminder (audit + last_reminder_at) and queue it in the SLT thread; False, with
        nothing recorded, while no SLT post has been delivered (see `outbox.threads`), or when
        the incident was acknowledged or reminded about since it was read (`last`: its reminder
        time then). Compare-and-set, as `serve slack` and `serve teams` may share the database."""
        if not outbox.threads(self.db, incident.reference, delivered_only=True):
            return False
        now = self.clock()
        with self._writing() as db:
            cursor = db.execute(
                "update incidents set last_reminder_at = ? where reference = ? and status = 'new' "
                "and last_reminder_at is ?",
                [iso(now), incident.reference, iso(last) if last else None],
            )
            if cursor.rowcount != 1:
                return False
            audit.record(db, subject=incident.reference, action="reminded", actor="reminders", at=iso(now),
                         detail=f"not acknowledged after {hours:g} working hours")
            self._enqueue(db, incident, [reply_notice])
            return True

    # -- reads ----------------------------------------------------------------------------

    def get(self, reference: str) -> Incident | None:
        rows = list(self.db.query("select * from incidents where reference = ?", [reference.strip().upper()]))
        return from_row(rows[0]) if rows else None

    def history(self, reference: str) -> list[dict]:
        return audit.chronology(self.db, reference)

    def recorded(self, once_key: str) -> str | None:
        return audit.recorded(self.db, once_key)

    def reported_by(self, reporter: Actor) -> list[Incident]:
        rows = self.db.query(
            "select * from incidents where reporter_platform = ? and reporter_id = ? order by year desc, seq desc",
            [reporter.platform, reporter.user_id],
        )
        return [from_row(row) for row in rows]

    def open_incidents(self) -> list[Incident]:
        rows = self.db.query("select * from incidents where status != 'resolved' order by year, seq")
        return [from_row(row) for row in rows]

    def all(self) -> list[Incident]:
        """Every incident: open ones first (oldest first), then resolved ones (newest first)."""
        rows = self.db.query(
            "select * from incidents order by status = 'resolved', "
            "case when status = 'resolved' then -year else year end, "
            "case when status = 'resolved' then -seq else seq end"
        )
        return [from_row(row) for row in rows]

    def awaiting_acknowledgement(self) -> list[tuple[Incident, datetime | None]]:
        """New incidents with when they were last reminded about, for the reminder job."""
        rows = self.db.query("select * from incidents where status = 'new' order by year, seq")
        return [(from_row(row), _when(row["last_reminder_at"])) for row in rows]
