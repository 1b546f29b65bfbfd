from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.cli import main
from bot.config import load_settings
from bot.delivery import DeliveryError, OutboundMessage
from bot.incidents import IncidentDB
from bot.reminders import Reminders, due_reminders, working_hours_between
from bot.services import Services
from handlers import actions, messages
from handlers.incident_models import Notice, ReportForm
from handlers.models import Actor, Reply
from handlers.report import act, submit_report

LONDON = ZoneInfo("Europe/London")
REPORTER = Actor(platform="slack", user_id="U1")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in November 2026 (the 20th is a Friday, the 23rd a Monday), London time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=LONDON)


def test_working_hours_skip_nights_and_weekends():
    assert working_hours_between(at(23, 9), at(23, 13)) == 4
    assert working_hours_between(at(23, 17), at(24, 9)) == 2
    assert working_hours_between(at(20, 16), at(23, 10)) == 4  # Friday 16:00 -> Monday 10:00
    assert working_hours_between(at(21, 10), at(22, 20)) == 0  # all weekend
    assert working_hours_between(at(23, 20), at(23, 7)) == 0


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class SlackDown:
    """A Slack transport that is down (`error`), or refuses for good, until `error` is None."""

    platform = "slack"

    def __init__(self, error: DeliveryError | None = DeliveryError("HTTP 503")) -> None:
        self.error = error
        self.sent: list[OutboundMessage] = []

    def send(self, message: OutboundMessage) -> str:
        if self.error is not None:
            raise self.error
        self.sent.append(message)
        return f"ts-{len(self.sent)}"


def test_unacknowledged_reports_are_reminded_once_per_interval(services):
    clock = Clock(at(20, 16))  # Friday afternoon
    book = IncidentDB(services.store, services.routing, clock=clock)
    reminders = Reminders(book, hours=4, clock=clock)
    reference = submit_report(ReportForm(category="other", what_happened="x"), REPORTER, "k", book).reference
    acked = submit_report(ReportForm(category="other", what_happened="y"), REPORTER, "k2", book).reference
    services.roster.grant(Actor(platform="slack", user_id="UHEAD"))
    act(Actor(platform="slack", user_id="UHEAD"), acked, actions.INCIDENT_ACKNOWLEDGE, book, services.roster)
    services.outbox.register(SlackDown(error=None))
    services.outbox.run_pending()  # the SLT posts are in the channel: there is a thread to remind in

    clock.now = at(23, 9, 59)  # 2 h Friday + 1 h 59 Monday
    assert reminders.run() == []
    clock.now = at(23, 10)
    assert reminders.run() == [reference]
    assert reminders.run() == []  # once per interval
    clock.now = at(23, 13, 59)
    assert reminders.run() == []
    clock.now = at(23, 14)
    assert reminders.run() == [reference]

    trail = [r["action"] for r in book.history(reference)]
    assert trail == ["created", "routed", "reminded", "reminded"]
    replies = list(services.store.db.query("select reply, after from outbox where subject = ? and kind = 'reply'", [reference]))
    assert len(replies) == 2 and all(r["after"] == 1 for r in replies)
    assert "has not been acknowledged after 4 working hours" in replies[0]["reply"]


def test_due_reminders_with_explicit_times(services):
    book = IncidentDB(services.store, services.routing, clock=lambda: at(23, 8).astimezone(timezone.utc))
    submit_report(ReportForm(category="other", what_happened="x"), REPORTER, "k", book)
    waiting = book.awaiting_acknowledgement()
    assert due_reminders(waiting, at(23, 11), hours=4) == []
    assert [i.reference for i in due_reminders(waiting, at(23, 12), hours=4)] == [waiting[0][0].reference]


def test_the_outbox_pass_reminds_after_staffbot_reminder_hours(tmp_path, monkeypatch):
    """The setting reaches the reminder job the running bot schedules on its outbox worker."""
    monkeypatch.setenv("STAFFBOT_DB", str(tmp_path / "r.db"))
    monkeypatch.setenv("STAFFBOT_SLT_CHANNEL", "CSLT")
    monkeypatch.setenv("STAFFBOT_REMINDER_HOURS", "2.5")
    services = Services(load_settings())
    old = submit_report(ReportForm(category="other", what_happened="x"), REPORTER, "k", services.incidents).reference
    fresh = submit_report(ReportForm(category="other", what_happened="y"), REPORTER, "k2", services.incidents).reference
    week_ago = (datetime.now(timezone.utc) - timedelta(days=7)).isoformat(timespec="seconds")
    services.store.db.execute("update incidents set created_at = ? where reference = ?", [week_ago, old])
    services.outbox.register(SlackDown(error=None))
    services.outbox.run_pending()
    for task in services.outbox.periodic:  # what the worker runs after each delivery pass
        task()
    assert [r["action"] for r in services.incidents.history(old)][-1] == "reminded"
    assert services.incidents.history(old)[-1]["detail"] == "not acknowledged after 2.5 working hours"
    assert [r["action"] for r in services.incidents.history(fresh)] == ["created", "routed"]
    [reply] = services.store.db.query("select reply, after from outbox where subject = ? and kind = 'reply'", [old])
    assert messages.reminder(old, 2.5) in reply["reply"] and reply["after"] is not None
    services.close()


def test_a_reminder_interval_that_is_not_a_positive_number_stops_every_command(monkeypatch, capsys):
    for value in ("0", "-1", "soon"):
        monkeypatch.setenv("STAFFBOT_REMINDER_HOURS", value)
        assert main(["incidents", "list"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("staffbot: error: STAFFBOT_REMINDER_HOURS is malformed") and err.count("\n") == 1


def test_no_reminder_waits_behind_an_slt_post_that_failed_for_good(services):
    clock = Clock(at(23, 9))
    book = IncidentDB(services.store, services.routing, services.outbox, clock=clock)
    slack = SlackDown()
    services.outbox.register(slack)
    services.outbox.backoff_base = 0.0  # a retry is due at once
    reference = submit_report(ReportForm(category="other", what_happened="x"), REPORTER, "k", book).reference
    services.outbox.run_pending()  # Slack is down: the post waits for its retry...
    clock.now = at(23, 13)
    assert Reminders(book, 4, clock).run() == []  # ...and SLT have nothing to be reminded of yet
    slack.error = DeliveryError("not_in_channel", permanent=True)
    services.outbox.run_pending()
    clock.now = at(23, 17)
    assert Reminders(book, 4, clock).run() == []  # still no thread to remind in
    jobs = list(services.store.db.query("select id, kind, status from outbox order by id"))
    assert [(j["kind"], j["status"]) for j in jobs] == [("post", "failed")]
    assert "reminded" not in [r["action"] for r in book.history(reference)]

    slack.error = None
    assert services.outbox.requeue(jobs[0]["id"], "slack:UHEAD")
    services.outbox.run_pending()
    assert [(m.kind, reference in m.reply.title) for m in slack.sent] == [("post", True)]
    assert Reminders(book, 4, clock).run() == [reference]  # the post has landed: now it is a reminder
    services.outbox.run_pending()
    assert [m.kind for m in slack.sent] == ["post", "reply"]


def test_a_report_reminded_or_acknowledged_since_it_was_read_is_not_reminded_about(services):
    """`serve slack` and `serve teams` may share the database: each worker's pass reads, then writes."""
    clock = Clock(at(23, 9))
    book = IncidentDB(services.store, services.routing, clock=clock)
    reference = submit_report(ReportForm(category="other", what_happened="x"), REPORTER, "k", book).reference
    services.outbox.register(SlackDown(error=None))
    services.outbox.run_pending()
    clock.now = at(23, 14)
    notice = Notice(kind="reply", to="slt", reply=Reply(kind="info", text="reminder"))
    [(stale, last)] = book.awaiting_acknowledgement()
    assert Reminders(book, 4, clock).run() == [reference]  # the other worker was first
    assert book.remind(stale, last, notice, 4) is False
    [(fresh, last)] = book.awaiting_acknowledgement()
    head = Actor(platform="slack", user_id="UHEAD")
    services.roster.grant(head)
    act(head, reference, actions.INCIDENT_ACKNOWLEDGE, book, services.roster)
    assert book.remind(fresh, last, notice, 4) is False  # acknowledged meanwhile
    assert [r["action"] for r in book.history(reference)].count("reminded") == 1


def test_a_reminder_goes_only_under_posts_slt_have_received(services):
    """Routed to Slack and Teams, with Teams down: the reminder is a reply in the Slack thread
    only, rather than one more message waiting behind the Teams post."""
    clock = Clock(at(23, 9))
    book = IncidentDB(services.store, services.routing, clock=clock)
    reference = submit_report(ReportForm(category="other", what_happened="x"), REPORTER, "k", book).reference
    services.outbox.register(SlackDown(error=None))
    services.outbox.run_pending()
    teams = OutboundMessage(kind="post", destination="19:slt@thread.tacv2", reply=Reply(kind="incident"))
    services.outbox.enqueue("teams", teams, subject=reference)  # no Teams transport: it stays pending
    for hour in (13, 17):
        clock.now = at(23, hour)
        assert Reminders(book, 4, clock).run() == [reference]
    replies = list(services.store.db.query("select platform, after from outbox where kind = 'reply'"))
    assert replies == [{"platform": "slack", "after": 1}] * 2
