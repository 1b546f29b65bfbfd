from datetime import datetime, timedelta, timezone

import pytest

from bot.outbox import Outbox
from handlers import actions, messages
from handlers.incident_models import ReportForm
from handlers.models import Actor
from handlers.report import act, open_incidents, reports_for, slt_post, submit_report

REPORTER = Actor(platform="slack", user_id="U1", name="Ann")
HEAD = Actor(platform="slack", user_id="UHEAD", name="Head")
DEPUTY = Actor(platform="slack", user_id="UDEP", name="Deputy")
STRANGER = Actor(platform="slack", user_id="U9", name="Not SLT")
NARRATIVE = "Parent posted a photo of pupil J. Smith <!channel> <https://evil|click>"


class Recorder:
    platform = "slack"

    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)
        return f"ts-{len(self.sent)}"


@pytest.fixture
def book(services):
    services.roster.grant(HEAD)
    services.roster.grant(DEPUTY)
    return services.incidents


@pytest.fixture
def reference(book):
    form = ReportForm(category="compromising_image", what_happened=NARRATIVE, people="J. Smith")
    return submit_report(form, REPORTER, "slack:view:V1", book).reference


def all_text(reply) -> str:
    return " ".join([reply.title, reply.text, *reply.notes, *(f.value for f in reply.facts)])


def jobs(services) -> list[tuple]:
    return [(r["kind"], r["destination"], r["after"]) for r in services.store.db.query("select * from outbox order by id")]


def test_the_slt_post_has_facts_and_buttons_but_never_the_narrative(book, reference):
    post = slt_post(book.get(reference), datetime.now(timezone.utc) + timedelta(hours=3))
    facts = {f.label: f.value for f in post.facts}
    assert facts["Reference"] == reference
    assert facts["Category"] == "Compromising or inappropriate image"
    assert facts["Urgency"] == "Not marked urgent"
    assert facts["Status"].startswith("New")
    assert facts["Reported"].endswith("(3 h ago)")
    assert facts["Assigned to"] == "Nobody yet"
    assert "Smith" not in all_text(post) and "channel" not in all_text(post)
    assert [b.action for b in post.buttons] == [
        actions.INCIDENT_VIEW, actions.INCIDENT_ACKNOWLEDGE, actions.INCIDENT_ASSIGN,
        actions.INCIDENT_NOTE, actions.INCIDENT_ESCALATE, actions.INCIDENT_RESOLVE,
    ]  # fmt: skip
    assert {b.value for b in post.buttons} == {reference}


def test_the_reporter_is_reminded_about_the_image(book):
    form = ReportForm(category="compromising_image", what_happened="x")
    submission = submit_report(form, REPORTER, "k", book)
    assert messages.REMINDER_COMPROMISING_IMAGE in submission.reply.notes
    assert submission.reply.private


def test_non_slt_are_refused_and_the_attempt_audited(services, book, reference):
    for action in (actions.INCIDENT_VIEW, actions.INCIDENT_RESOLVE):
        outcome = act(STRANGER, reference, action, book, services.roster, text="closing it")
        assert outcome.reply.text == messages.INCIDENT_SLT_ONLY and outcome.reply.private
        assert NARRATIVE not in all_text(outcome.reply)
    trail = [(r["action"], r["actor"], r["detail"]) for r in book.history(reference)]
    assert trail[1:] == [
        ("refused", "slack:U9", actions.INCIDENT_VIEW),
        ("refused", "slack:U9", actions.INCIDENT_RESOLVE),
    ]
    assert book.get(reference).status == "new"
    assert len(jobs(services)) == 1


def test_a_reference_typed_another_way_is_audited_under_the_record(services, book, reference):
    act(STRANGER, f"  {reference.lower()} ", actions.INCIDENT_VIEW, book, services.roster)
    outcome = act(HEAD, reference.lower(), actions.INCIDENT_NOTE, book, services.roster, text="Called the parent")
    assert outcome.reply.text == f"Note added to {reference}."
    assert [r["action"] for r in book.history(reference)] == ["created", "refused", "noted"]


def test_view_details_shows_the_narrative_privately_and_is_audited(services, book, reference):
    outcome = act(HEAD, reference, actions.INCIDENT_VIEW, book, services.roster)
    assert outcome.reply.private
    assert outcome.reply.text == NARRATIVE
    assert {"label": "People involved", "value": "J. Smith"} in [f.model_dump() for f in outcome.reply.facts]
    assert [r["action"] for r in book.history(reference)] == ["created", "viewed"]
    assert len(jobs(services)) == 1  # nothing is posted anywhere


def test_acknowledge_updates_the_post_replies_in_thread_and_tells_the_reporter(services, book, reference):
    outcome = act(HEAD, reference, actions.INCIDENT_ACKNOWLEDGE, book, services.roster)
    assert outcome.changed
    assert [(n.kind, n.to) for n in outcome.notices] == [("update", "slt"), ("reply", "slt"), ("direct", "reporter")]
    assert jobs(services) == [("post", "CSLT", None), ("update", "CSLT", 1), ("reply", "CSLT", 1), ("direct", "U1", None)]
    update, thread, dm = (n.reply for n in outcome.notices)
    assert {f.label: f.value for f in update.facts}["Status"] == "Acknowledged"
    assert thread.text == f"{reference}: acknowledged by Head."
    assert dm.text == messages.reporter_update(reference, "acknowledged")
    again = act(DEPUTY, reference, actions.INCIDENT_ACKNOWLEDGE, book, services.roster)
    assert not again.changed
    assert again.reply.text.startswith("This incident was already acknowledged by Head at ")
    assert len(jobs(services)) == 4


def test_assign_to_me_acknowledges_a_new_incident(services, book, reference):
    outcome = act(DEPUTY, reference, actions.INCIDENT_ASSIGN, book, services.roster)
    incident = book.get(reference)
    assert (incident.assignee, incident.status, incident.acknowledged_by) == ("Deputy", "acknowledged", "Deputy")
    assert {f.label: f.value for f in outcome.notices[0].reply.facts}["Assigned to"] == "Deputy"
    assert act(DEPUTY, reference, actions.INCIDENT_ASSIGN, book, services.roster).reply.text.endswith(
        "already assigned to you."
    )


def test_notes_stay_with_slt(services, book, reference):
    assert act(HEAD, reference, actions.INCIDENT_NOTE, book, services.roster).reply.text.startswith("Please add")
    outcome = act(HEAD, reference, actions.INCIDENT_NOTE, book, services.roster, text="Spoke to parent: secret")
    assert [(n.kind, n.to) for n in outcome.notices] == [("reply", "slt")]
    assert "secret" not in outcome.notices[0].reply.text
    assert book.history(reference)[-1]["detail"] == "Spoke to parent: secret"
    transport = Recorder()
    Outbox(services.store, [transport]).run_pending()
    assert all("secret" not in all_text(m.reply) for m in transport.sent)


def test_escalate_and_resolve_tell_the_reporter_without_slt_text(services, book, reference):
    act(HEAD, reference, actions.INCIDENT_ESCALATE, book, services.roster, text="Police, crime ref 123")
    outcome = act(HEAD, reference, actions.INCIDENT_RESOLVE, book, services.roster, text="Account closed by police")
    assert outcome.changed
    incident = book.get(reference)
    assert (incident.status, incident.escalated_to, incident.outcome) == (
        "resolved", "Police, crime ref 123", "Account closed by police"
    )
    transport = Recorder()
    Outbox(services.store, [transport]).run_pending()
    dms = [m.reply.text for m in transport.sent if m.kind == "direct"]
    assert dms == [messages.reporter_update(reference, "escalated"), messages.reporter_update(reference, "resolved")]
    assert all("Police" not in all_text(m.reply) and "Account" not in all_text(m.reply) for m in transport.sent)
    threads = {m.thread for m in transport.sent if m.kind == "reply"}
    assert threads == {"ts-1"}
    final_update = [m for m in transport.sent if m.kind == "update"][-1]
    assert final_update.message == "ts-1"
    assert [b.action for b in final_update.reply.buttons] == [actions.INCIDENT_VIEW]
    assert [r["action"] for r in book.history(reference)] == ["created", "escalated", "resolved", "routed"]


def test_resolving_twice_records_one_resolution(services, book, reference):
    act(HEAD, reference, actions.INCIDENT_RESOLVE, book, services.roster, text="Done")
    second = act(DEPUTY, reference, actions.INCIDENT_RESOLVE, book, services.roster, text="Also done")
    assert not second.changed
    assert second.reply.text.startswith("This incident was already resolved by Head at ")
    assert [r["action"] for r in book.history(reference)].count("resolved") == 1
    assert act(DEPUTY, reference, actions.INCIDENT_ACKNOWLEDGE, book, services.roster).reply.text == (
        messages.INCIDENT_ALREADY_RESOLVED
    )


def test_a_stale_read_loses_the_compare_and_set(services, book, reference):
    from handlers.incident_models import Event

    stale = book.get(reference)
    act(HEAD, reference, actions.INCIDENT_RESOLVE, book, services.roster, text="Done")
    after = stale.model_copy(update={"status": "resolved", "outcome": "other"})
    assert not book.save(stale, after, Event(action="resolved", actor=DEPUTY), [])
    assert book.get(reference).outcome == "Done"


def test_unknown_reference_and_action(services, book, reference):
    assert act(HEAD, "INC-1999-0001", actions.INCIDENT_VIEW, book, services.roster).reply.text == messages.INCIDENT_UNKNOWN
    assert act(HEAD, reference, "incident_shred", book, services.roster).reply.text == messages.INCIDENT_UNKNOWN_ACTION


def test_reporters_list_their_own_and_slt_see_the_queue(services, book, reference):
    other = submit_report(ReportForm(category="other", what_happened="x"), STRANGER, "k2", book).reference
    mine = reports_for(REPORTER, book)
    assert [f.label for f in mine.facts] == [reference]
    assert reports_for(HEAD, book).text == messages.NO_REPORTS
    assert open_incidents(STRANGER, book, services.roster).text == messages.INCIDENT_SLT_ONLY
    queue = open_incidents(HEAD, book, services.roster)
    assert [f.label for f in queue.facts] == [reference, other]
    assert NARRATIVE not in all_text(queue)
