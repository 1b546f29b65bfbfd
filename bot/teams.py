"""Microsoft Teams: the Bot Framework endpoint, the bot, and the outbox transport.

Everything that touches the (archived) Bot Framework SDK lives here and in
`bot/teams_cards.py`, so moving to the Microsoft 365 Agents SDK changes nothing else.
The handlers, store and outbox are the same as for Slack; only rendering and transport
differ.

- `build_teams_app(services)` composes the aiohttp application serving `/api/messages`
  (what `staffbot serve teams` runs and what the tests serve on loopback).
- `TeamsBot` turns activities into handler calls: questions (1:1 or @mention), the report
  and second-opinion forms (Adaptive Cards with a nonce), and SLT card buttons
  (`Action.Execute` answered with the updated card).
- `Connector` sends through the Bot Connector REST API; `TeamsTransport` is the outbox's
  synchronous face of it, scheduling onto the server's event loop.

Safety: no App ID means no authentication, so the app refuses to start without one unless
STAFFBOT_TEAMS_NO_AUTH is set (for local tests). Authentication failures are 401, bad
bodies 400/415, activities from another tenant 403 (and audited); re-sent activities are
ignored by id.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web
from botbuilder.core import ActivityHandler, CardFactory, InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import ConnectorFactory
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationParameters,
)
from msrest.exceptions import ClientRequestError, DeserializationError, HttpOperationError
from pydantic import ValidationError

from handlers import actions, messages, report, second_opinion
from handlers.ask import ask, feedback, pass_to_owner
from handlers.incident_models import ReportForm, form_errors
from handlers.models import Actor, Place, Question, Reply
from knowledge.review.models import DraftInput

from bot import teams_cards as cards
from bot.config import ConfigError, Settings
from bot.delivery import DeliveryError, OutboundMessage
from bot.services import Services
from bot.teams_store import TeamsDirectory, base_conversation

log = logging.getLogger(__name__)

SEND_TIMEOUT = 30.0
REPORT_FIELDS = ("category", "what_happened", "platform", "link", "when", "people", "urgent")
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 413})
MESSAGE_TYPE = "application/vnd.microsoft.activity.message"
PENDING_TURNS = web.AppKey("teams_pending_turns", set)  # questions being answered after their 201
ERROR_TYPE = "application/vnd.microsoft.error"


class Refused(Exception):
    """The activity comes from a tenant other than the school's: answer 403, do nothing."""


def auth_config(settings: Settings) -> SimpleNamespace:
    """The attribute names ConfigurationBotFrameworkAuthentication reads."""
    return SimpleNamespace(
        APP_ID=settings.microsoft_app_id,
        APP_PASSWORD=settings.microsoft_app_password,
        APP_TYPE=settings.microsoft_app_type,
        APP_TENANTID=settings.microsoft_app_tenant_id,
    )


def check_auth_settings(settings: Settings) -> None:
    """Refuse to run unauthenticated unless explicitly asked to, and say so loudly when asked."""
    if settings.microsoft_app_id:
        return
    if not settings.teams_no_auth:
        raise ConfigError(
            "MICROSOFT_APP_ID is not set: Teams requests could not be authenticated. "
            "Set it (and MICROSOFT_APP_PASSWORD), or STAFFBOT_TEAMS_NO_AUTH=1 for local testing only."
        )
    print(messages.TEAMS_NO_AUTH_WARNING, file=sys.stderr, flush=True)
    log.warning(messages.TEAMS_NO_AUTH_WARNING)


def actor_of(activity: Activity) -> Actor:
    """Teams identity is the AAD object id (the 29: id differs per bot)."""
    sender = activity.from_property
    return Actor(platform="teams", user_id=sender.aad_object_id or sender.id, name=sender.name or "")


def channel_data(activity: Activity) -> dict[str, Any]:
    return activity.channel_data if isinstance(activity.channel_data, dict) else {}


def tenant_of(activity: Activity) -> str:
    tenant = (channel_data(activity).get("tenant") or {}).get("id")
    return tenant or (activity.conversation.tenant_id if activity.conversation else "") or ""


def in_channel(activity: Activity) -> bool:
    return bool(activity.conversation and activity.conversation.conversation_type in ("channel", "groupChat"))


def message_activity(content: cards.Card) -> Activity:
    return Activity(type=ActivityTypes.message, attachments=[CardFactory.adaptive_card(content)])


# -- sending ------------------------------------------------------------------------------


class ReusedClients(ConnectorFactory):
    """Connector clients kept per service URL: botbuilder builds fresh msrest clients on every turn,
    ~3 ms of CPU each, which would make a burst of 50 activities queue for a quarter of a second."""

    def __init__(self) -> None:
        self.inner: ConnectorFactory | None = None
        self.clients: dict[tuple[str, str | None], ConnectorClient] = {}

    def wrap(self, factory: ConnectorFactory) -> ConnectorFactory:
        """Use `factory` (the bot's own credentials) to make clients that are then reused."""
        self.inner = self.inner or factory
        return self

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        assert self.inner is not None, "wrap() a connector factory first"
        key = (service_url, audience)
        if key not in self.clients:
            self.clients[key] = await self.inner.create(service_url, audience)
        return self.clients[key]

    async def close(self) -> None:
        for client in self.clients.values():
            await client.__aexit__(None, None, None)
        self.clients.clear()


class TeamsAuthentication(ConfigurationBotFrameworkAuthentication):
    """The configured authentication, with the (unused) user-token client built once rather than per turn."""

    _user_tokens: Any = None

    async def create_user_token_client(self, claims_identity: Any) -> Any:
        if self._user_tokens is None:
            self._user_tokens = await super().create_user_token_client(claims_identity)
        return self._user_tokens



class Connector:
    """Proactive sends through the Bot Connector: new channel threads, thread replies, updates, 1:1 chats."""

    def __init__(self, clients: ReusedClients, app_id: str, directory: TeamsDirectory, tenant_id: str) -> None:
        self.clients = clients
        self.app_id = app_id
        self.directory = directory
        self.tenant_id = tenant_id

    async def client(self, service_url: str) -> ConnectorClient:
        return await self.clients.create(service_url, None)

    def _known(self, conversation_id: str) -> dict:
        row = self.directory.conversation(base_conversation(conversation_id))
        if row is None:
            raise LookupError(f"the bot has not been added to Teams conversation {base_conversation(conversation_id)}")
        return row

    async def post_in(self, conversation_id: str, activity: Activity, reply_to: str | None = None) -> str:
        """Post into a known conversation (a channel thread when the id carries ;messageid=)."""
        client = await self.client(self._known(conversation_id)["service_url"])
        if reply_to:
            response = await client.conversations.reply_to_activity(conversation_id, reply_to, activity)
        else:
            response = await client.conversations.send_to_conversation(conversation_id, activity)
        return response.id if response and response.id else ""

    async def update(self, conversation_id: str, activity_id: str, activity: Activity) -> str:
        client = await self.client(self._known(conversation_id)["service_url"])
        activity.id = activity_id
        await client.conversations.update_activity(conversation_id, activity_id, activity)
        return activity_id

    async def new_thread(self, channel_id: str, activity: Activity) -> str:
        """Start a thread in a channel; returns the root message id (threads are '<channel>;messageid=<id>')."""
        row = self._known(channel_id)
        client = await self.client(row["service_url"])
        parameters = ConversationParameters(
            is_group=True,
            bot=ChannelAccount(id=row["bot_id"] or self.app_id),
            channel_data={"channel": {"id": channel_id}, "tenant": {"id": row["tenant_id"] or self.tenant_id}},
            activity=activity,
            tenant_id=row["tenant_id"] or self.tenant_id,
        )
        result = await client.conversations.create_conversation(parameters)
        return result.activity_id or result.id.partition(";messageid=")[2] or result.id

    async def direct(self, user: str, activity: Activity) -> str:
        """Message a person 1:1 by AAD object id, creating the chat when the bot has none with them."""
        row = self.directory.personal(user)
        if row is None:
            raise LookupError(f"the bot has never seen Teams user {user}, so it cannot message them")
        if row["kind"] != "personal":
            row = await self._open_chat(row, user)
        client = await self.client(row["service_url"])
        response = await client.conversations.send_to_conversation(row["id"], activity)
        return response.id if response and response.id else ""

    async def _open_chat(self, known: dict, user: str) -> dict:
        tenant = known["tenant_id"] or self.tenant_id
        client = await self.client(known["service_url"])
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=known["bot_id"] or self.app_id),
            members=[ChannelAccount(id=known["user_id"] or user, aad_object_id=user)],
            channel_data={"tenant": {"id": tenant}},
            tenant_id=tenant,
        )
        result = await client.conversations.create_conversation(parameters)
        row = {**known, "id": result.id, "kind": "personal"}
        self.directory.remember(row)
        return row

    async def deliver(self, message: OutboundMessage) -> str:
        """One outbox message; destinations are Teams ids without the 'teams:' prefix."""
        activity = message_activity(cards.reply_card(message.reply))
        if message.kind == "post":
            return await self.new_thread(message.destination, activity)
        if message.kind == "reply":
            assert message.thread, "a reply needs the thread's root message id"
            return await self.post_in(f"{message.destination};messageid={message.thread}", activity)
        if message.kind == "update":
            assert message.message, "an update needs the message id"
            return await self.update(f"{message.destination};messageid={message.message}", message.message, activity)
        return await self.direct(message.destination, activity)


def delivery_error(exc: BaseException) -> DeliveryError:
    """Teams' answers as the outbox understands them: 429 waits, 5xx/412 retry, 4xx are final."""
    if isinstance(exc, HttpOperationError):
        response = exc.response
        status = getattr(response, "status_code", None) or getattr(response, "status", None) or 0
        headers = getattr(response, "headers", {}) or {}
        if status == 429:
            try:
                wait = float(headers.get("Retry-After", ""))
            except ValueError:
                wait = None
            return DeliveryError(f"Teams rate limit (429)", retry_after=wait)
        return DeliveryError(f"Teams answered {status}", permanent=status in PERMANENT_STATUSES)
    return DeliveryError(f"Teams unreachable: {exc!r}")


class TeamsTransport:
    """The outbox's Teams `Transport`: a blocking `send()` run on the server's event loop."""

    platform = "teams"

    def __init__(self, connector: Connector, timeout: float = SEND_TIMEOUT) -> None:
        self.connector = connector
        self.timeout = timeout
        self.loop: asyncio.AbstractEventLoop | None = None

    def send(self, message: OutboundMessage) -> str:
        loop = self.loop
        if loop is None or not loop.is_running():
            raise DeliveryError("the Teams server is not running")
        future = asyncio.run_coroutine_threadsafe(self.connector.deliver(message), loop)
        try:
            return future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise DeliveryError("Teams did not answer in time") from None
        except (HttpOperationError, ClientRequestError, aiohttp.ClientError, OSError) as exc:
            raise delivery_error(exc) from exc
        except LookupError as exc:
            raise DeliveryError(str(exc)) from exc


# -- the bot ------------------------------------------------------------------------------


class TeamsBot(ActivityHandler):
    """Questions, forms and SLT buttons, over the same handlers as Slack and the console."""

    def __init__(self, services: Services, directory: TeamsDirectory, connector: Connector) -> None:
        self.services = services
        self.directory = directory
        self.connector = connector
        self.tenant_id = services.settings.microsoft_app_tenant_id
        self.submits: dict[str, Callable[[TurnContext, Actor, dict], Awaitable[None]]] = {
            cards.REPORT_SUBMIT: self.submit_report,
            cards.SECOND_OPINION_CHECK: self.check_draft,
            actions.SO_SEND: self.send_draft,
            actions.OPEN_REPORT: lambda tc, actor, data: self.open_report(tc),
            actions.OPEN_SECOND_OPINION: lambda tc, actor, data: self.open_second_opinion(tc),
            actions.FEEDBACK_HELPFUL: lambda tc, actor, data: self.feedback(tc, actor, data, True),
            actions.FEEDBACK_NOT_HELPFUL: lambda tc, actor, data: self.feedback(tc, actor, data, False),
            actions.SEND_TO_OWNER: self.send_to_owner,
        }

    def admit(self, activity: Activity) -> bool:
        """Check the tenant (raising Refused, audited), remember the conversation; False for a re-sent copy."""
        tenant = tenant_of(activity)
        if self.tenant_id and tenant != self.tenant_id:
            sender = activity.from_property.aad_object_id if activity.from_property else ""
            self.directory.refused(tenant, sender or "", f"{activity.type} from tenant {tenant or '-'}")
            raise Refused(tenant)
        self.remember(activity)
        if activity.type in (ActivityTypes.message, ActivityTypes.invoke) and activity.id and activity.conversation:
            if not self.directory.first_time(f"{activity.conversation.id}|{activity.id}"):
                log.info("ignoring re-sent Teams activity %s", activity.id)
                return False
        return True

    def remember(self, activity: Activity) -> None:
        """Store where this activity came from, so the bot can post there (and to this person) later."""
        conversation = activity.conversation
        if conversation is None or not activity.service_url:
            return
        data = channel_data(activity)
        sender = activity.from_property
        common = {"service_url": activity.service_url, "tenant_id": tenant_of(activity),
                  "bot_id": activity.recipient.id if activity.recipient else ""}
        person = {"user_aad": sender.aad_object_id or "", "user_id": sender.id or "", "user_name": sender.name or ""} \
            if sender and sender.aad_object_id else {}
        kind = conversation.conversation_type or "personal"
        if kind == "personal":
            self.directory.remember({"id": conversation.id, "kind": "personal", **common, **person})
            return
        row = {"id": base_conversation(conversation.id), "kind": kind, **common}
        if kind == "channel":
            team, channel = data.get("team") or {}, data.get("channel") or {}
            row.update(team_id=team.get("id", ""), team_name=team.get("name", ""),
                       channel_name=channel.get("name") or ("General" if channel.get("id") == team.get("id") else ""))
        self.directory.remember(row)
        if person and not self.directory.personal(person["user_aad"]):
            self.directory.remember({"id": f"user:{person['user_aad']}", "kind": "user", **common, **person})

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
        except (LookupError, HttpOperationError, ClientRequestError) as exc:
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
        text = TurnContext.remove_recipient_mention(activity) if activity.entities else (activity.text or "")
        command = " ".join(text.lower().split()).strip(" /!?.")
        if command in ("report", "report an incident"):
            await self.open_report(turn_context)
        elif command in ("second opinion", "secondopinion", "check a draft"):
            await self.open_second_opinion(turn_context)
        elif command in ("help", ""):
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
            await self.say(turn_context, Reply(kind="error", text=_first_error(exc)))
            return
        reply = await asyncio.to_thread(ask, question, self.services.kb, self.services.questions)
        await self.say(turn_context, reply)

    async def feedback(self, turn_context: TurnContext, actor: Actor, data: dict, helpful: bool) -> None:
        question_id = _int(data.get("value"))
        if question_id is None:
            await self.say(turn_context, Reply(kind="error", text=messages.TEAMS_UNKNOWN_BUTTON))
            return
        await self.say(turn_context, await asyncio.to_thread(feedback, actor, question_id, helpful, self.services.questions))

    async def send_to_owner(self, turn_context: TurnContext, actor: Actor, data: dict) -> None:
        question_id = _int(data.get("value"))
        if question_id is None:
            await self.say(turn_context, Reply(kind="error", text=messages.TEAMS_UNKNOWN_BUTTON))
            return
        confirmation, notice = await asyncio.to_thread(pass_to_owner, actor, question_id, self.services.questions)
        if notice is not None:
            await asyncio.to_thread(self._post_to_slt, notice)
        await self.say(turn_context, confirmation)

    def _post_to_slt(self, notice: Reply) -> None:
        """The policy owner's notice goes wherever reports go by default (Slack or Teams)."""
        try:
            destinations = self.services.routing.default
        except ConfigError as exc:
            log.warning("cannot tell the policy owner: %s", exc)
            return
        for target in destinations:
            self.services.outbox.enqueue(target.platform, OutboundMessage(kind="post", destination=target.id, reply=notice))

    # -- incident reports -----------------------------------------------------------------

    async def open_report(self, turn_context: TurnContext) -> None:
        """The report form always goes to the 1:1 chat: a channel must never see a report being typed."""
        form = cards.report_form(str(uuid.uuid4()))
        if in_channel(turn_context.activity):
            await self.say_privately(turn_context, form)
        else:
            await turn_context.send_activity(message_activity(form))

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
        try:
            book = self.services.incidents
        except ConfigError as exc:
            log.error("incident reports are not set up: %s", exc)
            await self.say(turn_context, Reply(kind="error", text=messages.REPORTS_NOT_SET_UP))
            return
        submission = await asyncio.to_thread(report.submit_report, form, actor, f"teams:nonce:{nonce}", book)
        if submission.stored:
            await self.replace_form(turn_context, cards.reply_card(submission.reply))
        else:
            await self.say(turn_context, submission.reply)

    # -- second opinions ------------------------------------------------------------------

    async def open_second_opinion(self, turn_context: TurnContext) -> None:
        form = cards.second_opinion_form(str(uuid.uuid4()))
        if in_channel(turn_context.activity):
            await self.say_privately(turn_context, form)
        else:
            await turn_context.send_activity(message_activity(form))

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
        await asyncio.to_thread(self.directory.keep_draft, nonce, actor.user_id, draft)
        buttons = [b.model_copy(update={"value": nonce}) if b.action == actions.SO_SEND else b for b in reply.buttons]
        await self.say(turn_context, reply.model_copy(update={"buttons": buttons}))

    async def send_draft(self, turn_context: TurnContext, actor: Actor, data: dict) -> None:
        nonce = str(data.get("value") or "")
        draft = await asyncio.to_thread(self.directory.draft, nonce, actor.user_id) if _is_uuid(nonce) else None
        if draft is None:
            await self.say(turn_context, Reply(kind="error", text=messages.TEAMS_DRAFT_GONE))
            return
        submission = await asyncio.to_thread(
            second_opinion.request_second_opinion, actor, draft, f"teams:nonce:{nonce}",
            self.services.reviewer, self.services.reviews,
        )
        if submission.stored:
            await self.replace_form(turn_context, cards.reply_card(submission.reply))
        else:
            await self.say(turn_context, submission.reply)

    # -- SLT buttons (Action.Execute) -----------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        """Answer SLT card buttons (`adaptiveCard/action`) ourselves: a message reply must be a plain string."""
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        action = activity.value.get("action") if isinstance(activity.value, dict) else None
        if not isinstance(action, dict) or action.get("type") != "Action.Execute":
            error = {"code": "BadRequest", "message": "expected an Action.Execute action"}
            return InvokeResponse(status=400, body={"statusCode": 400, "type": ERROR_TYPE, "value": error})
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

    async def _slt_action(self, turn_context: TurnContext, actor: Actor, verb: str, reference: str,
                          comment: str | None, now: datetime) -> dict:
        card: cards.Card | None
        if verb.startswith("incident_"):
            outcome = await asyncio.to_thread(
                report.act, actor, reference, verb, self.services.incidents, self.services.roster, comment, now
            )
            card = cards.reply_card(report.slt_post(outcome.incident, now)) if outcome.changed and outcome.incident else None
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
            except (LookupError, HttpOperationError, ClientRequestError):
                return message_response(messages.TEAMS_OPEN_CHAT_FIRST)
            return message_response(messages.TEAMS_SENT_PRIVATELY)
        return message_response(reply.text)


def message_response(text: str) -> dict:
    """An adaptiveCard/action answer that shows `text` to the person who pressed the button."""
    return {"statusCode": 200, "type": MESSAGE_TYPE, "value": text}


def _first_error(exc: ValidationError) -> str:
    return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")


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


# -- the HTTP endpoint --------------------------------------------------------------------


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def messages_endpoint(adapter: CloudAdapter, bot: TeamsBot, clients: ReusedClients,
                      background: set[asyncio.Task]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """POST /api/messages: authenticate, admit, then run the turn; every failure is a status, never a traceback.

    Typed questions are answered after the 201 (the answer is a separate connector call
    anyway), so a burst of questions never keeps Teams waiting; card submissions and
    invokes run before the response, so a report is stored before Teams hears back.
    """

    async def turn(auth: Any, activity: Activity) -> InvokeResponse | None:
        return await adapter.process_activity(auth, activity, bot.on_turn)

    async def handle(request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return _error(415, "expected Content-Type: application/json")
        try:
            body = json.loads(await request.read())
            if not isinstance(body, dict) or not isinstance(body.get("type"), str):
                raise ValueError("not an activity")
            activity = Activity().deserialize(body)
        except (ValueError, DeserializationError):
            return _error(400, "the body is not a Bot Framework activity in JSON")
        try:
            auth = await adapter.bot_framework_authentication.authenticate_request(
                activity, request.headers.get("Authorization", "")
            )
        except Exception as exc:  # PermissionError, jwt's DecodeError, unreachable key endpoint...
            log.warning("refused a Teams request: %s", type(exc).__name__)
            return _error(401, "unauthorized")
        if auth.connector_factory is not None:
            auth.connector_factory = clients.wrap(auth.connector_factory)
        try:
            first = await asyncio.to_thread(bot.admit, activity)
        except Refused:
            return _error(403, "this bot serves another tenant")
        if not first:
            if activity.type == ActivityTypes.invoke:
                return web.json_response(message_response(messages.TEAMS_ALREADY_DONE))
            return web.Response(status=201)
        if activity.type == ActivityTypes.message and not activity.value:
            task = asyncio.create_task(turn(auth, activity))
            background.add(task)
            task.add_done_callback(_finished(background))
            return web.Response(status=201)
        try:
            invoke = await turn(auth, activity)
        except Exception:
            log.exception("Teams turn failed")
            return _error(500, "internal error")
        if invoke is not None:
            return web.json_response(invoke.body, status=invoke.status)
        return web.Response(status=201)

    return handle


def _finished(background: set[asyncio.Task]) -> Callable[[asyncio.Task], None]:
    def done(task: asyncio.Task) -> None:
        background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Teams turn failed", exc_info=task.exception())

    return done


async def _on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """Tell the person plainly that nothing happened; the details go to the log."""
    log.error("Teams turn failed", exc_info=error)
    if turn_context.activity.type == ActivityTypes.message:
        await turn_context.send_activity(message_activity(cards.text_card(messages.INTERNAL_ERROR)))


def build_teams_app(services: Services) -> web.Application:
    """The aiohttp application behind `staffbot serve teams`; registers the outbox transport on startup."""
    settings = services.settings
    check_auth_settings(settings)
    services.kb, services.questions  # built once here, not by racing handler threads
    auth = TeamsAuthentication(auth_config(settings))
    adapter = CloudAdapter(auth)
    adapter.on_turn_error = _on_turn_error
    directory = TeamsDirectory(services.store)
    clients = ReusedClients()
    clients.wrap(auth.create_connector_factory(adapter.create_claims_identity(settings.microsoft_app_id)))
    connector = Connector(clients, settings.microsoft_app_id, directory, settings.microsoft_app_tenant_id)
    bot = TeamsBot(services, directory, connector)
    transport = TeamsTransport(connector)
    background: set[asyncio.Task] = set()

    async def started(app: web.Application) -> None:
        transport.loop = asyncio.get_running_loop()
        services.outbox.register(transport)

    async def stopping(app: web.Application) -> None:
        if background:
            await asyncio.wait(set(background), timeout=SEND_TIMEOUT)
        transport.loop = None
        await clients.close()

    app = web.Application()
    app.router.add_post("/api/messages", messages_endpoint(adapter, bot, clients, background))
    app[PENDING_TURNS] = background
    app.on_startup.append(started)
    app.on_cleanup.append(stopping)
    return app
