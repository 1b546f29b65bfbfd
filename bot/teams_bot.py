"""The Teams bot: activities in, handler calls, Adaptive Cards out.

`TeamsBot` runs over the same handlers as Slack and the console: questions (1:1 or
@mention, answered in the thread), the report and second-opinion forms (cards with a
nonce, so a re-sent submission is one record, opened in the person's 1:1 chat), and the
SLT card buttons (`Action.Execute`, answered with the updated card so the post changes in
place). Identity is the AAD object id; SLT membership comes from STAFFBOT_TEAMS_SLT_USERS.
Channel messages that do not mention the bot arrive only when the app package asks for
them (for drafting channels): a new post in a drafting channel may get a nudge to ask for
a second opinion, and everything else is ignored.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes
from pydantic import ValidationError

from handlers import actions, messages, report, second_opinion
from handlers.ask import ask, feedback, pass_to_owner
from handlers.incident_models import NotStored, ReportForm, form_errors
from handlers.models import Actor, Place, Question, Reply, first_error
from knowledge.review.models import DraftInput

from bot import teams_cards as cards
from bot.config import ConfigError
from bot.routing import drafting_channels
from bot.services import Services
from bot.store import StoreError
from bot.teams_connector import SEND_ERRORS, Connector, message_activity
from bot.teams_package import SECOND_OPINION_COMMAND
from bot.teams_store import TeamsDirectory, base_conversation

if TYPE_CHECKING:
    from bot.incidents import IncidentDB

log = logging.getLogger(__name__)

REPORT_FIELDS = ("category", "what_happened", "platform", "link", "when", "people", "urgent")
MESSAGE_TYPE = "application/vnd.microsoft.activity.message"
ERROR_TYPE = "application/vnd.microsoft.error"
RECENT_KEYS = 10_000  # activity ids kept in memory; the database keeps them for longer (see teams_store)
COMMANDS = {
    "report": "report", "report an incident": "report",
    "report status": "report status", "my reports": "report status",
    "second opinion": "second opinion", "secondopinion": "second opinion", "check a draft": "second opinion",
    "help": "help", "": "help",
}
# Followed by text, these pre-fill the form with it (as Slack's "/report TEXT" and "/secondopinion DRAFT").
PREFILLING = re.compile(r"\s*(?:(/report)|/second\s*opinion|second\s+opinion:)\s+(\S.*)", re.IGNORECASE | re.DOTALL)
AT_TAG = re.compile(r"</?at\b[^>]*>", re.IGNORECASE)  # Teams wraps a mentioned name in <at>...</at>
_INVISIBLE = str.maketrans({"\xa0": " ", "\u202f": " ", "\u200b": None, "\u200c": None, "\u200d": None,
                            "\ufeff": None})


def actor_of(activity: Activity) -> Actor:
    """Teams identity is the AAD object id (the 29: id differs per bot)."""
    sender = activity.from_property
    return Actor(platform="teams", user_id=sender.aad_object_id or sender.id, name=sender.name or "")


def nobody_sent(activity: Activity) -> bool:
    """A message or invoke that names no sender (no `from`, or one without an id): there is nobody
    to act for or to answer, so it is refused before anything is recorded."""
    sender = activity.from_property
    named = sender is not None and bool(sender.aad_object_id or sender.id)
    return activity.type in (ActivityTypes.message, ActivityTypes.invoke) and not named


def invoke_error(message: str) -> InvokeResponse:
    """A 400 invoke response in the shape Teams expects for a card action it sent wrongly."""
    error = {"code": "BadRequest", "message": message}
    return InvokeResponse(status=400, body={"statusCode": 400, "type": ERROR_TYPE, "value": error})


def channel_data(activity: Activity) -> dict[str, Any]:
    return activity.channel_data if isinstance(activity.channel_data, dict) else {}


def tenant_of(activity: Activity) -> str:
    tenant = (channel_data(activity).get("tenant") or {}).get("id")
    return tenant or (activity.conversation.tenant_id if activity.conversation else "") or ""


def in_channel(activity: Activity) -> bool:
    return bool(activity.conversation and activity.conversation.conversation_type in ("channel", "groupChat"))


def mentions_bot(activity: Activity) -> bool:
    bot_id = activity.recipient.id if activity.recipient else None
    return bool(bot_id) and any(
        isinstance(e.type, str) and e.type.lower() == "mention"
        and ((e.additional_properties or {}).get("mentioned") or {}).get("id") == bot_id
        for e in activity.entities or ()
    )


def starts_thread(activity: Activity) -> bool:
    """A new channel post rather than a reply: Teams names the thread by its first message's id."""
    _, _, root = (activity.conversation.id if activity.conversation else "").partition(";messageid=")
    return root == activity.id


def command_of(text: str) -> tuple[str, str]:
    """What a typed message asks for: ("report" | "report status" | "second opinion" | "help", the text
    to pre-fill the form with), or ("ask", text) for a question."""
    command = COMMANDS.get(" ".join(text.lower().split()).strip(" /!?."))
    if command is not None:
        return command, ""
    prefilled = PREFILLING.fullmatch(text)
    if prefilled:
        return ("report" if prefilled[1] else "second opinion"), prefilled[2].strip()
    return "ask", text


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("br", "p", "div", "li"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def post_text(activity: Activity) -> str:
    """What someone posted, as they see it: from the message's HTML when Teams sends it (mentions
    keep the name, formatting goes), else the text without its <at> tags."""
    html = next((a.content for a in activity.attachments or () if a.content_type == "text/html"
                 and isinstance(a.content, str)), None)
    return html_text(html) if html is not None else AT_TAG.sub("", activity.text or "").strip()


def html_text(html: str) -> str:
    """The text of a Teams message body (HTML): tags dropped, entities decoded, paragraphs kept;
    the editor's no-break spaces are spaces and its zero-width characters go (a draft must be
    printable text)."""
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts).translate(_INVISIBLE)
    return "\n".join(line.strip() for line in text.strip().splitlines()).strip()


def once_key(actor: Actor, nonce: str) -> str:
    """What makes a card submission one record: its nonce, for this person only (a nonce comes back
    in card data, which the client could send as anyone)."""
    return f"teams:nonce:{actor.user_id}:{nonce}"


def typed(activity: Activity) -> bool:
    """A message someone typed (not a card submission): answered after the HTTP response."""
    return activity.type == ActivityTypes.message and not activity.value


def activity_key(activity: Activity) -> str | None:
    """What a re-sent copy shares with the original: a message's or click's conversation and id."""
    if activity.type in (ActivityTypes.message, ActivityTypes.invoke) and activity.id and activity.conversation:
        return f"{activity.conversation.id}|{activity.id}"
    return None


def conversation_rows(activity: Activity) -> list[dict[str, str]]:
    """Where this activity came from, as `teams_conversations` rows, so the bot can post there (and to
    this person) later: the 1:1 chat, or the channel plus what is known about the person (kind "user")."""
    conversation = activity.conversation
    if conversation is None or not activity.service_url:
        return []
    data = channel_data(activity)
    sender = activity.from_property
    common = {"service_url": activity.service_url, "tenant_id": tenant_of(activity),
              "bot_id": activity.recipient.id if activity.recipient else ""}
    person = {"user_aad": sender.aad_object_id or "", "user_id": sender.id or "", "user_name": sender.name or ""} \
        if sender and sender.aad_object_id else {}
    kind = conversation.conversation_type or "personal"
    if kind == "personal":
        return [{"id": conversation.id, "kind": "personal", **common, **person}]
    row = {"id": base_conversation(conversation.id), "kind": kind, **common}
    if kind == "channel":
        team, channel = data.get("team") or {}, data.get("channel") or {}
        row.update(team_id=team.get("id", ""), team_name=team.get("name", ""),
                   channel_name=channel.get("name") or ("General" if channel.get("id") == team.get("id") else ""))
    rows = [row]
    if person:
        rows.append({"id": f"user:{person['user_aad']}", "kind": "user", **common, **person})
    return rows


FORGET_ATTEMPTS = 3  # each waits up to the store's busy timeout


class RecentKeys:
    """Activity keys this process has taken in, oldest forgotten first: a copy Teams re-sends while
    the original is still being handled is turned away in memory, before any disk write."""

    def __init__(self, size: int = RECENT_KEYS) -> None:
        self.size = size
        self.keys: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """True when `key` is new (and now remembered)."""
        if key in self.keys:
            return False
        self.keys[key] = None
        if len(self.keys) > self.size:
            self.keys.popitem(last=False)
        return True

    def discard(self, key: str) -> None:
        self.keys.pop(key, None)


class TeamsBot(ActivityHandler):
    """Questions, forms and SLT buttons, over the same handlers as Slack and the console."""

    def __init__(self, services: Services, directory: TeamsDirectory, connector: Connector) -> None:
        self.services = services
        self.directory = directory
        self.connector = connector
        self.tenant_id = services.settings.microsoft_app_tenant_id
        self.drafting = drafting_channels(services.settings, "teams")
        self.recent = RecentKeys()
        # Set by the HTTP endpoint: runs a coroutine after the response (tests on TestAdapter run it inline).
        self.after_response: Callable[[Coroutine[Any, Any, None]], None] | None = None
        self.submits: dict[str, Callable[[TurnContext, Actor, dict], Awaitable[None]]] = {
            cards.REPORT_SUBMIT: self.submit_report,
            cards.SECOND_OPINION_CHECK: self.check_draft,
            actions.SO_SEND: self.send_draft,
            actions.OPEN_REPORT: lambda tc, actor, data: self.open_report(tc, question_id=_int(data.get("value"))),
            actions.OPEN_SECOND_OPINION: self.open_nudged_post,
            actions.FEEDBACK_HELPFUL: lambda tc, actor, data: self.feedback(tc, actor, data, True),
            actions.FEEDBACK_NOT_HELPFUL: lambda tc, actor, data: self.feedback(tc, actor, data, False),
            actions.SEND_TO_OWNER: self.send_to_owner,
        }

    def other_tenant(self, activity: Activity) -> bool:
        """True for an activity from a tenant other than the school's (when one is configured)."""
        return bool(self.tenant_id) and tenant_of(activity) != self.tenant_id

    def refuse(self, activity: Activity) -> None:
        """Audit an activity refused for its tenant."""
        tenant = tenant_of(activity)
        sender = activity.from_property.aad_object_id if activity.from_property else ""
        self.directory.refused(tenant, sender or "", f"{activity.type} from tenant {tenant or '-'}")

    def first_here(self, activity: Activity) -> bool:
        """False for a copy of an activity this process is already handling or has handled (no disk access)."""
        key = activity_key(activity)
        return key is None or self.recent.add(key)

    async def forget(self, activity: Activity) -> None:
        """Let a copy of this activity in again: handling it failed, and the 500 asks Teams to re-send it."""
        key = activity_key(activity)
        if key is not None:
            self.recent.discard(key)
            await asyncio.to_thread(self.directory.forget, key)

    async def forget_when_free(self, activity: Activity) -> None:
        """`forget` for an activity the database was too busy to store: at once in memory, on disk
        after the response and as soon as the database frees up (waiting on it in the turn would
        keep the person waiting twice, past the point where Teams sends the activity again)."""
        key = activity_key(activity)
        if key is None:
            return
        self.recent.discard(key)

        async def forget_stored() -> None:
            for attempt in range(1, FORGET_ATTEMPTS + 1):
                try:
                    await asyncio.to_thread(self.directory.forget, key)
                    return
                except (sqlite3.Error, StoreError) as exc:
                    if attempt == FORGET_ATTEMPTS:
                        log.warning("activity %s stays recorded as handled, though it was not: %s", key, exc)

        await self.after(forget_stored())

    async def after(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` after the HTTP response when hosted (on TestAdapter, at once)."""
        if self.after_response is None:
            await work
        else:
            self.after_response(work)

    def admit(self, activity: Activity) -> bool:
        """Remember where the activity came from and, for an SLT button or message action (an invoke),
        whether it is new: False for a copy seen before (by another process, or before a restart).
        Messages need no such record: a form submission is one record by its nonce, a vote is an
        upsert and passing a question on happens once, so after a restart a copy costs at most a
        repeated reply, where the record would cost every submission a disk sync."""
        key = activity_key(activity) if activity.type == ActivityTypes.invoke else None
        return self.directory.admit(conversation_rows(activity), key)

    # -- saying things --------------------------------------------------------------------

    async def say(self, turn_context: TurnContext, reply: Reply | cards.Card) -> None:
        """Reply in the thread; a private reply asked for in a channel goes to the person's 1:1 chat."""
        content = cards.reply_card(reply) if isinstance(reply, Reply) else reply
        private = isinstance(reply, Reply) and reply.private
        if private and in_channel(turn_context.activity):
            await self.say_privately(turn_context, content)
            return
        await turn_context.send_activity(message_activity(content))

    async def say_privately(self, turn_context: TurnContext, content: cards.Card) -> None:
        user = actor_of(turn_context.activity).user_id
        try:
            await self.connector.direct(user, message_activity(content))
        except (LookupError, *SEND_ERRORS) as exc:
            log.warning("could not open a 1:1 chat with %s: %r", user, exc)
            await turn_context.send_activity(message_activity(cards.text_card(messages.TEAMS_OPEN_CHAT_FIRST)))
            return
        if in_channel(turn_context.activity):
            await turn_context.send_activity(message_activity(cards.text_card(messages.TEAMS_SENT_PRIVATELY)))

    async def replace_form(self, turn_context: TurnContext, content: cards.Card) -> None:
        """Show `content` in place of the card whose button was pressed (or as a new message)."""
        form_id = turn_context.activity.reply_to_id
        if not form_id:
            await turn_context.send_activity(message_activity(content))
            return
        activity = message_activity(content)
        activity.id = form_id
        await turn_context.update_activity(activity)

    async def confirm_stored(self, turn_context: TurnContext, reply: Reply) -> None:
        """Replace the form with the confirmation of what it stored, after the HTTP response: the record
        is safe by then, and Teams need not wait for another round trip. A card that cannot be replaced
        becomes a new message."""

        async def confirm() -> None:
            card = cards.reply_card(reply)
            try:
                await self.replace_form(turn_context, card)
                return
            except SEND_ERRORS as exc:
                log.warning("could not replace a form with its confirmation (%r); sending it instead", exc)
            try:
                await turn_context.send_activity(message_activity(card))
            except SEND_ERRORS as exc:
                log.warning("could not send a confirmation (%r); what it confirms is stored all the same", exc)

        await self.after(confirm())

    # -- messages -------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        actor = actor_of(activity)
        if isinstance(activity.value, dict) and activity.value.get(cards.FORM):
            handler = self.submits.get(str(activity.value[cards.FORM]))
            if handler is None:
                await self.say(turn_context, Reply(kind="error", text=messages.TEAMS_UNKNOWN_BUTTON))
                return
            await handler(turn_context, actor, activity.value)
            return
        if in_channel(activity) and not mentions_bot(activity):
            await self.suggest_second_opinion(turn_context)
            return
        text = TurnContext.remove_recipient_mention(activity) if activity.entities else (activity.text or "")
        command, rest = command_of(text)
        if command == "report":
            await self.open_report(turn_context, prefill=rest)
        elif command == "report status":
            await self.my_reports(turn_context, actor)
        elif command == "second opinion":
            await self.open_second_opinion(turn_context, prefill=rest)
        elif command == "help":
            await self.say(turn_context, Reply(kind="info", title=messages.HELP_TITLE, text=messages.HELP_TEXT,
                                               notes=[messages.TEAMS_USAGE]))
        else:
            await self.ask(turn_context, actor, text)

    async def ask(self, turn_context: TurnContext, actor: Actor, text: str) -> None:
        activity = turn_context.activity
        try:
            question = Question(actor=actor, text=text, place=Place(
                channel_id=base_conversation(activity.conversation.id), thread_id=activity.id,
                direct=not in_channel(activity)))
        except ValidationError as exc:
            await self.say(turn_context, Reply(kind="error", text=first_error(exc)))
            return
        reply = await asyncio.to_thread(ask, question, self.services.kb, self.services.questions)
        await self.say(turn_context, reply)

    async def feedback(self, turn_context: TurnContext, actor: Actor, data: dict, helpful: bool) -> None:
        question_id = _int(data.get("value"))
        if question_id is None:
            await self.say(turn_context, Reply(kind="error", text=messages.TEAMS_UNKNOWN_BUTTON))
            return
        reply = await asyncio.to_thread(feedback, actor, question_id, helpful, self.services.questions)
        await self.say(turn_context, reply)

    async def send_to_owner(self, turn_context: TurnContext, actor: Actor, data: dict) -> None:
        question_id = _int(data.get("value"))
        if question_id is None:
            await self.say(turn_context, Reply(kind="error", text=messages.TEAMS_UNKNOWN_BUTTON))
            return
        confirmation, notice = await asyncio.to_thread(pass_to_owner, actor, question_id, self.services.questions)
        if notice is not None:
            await asyncio.to_thread(self.services.notify_owner, question_id, notice)
        await self.say(turn_context, confirmation)

    # -- incident reports -----------------------------------------------------------------

    async def open_report(self, turn_context: TurnContext, prefill: str = "", question_id: int | None = None) -> None:
        """The report form, pre-filled with what followed "/report" or with the question of the answer
        whose button was pressed; always in the 1:1 chat: a channel must never see a report being typed."""
        if question_id is not None:
            prefill = await asyncio.to_thread(self.services.questions.question_text, question_id) or ""
        await self.show_form(turn_context, cards.report_form(str(uuid.uuid4()), {"what_happened": prefill}))

    async def show_form(self, turn_context: TurnContext, form: cards.Card) -> None:
        """A form in the person's 1:1 chat (asked in a channel: sent there, with a note in the thread)."""
        if in_channel(turn_context.activity):
            await self.say_privately(turn_context, form)
        else:
            await turn_context.send_activity(message_activity(form))

    async def incident_book(self, turn_context: TurnContext) -> IncidentDB | None:
        """The incident store, or None after telling the person that reports are not set up."""
        try:
            return self.services.incidents
        except ConfigError as exc:
            log.error("incident reports are not set up: %s", exc)
            await self.say(turn_context, Reply(kind="error", text=messages.REPORTS_NOT_SET_UP))
            return None

    async def my_reports(self, turn_context: TurnContext, actor: Actor) -> None:
        """The person's own reports and their status (never anyone else's), privately."""
        book = await self.incident_book(turn_context)
        if book is not None:
            await self.say(turn_context, await asyncio.to_thread(report.reports_for, actor, book))

    async def submit_report(self, turn_context: TurnContext, actor: Actor, data: dict) -> None:
        nonce = str(data.get("nonce") or "")
        values = {field: data.get(field, "") for field in REPORT_FIELDS}
        values["urgent"] = str(values["urgent"]).lower() == "true"
        if not _is_uuid(nonce):
            await self.say(turn_context, Reply(kind="error", text=messages.TEAMS_UNKNOWN_BUTTON))
            return
        try:
            form = ReportForm.model_validate(values)
        except ValidationError as exc:
            await self.replace_form(turn_context, cards.report_form(nonce, values, form_errors(exc)))
            return
        book = await self.incident_book(turn_context)
        if book is None:
            return
        submission = await asyncio.to_thread(report.submit_report, form, actor, once_key(actor, nonce), book)
        if submission.stored:
            await self.confirm_stored(turn_context, submission.reply)
        else:
            await self.say(turn_context, submission.reply)

    # -- second opinions ------------------------------------------------------------------

    async def open_second_opinion(self, turn_context: TurnContext, prefill: str = "") -> None:
        await self.show_form(turn_context, cards.second_opinion_form(str(uuid.uuid4()), {"text": prefill}))

    def is_draft(self, activity: Activity) -> bool:
        """A new post (not a reply) in a drafting channel."""
        conversation = activity.conversation.id if activity.conversation else ""
        return base_conversation(conversation) in self.drafting and starts_thread(activity)

    def overhears(self, activity: Activity) -> bool:
        """A channel message the bot is sent only because it may read a team's every message (for
        its drafting channels): no card submission, no mention of the bot, no new post in a
        drafting channel (or an edit or deletion). Such a message is dropped before anything is
        recorded."""
        if not in_channel(activity):
            return False
        if activity.type in (ActivityTypes.message_update, ActivityTypes.message_delete):
            return True  # edits and deletions of channel messages: never handled
        return (activity.type == ActivityTypes.message and not activity.value and not mentions_bot(activity)
                and not self.is_draft(activity))

    async def suggest_second_opinion(self, turn_context: TurnContext) -> None:
        """A nudge in the thread of a new post in a drafting channel that the reviewer flags (once per
        post). The bot cannot read channel messages back, so the post is kept for its author's click
        on the nudge (see DRAFT_DAYS); a nudge that fails is logged, never an error in the thread."""
        activity = turn_context.activity
        if not self.is_draft(activity):
            return
        channel, text = base_conversation(activity.conversation.id), post_text(activity)
        try:
            suggestion = await asyncio.to_thread(
                self.services.suggest_second_opinion, channel, activity.id, text, self.drafting)
            if suggestion is None:
                return
            await asyncio.to_thread(self.directory.keep_draft, activity.id, actor_of(activity).user_id,
                                    DraftInput(text=text))
            await turn_context.send_activity(message_activity(cards.reply_card(suggestion)))
        except Exception:  # a courtesy to someone who did not ask: a failure is logged, not shown
            log.exception("could not nudge in drafting channel %s", channel)

    async def open_nudged_post(self, turn_context: TurnContext, actor: Actor, data: dict) -> None:
        """The nudge's button: the form with the post it was about, if the author pressed it."""
        kept = await asyncio.to_thread(self.directory.draft, str(data.get("value") or ""), actor.user_id)
        await self.open_second_opinion(turn_context, prefill=kept.text if kept else "")

    async def second_opinion_on_a_message(self, turn_context: TurnContext) -> InvokeResponse:
        """The "Get a second opinion" message action: the form, with that message as the draft, goes to the
        person's 1:1 chat; Teams shows them where it went."""
        value = turn_context.activity.value if isinstance(turn_context.activity.value, dict) else {}
        body = (value.get("messagePayload") or {}).get("body") or {}
        draft = html_text(str(body.get("content") or "")) if body.get("contentType") == "html" \
            else str(body.get("content") or "")
        form = cards.second_opinion_form(str(uuid.uuid4()), {"text": draft})
        user = actor_of(turn_context.activity).user_id
        try:
            await self.connector.direct(user, message_activity(form))
            note = messages.TEAMS_FORM_SENT_PRIVATELY
        except (LookupError, *SEND_ERRORS) as exc:
            log.warning("could not open a 1:1 chat with %s: %r", user, exc)
            note = messages.TEAMS_OPEN_CHAT_FIRST
        return InvokeResponse(status=200, body={"task": {"type": "message", "value": note}})

    async def check_draft(self, turn_context: TurnContext, actor: Actor, data: dict) -> None:
        nonce = str(data.get("nonce") or "")
        if not _is_uuid(nonce):
            await self.say(turn_context, Reply(kind="error", text=messages.TEAMS_UNKNOWN_BUTTON))
            return
        draft = DraftInput(
            text=str(data.get("text") or ""),
            target=str(data.get("account") or "").strip() or None,
            contains_learner_images=str(data.get("learner_images")).lower() == "true",
            permission_checked=str(data.get("permission_checked")).lower() == "true",
        )
        error = second_opinion.draft_error(draft)
        if error:
            await self.replace_form(turn_context, cards.second_opinion_form(nonce, data, error))
            return
        reply = await asyncio.to_thread(second_opinion.check_draft, actor, draft, self.services.reviewer)
        # Kept under the form and the draft: the form stays live, so a revised draft is a new request,
        # and a check clicked twice (or re-sent by Teams) is still one.
        checked = str(uuid.uuid5(uuid.UUID(nonce), draft.model_dump_json()))
        await asyncio.to_thread(self.directory.keep_draft, checked, actor.user_id, draft)
        buttons = [b.model_copy(update={"value": checked}) if b.action == actions.SO_SEND else b for b in reply.buttons]
        await self.say(turn_context, reply.model_copy(update={"buttons": buttons}))

    async def send_draft(self, turn_context: TurnContext, actor: Actor, data: dict) -> None:
        nonce = str(data.get("value") or "")
        draft = await asyncio.to_thread(self.directory.draft, nonce, actor.user_id) if _is_uuid(nonce) else None
        if draft is None:
            await self.say(turn_context, Reply(kind="error", text=messages.TEAMS_DRAFT_GONE))
            return
        submission = await asyncio.to_thread(
            second_opinion.request_second_opinion, actor, draft, once_key(actor, nonce),
            self.services.reviewer, self.services.reviews,
        )
        if submission.stored:
            await self.confirm_stored(turn_context, submission.reply)
        else:
            await self.say(turn_context, submission.reply)

    # -- SLT buttons (Action.Execute) -----------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        """Answer SLT card buttons (`adaptiveCard/action`) ourselves (a message reply must be a plain
        string), and the "Get a second opinion" message action."""
        activity = turn_context.activity
        if activity.name == "composeExtension/fetchTask" and isinstance(activity.value, dict) \
                and activity.value.get("commandId") == SECOND_OPINION_COMMAND:
            return await self.second_opinion_on_a_message(turn_context)
        if activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        action = activity.value.get("action") if isinstance(activity.value, dict) else None
        if not isinstance(action, dict) or action.get("type") != "Action.Execute":
            return invoke_error("expected an Action.Execute action")
        return InvokeResponse(status=200, body=await self.card_action(turn_context, action))

    async def card_action(self, turn_context: TurnContext, action: dict) -> dict:
        actor = actor_of(turn_context.activity)
        verb = str(action.get("verb") or "")
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        reference = str(data.get("value") or "")
        comment = data.get(cards.COMMENT)
        comment = comment if isinstance(comment, str) else None
        now = datetime.now(timezone.utc)
        try:
            return await self._slt_action(turn_context, actor, verb, reference, comment, now)
        except ConfigError as exc:
            log.error("SLT action %s on %s: %s", verb, reference, exc)
            return message_response(messages.REPORTS_NOT_SET_UP)
        except NotStored as exc:  # a busy database: nothing changed, so the same click sent again must count
            log.warning("SLT action %s on %s was not stored: %s", verb, reference, exc)
            await self.forget_when_free(turn_context.activity)
            return message_response(messages.INTERNAL_ERROR)

    async def _slt_action(self, turn_context: TurnContext, actor: Actor, verb: str, reference: str,
                          comment: str | None, now: datetime) -> dict:
        card: cards.Card | None
        if verb.startswith("incident_"):
            outcome = await asyncio.to_thread(
                report.act, actor, reference, verb, self.services.incidents, self.services.roster, comment, now
            )
            card = cards.reply_card(report.slt_post(outcome.incident, now)) \
                if outcome.changed and outcome.incident else None
        elif verb == actions.SO_VIEW:
            reply = await asyncio.to_thread(second_opinion.view_draft, actor, reference, self.services.reviews,
                                            self.services.roster)
            return await self._private_result(turn_context, reply)
        elif verb in second_opinion.DECISIONS:
            decision = await asyncio.to_thread(
                second_opinion.decide, actor, reference, verb, comment, self.services.reviews, self.services.roster, now
            )
            card = cards.reply_card(second_opinion.slt_post(decision.request, now)) \
                if decision.changed and decision.request else None
            outcome = decision  # type: ignore[assignment]
        else:
            return message_response(messages.TEAMS_UNKNOWN_BUTTON)
        if card is not None:
            return {"statusCode": 200, "type": cards.CONTENT_TYPE, "value": card}
        return await self._private_result(turn_context, outcome.reply)

    async def _private_result(self, turn_context: TurnContext, reply: Reply) -> dict:
        """Details go to the SLT member's 1:1 chat; errors and confirmations show as a message to them."""
        if reply.kind in ("incident", "review"):
            try:
                await self.connector.direct(actor_of(turn_context.activity).user_id,
                                            message_activity(cards.reply_card(reply)))
            except (LookupError, *SEND_ERRORS):
                return message_response(messages.TEAMS_OPEN_CHAT_FIRST)
            return message_response(messages.TEAMS_SENT_PRIVATELY)
        return message_response(reply.text)


def message_response(text: str) -> dict:
    """An adaptiveCard/action answer that shows `text` to the person who pressed the button."""
    return {"statusCode": 200, "type": MESSAGE_TYPE, "value": text}


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
