import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from db_lock import BUSY_SECONDS, write_locked

from bot import audit
from bot.incidents import IncidentDB
from bot.outbox import Outbox
from bot.routing import Routing, RoutingFile
from bot.store import Store
from handlers import messages
from handlers.incident_models import Event, Incident, Notice, NotStored, ReportForm
from handlers.models import Actor, Reply
from handlers.report import submit_report

REPORTER = Actor(platform="slack", user_id="U1", name="Ann")
FORM = ReportForm(category="bullying", what_happened="Comments under the sports day post")


def make_book(path, **store_kw) -> IncidentDB:
    store = Store(path, **store_kw)
    routing = Routing(RoutingFile(), slt_channel="CSLT")
    return IncidentDB(store, routing, Outbox(store))


@pytest.fixture
def book(tmp_path):
    b = make_book(tmp_path / "i.db")
    yield b
    b.store.close()


def counts(book) -> tuple[int, int, int]:
    db = book.store.db
    return db["incidents"].count, db["outbox"].count, db["audit"].count


def test_incident_audit_and_slt_post_are_stored_together(book):
    submission = submit_report(FORM, REPORTER, "slack:view:V1", book)
    assert submission.stored and submission.created
    assert submission.reference == f"INC-{datetime.now(timezone.utc).year}-0001"
    assert counts(book) == (1, 1, 1)
    job = next(book.store.db["outbox"].rows)
    assert (job["platform"], job["kind"], job["destination"], job["subject"]) == (
        "slack", "post", "CSLT", submission.reference
    )
    assert [r["action"] for r in audit.chronology(book.store.db, submission.reference)] == ["created"]
    stored = book.get(submission.reference)
    assert stored.what_happened == FORM.what_happened and stored.reporter == REPORTER


def test_a_failure_while_queueing_leaves_nothing_stored(book):
    def broken_announce(incident: Incident) -> list[Notice]:
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(NotStored):
        book.create(FORM, REPORTER, "k", broken_announce)
    assert counts(book) == (0, 0, 0)
    # and the counter did not move either: the next report is still number 1
    assert submit_report(FORM, REPORTER, "k2", book).reference.endswith("-0001")


def test_the_same_submission_twice_is_one_incident_with_the_same_reference(book):
    first = submit_report(FORM, REPORTER, "slack:view:V9", book)
    again = submit_report(FORM, REPORTER, "slack:view:V9", book)
    assert again.reference == first.reference
    assert (first.created, again.created) == (True, False)
    assert again.stored
    assert counts(book) == (1, 1, 1)


def test_200_concurrent_submissions_get_200_unique_references(tmp_path):
    book = make_book(tmp_path / "c.db", timeout=30)
    book.store.db  # migrate on this thread first
    start = threading.Barrier(20)

    def submit(n: int) -> str:
        if n < 20:
            start.wait()
        return submit_report(FORM, REPORTER, f"console:{n}", book).reference

    with ThreadPoolExecutor(max_workers=20) as pool:
        references = list(pool.map(submit, range(200)))
    assert None not in references
    assert len(set(references)) == 200
    year = datetime.now(timezone.utc).year
    assert sorted(references) == [f"INC-{year}-{n:04d}" for n in range(1, 201)]
    assert book.store.db["incidents"].count == 200
    book.store.close()


def test_a_locked_database_is_an_explicit_failure_and_stores_nothing(tmp_path):
    path = tmp_path / "l.db"
    book = make_book(path, timeout=BUSY_SECONDS)
    book.store.db  # create the tables
    with write_locked(path):
        submission = submit_report(FORM, REPORTER, "slack:view:V1", book)
    assert not submission.stored
    assert submission.reference is None
    assert submission.reply.text == messages.REPORT_NOT_RECEIVED
    assert "received and stored" not in submission.reply.text
    assert counts(book) == (0, 0, 0)
    book.store.close()


def test_audit_rows_of_an_incident_cannot_be_changed_or_deleted(book):
    reference = submit_report(FORM, REPORTER, "k", book).reference
    with pytest.raises(sqlite3.IntegrityError):
        book.store.db.execute("update audit set actor = 'x' where subject = ?", [reference])
    with pytest.raises(sqlite3.IntegrityError):
        book.store.db.execute("delete from audit where subject = ?", [reference])
    assert book.history(reference)[0]["actor"] == "slack:U1"


def test_reporters_see_only_their_own_reports(book):
    other = Actor(platform="slack", user_id="U2")
    mine = submit_report(FORM, REPORTER, "a", book).reference
    submit_report(FORM, other, "b", book)
    assert [i.reference for i in book.reported_by(REPORTER)] == [mine]
    same_id_elsewhere = Actor(platform="teams", user_id="U1")
    assert book.reported_by(same_id_elsewhere) == []


def test_a_restarted_process_reads_what_was_stored(tmp_path):
    first = make_book(tmp_path / "r.db")
    reference = submit_report(FORM, REPORTER, "k", first).reference
    first.store.close()
    second = make_book(tmp_path / "r.db")
    assert second.get(reference).category == FORM.category
    assert second.get(reference.lower()) is not None
    assert submit_report(FORM, REPORTER, "k2", second).reference.endswith("-0002")
    second.store.close()


def test_dsl_and_console_notices_are_addressed(tmp_path):
    store = Store(tmp_path / "d.db")
    routing = Routing(RoutingFile.model_validate({"dsl": ["slack:UDSL", "teams:29:x"]}), slt_channel="CSLT")
    book = IncidentDB(store, routing)
    urgent = ReportForm(category="other", what_happened="x", urgent=True)
    submit_report(urgent, REPORTER, "a", book)
    submit_report(urgent, Actor(platform="console", user_id="me"), "b", book)
    jobs = [(r["platform"], r["kind"], r["destination"]) for r in store.db.query("select * from outbox order by id")]
    assert jobs == [
        ("slack", "post", "CSLT"),
        ("slack", "direct", "UDSL"),
        ("teams", "direct", "29:x"),
        ("console", "post", "slt"),
        ("console", "direct", "dsl"),
    ]
    store.close()


def test_a_reply_notice_targets_every_live_slt_post(book):
    reference = submit_report(FORM, REPORTER, "k", book).reference
    notice = Notice(kind="reply", to="slt", reply=Reply(kind="info", text="t"))
    book.log(reference, Event(action="noted", actor=REPORTER, detail="n"), [notice])
    rows = list(book.store.db.query("select kind, destination, after from outbox order by id"))
    assert rows[1] == {"kind": "reply", "destination": "CSLT", "after": 1}
