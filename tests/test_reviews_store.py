"""bot/reviews.py: the SQLite store of second-opinion requests."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from db_lock import BUSY_SECONDS, write_locked

from bot.config import ConfigError, load_settings
from bot.reviews import ReviewDB, approvals_channel
from bot.routing import Destination
from bot.store import Store
from handlers.incident_models import Event, Notice, NotStored
from handlers.models import Actor, Reply
from handlers.second_opinion import ReviewRequest
from knowledge.review import DraftInput, Finding, Span

ANN = Actor(platform="teams", user_id="aad-1", name="Ann")
HEAD = Actor(platform="teams", user_id="aad-2", name="Head")
DRAFT = DraftInput(text="Email me at a@b.example", target="Year 8 page", contains_learner_images=True)
FINDING = Finding(
    reason="contact_details", span=Span(start=12, end=23, text="a@b.example"), section=None, policy="phrase"
)
CHANNEL = Destination(platform="teams", id="19:abc@thread.tacv2")


def announce(request: ReviewRequest) -> list[Notice]:
    return [Notice(kind="post", to="slt", reply=Reply(kind="review", text=request.reference))]


@pytest.fixture
def store(tmp_path):
    built = Store(tmp_path / "reviews.db", timeout=BUSY_SECONDS)
    yield built
    built.close()


@pytest.fixture
def book(store):
    return ReviewDB(store, CHANNEL, clock=lambda: datetime(2026, 5, 4, 10, 30, 15, 999, tzinfo=timezone.utc))


def test_a_request_round_trips_with_its_draft_flags_and_findings(book):
    request, created = book.create(DRAFT, [FINDING], ANN, "k1", announce)
    assert created and request.reference == "SO-2026-0001"
    assert book.get("so-2026-0001 ") == request
    assert request.draft.permission_checked is None and request.draft.contains_learner_images is True
    assert request.created_at == datetime(2026, 5, 4, 10, 30, 15, tzinfo=timezone.utc)
    assert book.requested_by(ANN) == [request] and book.requested_by(HEAD) == []


def test_references_count_per_year_and_the_dedupe_key_returns_the_first(book):
    first, _ = book.create(DRAFT, [], ANN, "k1", announce)
    again, created = book.create(DraftInput(text="other"), [], HEAD, "k1", announce)
    second, _ = book.create(DRAFT, [], ANN, "k2", announce)
    assert (again, created) == (first, False)
    assert second.reference == "SO-2026-0002"
    book.clock = lambda: datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)
    assert book.create(DRAFT, [], ANN, "k3", announce)[0].reference == "SO-2027-0001"


def test_posts_go_to_the_approvals_channel_and_dms_to_the_requesters_platform(book, store):
    request, _ = book.create(DRAFT, [], ANN, "k1", announce)
    decided = request.model_copy(update={"status": "approved", "decided_by": "Head", "decided_at": book.clock()})
    notices = [
        Notice(kind="update", to="slt", reply=Reply(kind="review")),
        Notice(kind="direct", to="reporter", reply=Reply(kind="info", text="approved")),
    ]
    assert book.decide(decided, Event(action="approved", actor=HEAD), notices)
    rows = [(r["platform"], r["kind"], r["destination"], r["after"]) for r in store.db.query("select * from outbox")]
    assert rows == [
        ("teams", "post", "19:abc@thread.tacv2", None),
        ("teams", "update", "19:abc@thread.tacv2", 1),
        ("teams", "direct", "aad-1", None),
    ]


def test_console_requests_stay_in_the_console(book, store):
    book.create(DRAFT, [], Actor(platform="console", user_id="me"), "k1", announce)
    assert [(r["platform"], r["destination"]) for r in store.db.query("select * from outbox")] == [("console", "slt")]


def test_a_decision_is_compare_and_set_on_pending(book, store):
    request, _ = book.create(DRAFT, [], ANN, "k1", announce)
    approved = request.model_copy(update={"status": "approved", "decided_by": "Head", "decided_at": book.clock()})
    rejected = request.model_copy(update={"status": "rejected", "decided_by": "Dep", "decided_at": book.clock()})
    assert book.decide(approved, Event(action="approved", actor=HEAD), [])
    assert not book.decide(rejected, Event(action="rejected", actor=HEAD), [])
    assert book.get(request.reference).status == "approved"
    assert [row["action"] for row in book.history(request.reference)] == ["requested", "approved"]


def test_suggestions_are_remembered_per_channel_and_message(book):
    assert book.remember_suggestion("C1", "1700000000.0001")
    assert not book.remember_suggestion("C1", "1700000000.0001")
    assert book.remember_suggestion("C2", "1700000000.0001")


def test_a_locked_database_raises_not_stored_and_keeps_what_was_there(book, store):
    book.create(DRAFT, [], ANN, "k1", announce)
    with write_locked(store.path):
        with pytest.raises(NotStored):
            book.create(DRAFT, [], ANN, "k2", announce)
        with pytest.raises(NotStored):
            book.remember_suggestion("C1", "m")
    assert [r["reference"] for r in store.db.query("select reference from review_requests")] == ["SO-2026-0001"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"STAFFBOT_SLT_CHANNEL": "C0SLT"}, Destination(platform="slack", id="C0SLT")),
        (
            {"STAFFBOT_SLT_CHANNEL": "C0SLT", "STAFFBOT_REVIEW_CHANNEL": "teams:19:x@thread.tacv2"},
            Destination(platform="teams", id="19:x@thread.tacv2"),
        ),
    ],
)
def test_the_approvals_channel_defaults_to_the_slt_channel(env, expected):
    assert approvals_channel(load_settings(**env)) == expected


def test_a_missing_or_malformed_approvals_channel_names_the_setting():
    with pytest.raises(ConfigError, match="STAFFBOT_REVIEW_CHANNEL is not set"):
        approvals_channel(load_settings())
    with pytest.raises(ConfigError, match="STAFFBOT_REVIEW_CHANNEL"):
        approvals_channel(load_settings(STAFFBOT_REVIEW_CHANNEL="slack:C 1"))
