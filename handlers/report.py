"""Incident reports: take one, tell SLT, and let SLT act on it with the reporter kept informed.

API for the platform adapters (Slack, Teams, console):

- `submit_report(form, reporter, dedupe_key, book) -> Submission`: validate first with
  `ReportForm(...)` / `form_errors()`. The incident, its audit row and the SLT/DSL notices
  are stored in one transaction *before* the reply says "received"; when storing fails
  `Submission.stored` is False and the reply says the report was NOT received. The same
  `dedupe_key` (e.g. `slack:view:<view id>`, `teams:nonce:<user>:<uuid>`) returns the same reference.
- `act(actor, reference, action, book, roster, text=None, once_key="") -> ActionOutcome` for
  the SLT buttons (`handlers.actions.INCIDENT_*`, button value = reference). Actions listed in
  `TEXT_ACTIONS` need `text` (note, escalation, outcome): ask for it with
  `messages.INCIDENT_PROMPTS[action]` (a modal, a card input, a console prompt) first. A form
  that can arrive twice passes its `once_key` (`slack:view:<view id>`): the action is recorded
  once, and the copy gets the same confirmation.
  The outcome's `reply` is for the actor only (show it privately); its `notices` (update
  of the SLT post, thread reply, reporter DM) are already queued in the outbox.
- `reports_for(actor, book)`: the actor's own reports and their status (never others').
- `open_incidents(actor, book, roster)`: the SLT queue with ages, refused to non-SLT.
- `slt_post(incident, now)`: the SLT channel message: facts and buttons, never the narrative;
  rendered again from the stored incident whenever it is sent, so it shows the current state.
"""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict

from handlers import actions, messages
from handlers.incident_models import (
    MAX_NARRATIVE_CHARS,
    STATUS_LABELS,
    Category,
    Event,
    Incident,
    IncidentBook,
    Notice,
    NotStored,
    ReportForm,
    Repeated,
    SltCheck,
)
from handlers.models import Actor, Button, Fact, Reply

TEXT_ACTIONS = frozenset(messages.INCIDENT_PROMPTS)


class Submission(BaseModel):
    """The result of one `/report`: `reference` is None when nothing was stored."""

    model_config = ConfigDict(frozen=True)

    reply: Reply
    reference: str | None = None
    created: bool = False
    stored: bool = False


class ActionOutcome(BaseModel):
    """What an SLT action did: the actor's private reply and the notices queued with the change."""

    model_config = ConfigDict(frozen=True)

    reply: Reply
    incident: Incident | None = None
    notices: list[Notice] = []
    changed: bool = False


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def age(since: datetime, now: datetime) -> str:
    """'just now', '25 min ago', '3 h 5 min ago', '2 days ago' — short enough for a channel post."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest} min ago" if rest else f"{hours} h ago"
    return f"{hours // 24} days ago"


def stamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%d %b %Y %H:%M UTC")


def who(actor: Actor) -> str:
    return actor.name or actor.user_id


def urgency(incident: Incident) -> str:
    return "URGENT — may be illegal" if incident.urgent else "Not marked urgent"


def incident_facts(incident: Incident, now: datetime) -> list[Fact]:
    """The facts shown to SLT in a channel: no narrative, no people, no reporter."""
    return [
        Fact(label="Reference", value=incident.reference),
        Fact(label="Category", value=incident.category.label),
        Fact(label="Urgency", value=urgency(incident)),
        Fact(label="Status", value=STATUS_LABELS[incident.status]),
        Fact(label="Reported", value=f"{stamp(incident.created_at)} ({age(incident.created_at, now)})"),
        Fact(label="Assigned to", value=incident.assignee or "Nobody yet"),
    ]


def incident_buttons(incident: Incident) -> list[Button]:
    ref = incident.reference
    view = Button(action=actions.INCIDENT_VIEW, label="View details", value=ref)
    if not incident.is_open:
        return [view]
    return [
        view,
        Button(action=actions.INCIDENT_ACKNOWLEDGE, label="Acknowledge", value=ref, style="primary"),
        Button(action=actions.INCIDENT_ASSIGN, label="Assign to me", value=ref),
        Button(action=actions.INCIDENT_NOTE, label="Add note", value=ref),
        Button(action=actions.INCIDENT_ESCALATE, label="Escalate", value=ref, style="danger"),
        Button(action=actions.INCIDENT_RESOLVE, label="Resolve", value=ref),
    ]


def slt_post(incident: Incident, now: datetime) -> Reply:
    """The SLT channel message for an incident, re-rendered on every change and whenever it is sent."""
    return Reply(
        kind="incident",
        title=f"{messages.INCIDENT_TITLE} {incident.reference}",
        facts=incident_facts(incident, now),
        buttons=incident_buttons(incident),
    )


def _announce(incident: Incident) -> list[Notice]:
    now = incident.created_at
    notices = [Notice(kind="post", to="slt", reply=slt_post(incident, now))]
    if incident.urgent or incident.category is Category.LEARNER_SAFETY:
        alert = slt_post(incident, now).model_copy(update={"notes": [messages.DSL_ALERT]})
        notices.append(Notice(kind="direct", to="dsl", reply=alert))
    return notices


def reporter_reminders(form: ReportForm) -> list[str]:
    """What the policy asks the reporter to do next, beyond reporting."""
    notes = []
    if form.category is Category.LEARNER_SAFETY:
        notes.append(messages.REMINDER_LEARNER_SAFETY)
    if form.category is Category.COMPROMISING_IMAGE:
        notes.append(messages.REMINDER_COMPROMISING_IMAGE)
    if form.urgent:
        notes.append(messages.REMINDER_URGENT)
    return notes


def submit_report(form: ReportForm, reporter: Actor, dedupe_key: str, book: IncidentBook) -> Submission:
    """Store the report and its SLT notices; only then say it was received."""
    try:
        incident, created = book.create(form, reporter, dedupe_key, _announce)
    except NotStored:
        return Submission(reply=Reply(kind="error", text=messages.REPORT_NOT_RECEIVED, private=True))
    reply = Reply(
        kind="confirmation",
        title=messages.REPORT_RECEIVED_TITLE,
        text=messages.report_received(incident.reference),
        facts=[
            Fact(label="Reference", value=incident.reference),
            Fact(label="Category", value=incident.category.label),
        ],
        notes=reporter_reminders(form),
        private=True,
    )
    return Submission(reply=reply, reference=incident.reference, created=created, stored=True)


def _private(kind: str, text: str, title: str = "") -> Reply:
    return Reply(kind=kind, title=title, text=text, private=True)  # type: ignore[arg-type]


def _details(incident: Incident, history: list[dict], now: datetime) -> Reply:
    facts = incident_facts(incident, now) + [
        Fact(label="Reported by", value=f"{who(incident.reporter)} ({incident.reporter.platform})"),
        Fact(label="When it happened", value=incident.when.isoformat()),
        Fact(label="Where", value=" ".join(p for p in (incident.platform, incident.link) if p) or "Not given"),
        Fact(label="People involved", value=incident.people or "Not given"),
    ]
    if incident.escalated_to:
        facts.append(Fact(label="Escalated to", value=incident.escalated_to))
    if incident.outcome:
        facts.append(Fact(label="Outcome", value=incident.outcome))
    chronology = [f"{row['at']} {row['action']} by {row['actor']}" + (f": {row['detail']}" if row["detail"] else "")
                  for row in history]
    return Reply(
        kind="incident",
        title=f"{messages.INCIDENT_DETAILS_TITLE} — {incident.reference}",
        text=incident.what_happened,
        facts=facts,
        notes=chronology,
        buttons=incident_buttons(incident)[1:],
        private=True,
    )


def act(
    actor: Actor,
    reference: str,
    action: str,
    book: IncidentBook,
    roster: SltCheck,
    text: str | None = None,
    now: datetime | None = None,
    once_key: str = "",
) -> ActionOutcome:
    """Apply one SLT button press to an incident (see the module docstring)."""
    now = now or utcnow()
    incident = book.get(reference)
    if incident is None:
        return ActionOutcome(reply=_private("error", messages.INCIDENT_UNKNOWN))
    reference = incident.reference  # as stored, however it was typed: the audit rows must join the record
    if not roster.is_slt(actor):
        book.log(reference, Event(action="refused", actor=actor, detail=action))
        return ActionOutcome(reply=_private("error", messages.INCIDENT_SLT_ONLY))
    if action == actions.INCIDENT_VIEW:
        book.log(reference, Event(action="viewed", actor=actor))
        return ActionOutcome(reply=_details(incident, book.history(reference), now), incident=incident)
    if action not in _CHANGES and action != actions.INCIDENT_NOTE:
        return ActionOutcome(reply=_private("error", messages.INCIDENT_UNKNOWN_ACTION))
    if action in TEXT_ACTIONS:
        text = (text or "").strip()
        if not text:
            prompt = messages.INCIDENT_PROMPTS[action]
            return ActionOutcome(reply=_private("error", messages.INCIDENT_TEXT_MISSING.format(prompt=prompt)))
        if len(text) > MAX_NARRATIVE_CHARS:
            limit = MAX_NARRATIVE_CHARS
            return ActionOutcome(reply=_private("error", messages.INCIDENT_TEXT_TOO_LONG.format(limit=limit)))
    if action == actions.INCIDENT_NOTE:
        notice = Notice(kind="reply", to="slt", reply=_thread(incident, "note added", actor))
        added = _private("confirmation", f"Note added to {reference}.")
        try:
            book.log(reference, Event(action="noted", actor=actor, detail=text or "", once_key=once_key), [notice])
        except Repeated:
            return ActionOutcome(reply=added, incident=incident)
        return ActionOutcome(reply=added, incident=incident, notices=[notice])
    repeated = book.recorded(once_key) if once_key else None
    if repeated in _DONE:  # this form was recorded before: the first copy's answer, not "already done"
        done = _private("confirmation", messages.slt_action_done(_DONE[repeated], reference, "you"))
        return ActionOutcome(reply=done, incident=incident)
    refusal, after, event = _CHANGES[action](incident, actor, text or "", now)
    if refusal:
        return ActionOutcome(reply=_private("info", refusal), incident=incident)
    assert after is not None and event is not None
    event = event.model_copy(update={"once_key": once_key})
    done = _private("confirmation", messages.slt_action_done(_DONE[event.action], reference, "you"))
    notices = [
        Notice(kind="update", to="slt", reply=slt_post(after, now)),
        Notice(kind="reply", to="slt", reply=_thread(after, _DONE[event.action], actor)),
    ]
    if after.status != incident.status:
        notices.append(
            Notice(kind="direct", to="reporter", reply=Reply(
                kind="info", text=messages.reporter_update(reference, after.status)))
        )
    try:
        saved = book.save(incident, after, event, notices)
    except Repeated:
        return ActionOutcome(reply=done, incident=incident)
    if not saved:
        return ActionOutcome(reply=_private("error", messages.INCIDENT_CHANGED_MEANWHILE), incident=incident)
    return ActionOutcome(reply=done, incident=after, notices=notices, changed=True)


def _thread(incident: Incident, what: str, actor: Actor) -> Reply:
    return Reply(kind="info", text=messages.slt_action_done(what, incident.reference, who(actor)))


_DONE = {
    "acknowledged": "acknowledged",
    "assigned": "assigned",
    "escalated": "escalated",
    "resolved": "resolved",
}

Change = tuple[str, Incident | None, Event | None]


def _acknowledge(incident: Incident, actor: Actor, text: str, now: datetime) -> Change:
    if not incident.is_open:
        return messages.INCIDENT_ALREADY_RESOLVED, None, None
    if incident.acknowledged_at is not None:
        return messages.already_done("acknowledged", incident.acknowledged_by, stamp(incident.acknowledged_at)), None, None
    after = incident.model_copy(
        update={"status": "acknowledged", "acknowledged_by": who(actor), "acknowledged_at": now}
    )
    return "", after, Event(action="acknowledged", actor=actor)


def _assign(incident: Incident, actor: Actor, text: str, now: datetime) -> Change:
    if not incident.is_open:
        return messages.INCIDENT_ALREADY_RESOLVED, None, None
    if incident.assignee == who(actor):
        return f"{incident.reference} is already assigned to you.", None, None
    update: dict = {"assignee": who(actor)}
    if incident.acknowledged_at is None:
        update.update(status="acknowledged", acknowledged_by=who(actor), acknowledged_at=now)
    return "", incident.model_copy(update=update), Event(action="assigned", actor=actor, detail=who(actor))


def _escalate(incident: Incident, actor: Actor, text: str, now: datetime) -> Change:
    if not incident.is_open:
        return messages.INCIDENT_ALREADY_RESOLVED, None, None
    update: dict = {"status": "escalated", "escalated_to": text}
    if incident.acknowledged_at is None:
        update.update(acknowledged_by=who(actor), acknowledged_at=now)
    return "", incident.model_copy(update=update), Event(action="escalated", actor=actor, detail=text)


def _resolve(incident: Incident, actor: Actor, text: str, now: datetime) -> Change:
    if not incident.is_open:
        assert incident.resolved_at is not None
        return messages.already_done("resolved", incident.resolved_by, stamp(incident.resolved_at)), None, None
    after = incident.model_copy(
        update={"status": "resolved", "outcome": text, "resolved_by": who(actor), "resolved_at": now}
    )
    return "", after, Event(action="resolved", actor=actor, detail=text)


_CHANGES = {
    actions.INCIDENT_ACKNOWLEDGE: _acknowledge,
    actions.INCIDENT_ASSIGN: _assign,
    actions.INCIDENT_ESCALATE: _escalate,
    actions.INCIDENT_RESOLVE: _resolve,
}


def reports_for(actor: Actor, book: IncidentBook, now: datetime | None = None) -> Reply:
    """The actor's own reports, newest first, with status: never anyone else's."""
    now = now or utcnow()
    mine = book.reported_by(actor)
    if not mine:
        return _private("info", messages.NO_REPORTS, messages.MY_REPORTS_TITLE)
    facts = [
        Fact(label=i.reference, value=f"{i.category.label} — {STATUS_LABELS[i.status]} ({age(i.created_at, now)})")
        for i in mine
    ]
    return Reply(kind="info", title=messages.MY_REPORTS_TITLE, facts=facts, private=True)


def open_incidents(actor: Actor, book: IncidentBook, roster: SltCheck, now: datetime | None = None) -> Reply:
    """The SLT queue (oldest first) for App Home or a command; refused to anyone else."""
    if not roster.is_slt(actor):
        return _private("error", messages.INCIDENT_SLT_ONLY)
    now = now or utcnow()
    queue = book.open_incidents()
    if not queue:
        return _private("info", messages.NO_OPEN_INCIDENTS, messages.OPEN_INCIDENTS_TITLE)
    facts = [
        Fact(
            label=i.reference,
            value=f"{i.category.label} — {urgency(i)} — {STATUS_LABELS[i.status]} — {age(i.created_at, now)}"
            + (f" — {i.assignee}" if i.assignee else ""),
        )
        for i in queue
    ]
    buttons = [Button(action=actions.INCIDENT_VIEW, label=f"View {i.reference}", value=i.reference) for i in queue]
    return Reply(kind="info", title=messages.OPEN_INCIDENTS_TITLE, facts=facts, buttons=buttons, private=True)
