"""Nudge SLT about reports nobody has acknowledged within STAFFBOT_REMINDER_HOURS working hours.

Working hours are Monday to Friday, 08:00 to 18:00 school local time (Europe/London by
default); bank holidays and school holidays are not known, so a report made on Friday
evening is first reminded about on Monday. A reminder is a reply in the SLT post's
thread, sent at most once per interval (the clock restarts at each reminder), and
audited as "reminded". It goes only in the threads of posts already delivered, and none
is due while no post has been (an outage, or a post that failed for good), so none piles up
behind a post. `due_reminders(now)` is pure, for tests with explicit times; `Reminders.run()`
is what the outbox worker calls on each pass.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from handlers import messages
from handlers.incident_models import Incident, Notice
from handlers.models import Reply

from bot.incidents import IncidentDB

SCHOOL_TZ = ZoneInfo("Europe/London")
DAY_START = time(8, 0)
DAY_END = time(18, 0)


def working_hours_between(start: datetime, end: datetime, tz: ZoneInfo = SCHOOL_TZ) -> float:
    """Hours between two instants that fall on Mon-Fri 08:00-18:00 local time."""
    if end <= start:
        return 0.0
    start, end = start.astimezone(tz), end.astimezone(tz)
    total = timedelta()
    day = start.date()
    while day <= end.date():
        if day.weekday() < 5:
            opens = datetime.combine(day, DAY_START, tz)
            closes = datetime.combine(day, DAY_END, tz)
            lo, hi = max(opens, start), min(closes, end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total.total_seconds() / 3600


def due_reminders(
    waiting: list[tuple[Incident, datetime | None]], now: datetime, hours: float, tz: ZoneInfo = SCHOOL_TZ
) -> list[Incident]:
    """Incidents whose last reminder (or creation) is at least `hours` working hours before `now`."""
    return [
        incident
        for incident, reminded in waiting
        if incident.status == "new" and working_hours_between(reminded or incident.created_at, now, tz) >= hours
    ]


class Reminders:
    """Queues due reminders in the SLT threads; safe to call as often as you like."""

    def __init__(
        self,
        incidents: IncidentDB,
        hours: float,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.incidents = incidents
        self.hours = hours
        self.clock = clock

    def run(self) -> list[str]:
        """Send what is due now; returns the references reminded about."""
        waiting = self.incidents.awaiting_acknowledgement()
        last = {incident.reference: when for incident, when in waiting}
        reminded = []
        for incident in due_reminders(waiting, self.clock(), self.hours):
            reply = Reply(kind="info", text=messages.reminder(incident.reference, self.hours))
            notice = Notice(kind="reply", to="slt", reply=reply, delivered_only=True)
            if self.incidents.remind(incident, last[incident.reference], notice, self.hours):
                reminded.append(incident.reference)
        return reminded
