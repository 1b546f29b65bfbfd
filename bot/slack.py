"""The Slack side of the bot: a bolt `App` whose listeners call the neutral handlers.

`build_slack_app(services)` is the one place the Slack app is put together; `staffbot
serve slack` serves it over HTTP (`http_server`, waitress behind bolt's WSGI adapter) or
Socket Mode, and the tests serve the very same app on a loopback port.

Listeners follow bolt's model: registered by decorators, `ack()` first, slow work after
it (events are acknowledged by bolt before the listener runs). A redelivered event
(`X-Slack-Retry-Num`, same `event_id`) is dropped: each event listener first records the
event id in SQLite (insert-or-ignore on a UNIQUE key) and does nothing if it was there,
so a retry never answers twice. Messages in the opt-in drafting channels
(STAFFBOT_DRAFTING_CHANNELS) are checked by the draft reviewer and a flagged one gets a
gentle thread reply suggesting a second opinion, once per message. Report modals
are the exception to "ack first": the report is stored (milliseconds) before the ack so
the ack can say whether it was received, with the form's own errors if not.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError
from slack_bolt import App
from slack_bolt.error import BoltError
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from handlers import actions, messages, report, second_opinion
from handlers.ask import ask, feedback, pass_to_owner
from handlers.incident_models import ReportForm, form_errors
from handlers.models import Actor, Button, Fact, Place, Question, Reply, first_error
from handlers.second_opinion import DecisionOutcome
from knowledge.review.models import DraftInput

from bot import slack_blocks as blocks
from bot.config import ConfigError
from bot.delivery import DeliveryError, OutboundMessage
from bot.routing import drafting_channels
from bot.services import Services, configured
from bot.store import Store

log = logging.getLogger(__name__)

# What the app handles; manifest.json must name exactly these (tests/test_slack_manifest.py).
COMMANDS = ("/policy", "/report", "/secondopinion")
EVENTS = ("app_mention", "message.im", "message.channels", "message.groups", "app_home_opened")
SECOND_OPINION_SHORTCUT = "second_opinion_shortcut"
RETRY_DELIVERY = "retry_delivery"  # Slack only: "Try again" on a failed delivery, on an SLT member's Home tab
SHORTCUTS = (SECOND_OPINION_SHORTCUT,)
EVENTS_PATH = "/slack/events"

INCIDENT_ACTIONS = (
    actions.INCIDENT_VIEW,
    actions.INCIDENT_ACKNOWLEDGE,
    actions.INCIDENT_ASSIGN,
    actions.INCIDENT_NOTE,
    actions.INCIDENT_ESCALATE,
    actions.INCIDENT_RESOLVE,
)
USERGROUP_TTL_SECONDS = 60.0
LISTENER_THREADS = 64
HTTP_THREADS = 32
EVENT_MEMORY_SECONDS = 24 * 3600
FAILED_SHOWN = 20  # failed deliveries listed on an SLT member's Home tab, newest first
MESSAGE_TS = re.compile(r"^\d+\.\d+$")
DRAFT_SUBTYPES = (None, "file_share")  # a new post, perhaps with a photo; not edits, joins or bots


def pressed(*names: str) -> re.Pattern[str]:
    """Match the action ids of these buttons, including numbered repeats ("incident_view#2")."""
    return re.compile(rf"^({'|'.join(map(re.escape, names))})(#\d+)?$")


# -- event de-duplication -----------------------------------------------------------------

migrations = Migrations("staffbot.slack")


@migrations()
def create_slack_events(db: Database) -> None:
    db["slack_events"].create({"event_id": str, "received_at": float}, pk="event_id")
    db["slack_events"].create_index(["received_at"])


class SeenEvents:
    """Event ids already received, so Slack's retries of one event are handled once."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.migrate([migrations])

    def first_delivery(self, event_id: str, now: float | None = None) -> bool:
        """Record `event_id`; True only for the first delivery (the UNIQUE key decides, not a read)."""
        now = time.time() if now is None else now
        db = self.store.db
        with db.atomic():
            cursor = db.execute(
                "insert or ignore into slack_events (event_id, received_at) values (?, ?)", [event_id, now]
            )
            db.execute("delete from slack_events where received_at < ?", [now - EVENT_MEMORY_SECONDS])
        return cursor.rowcount == 1


# -- outbound delivery --------------------------------------------------------------------

PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "no_permission",
        "user_not_found",
        "msg_too_long",
        "msg_blocks_too_long",
        "invalid_blocks",
        "invalid_arguments",
        "no_text",
        "cant_update_message",
        "message_not_found",
        "restricted_action",
    }
)


def delivery_error(exc: SlackApiError) -> DeliveryError:
    """Classify a Web API failure for the outbox: when to retry, or not at all."""
    response = exc.response
    error = str(response.get("error", "") if isinstance(response.data, dict) else "") or f"HTTP {response.status_code}"
    if response.status_code == 429 or error == "ratelimited":
        retry_after = response.headers.get("retry-after") or response.headers.get("Retry-After")
        try:
            delay = float(retry_after[0] if isinstance(retry_after, list) else retry_after)
        except (TypeError, ValueError):
            delay = None
        return DeliveryError(f"rate limited ({error})", retry_after=delay)
    return DeliveryError(error, permanent=response.status_code < 500 and error in PERMANENT_ERRORS)


class SlackTransport:
    """Sends outbox messages with the bot token: posts, thread replies, updates and DMs."""

    platform = "slack"

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def send(self, message: OutboundMessage) -> str:
        content = blocks.message(message.reply)
        try:
            if message.kind == "update":
                if not message.message:
                    raise DeliveryError("no message to update", permanent=True)
                response = self.client.chat_update(
                    channel=message.destination, ts=message.message, text=content["text"], blocks=content["blocks"]
                )
            else:
                thread = message.thread if message.kind == "reply" else None
                response = self.client.chat_postMessage(channel=message.destination, thread_ts=thread, **content)
        except SlackApiError as exc:
            raise delivery_error(exc) from exc
        except OSError as exc:  # connection refused, reset, timed out: worth another try
            raise DeliveryError(f"network error: {exc}") from exc
        return str(response["ts"])


class UsergroupMembers:
    """The SLT user group's members, looked up at most once a minute (the roster's `extra["slack"]`)."""

    def __init__(self, client: WebClient, usergroup: str, ttl: float = USERGROUP_TTL_SECONDS) -> None:
        self.client = client
        self.usergroup = usergroup
        self.ttl = ttl
        self.members: set[str] = set()
        self.fetched_at = float("-inf")
        self.lock = threading.Lock()

    def __call__(self) -> set[str]:
        with self.lock:
            if time.monotonic() - self.fetched_at >= self.ttl:
                self.fetched_at = time.monotonic()
                try:
                    self.members = set(self.client.usergroups_users_list(usergroup=self.usergroup)["users"])
                except (SlackApiError, OSError) as exc:
                    log.warning("could not read the SLT user group %s: %s", self.usergroup, exc)
            return set(self.members)


# -- the app ------------------------------------------------------------------------------


def web_client(token: str, base_url: str) -> WebClient:
    """A Web API client that retries one dropped connection and one 429 (after Retry-After)."""
    return WebClient(
        token=token,
        base_url=base_url,
        retry_handlers=[ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=1)],
    )


def build_slack_app(services: Services, *, client: WebClient | None = None) -> App:
    """The bolt App with every listener, the event de-duplication and the outbox transport."""
    settings = services.settings
    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    client = client or web_client(settings.slack_bot_token, settings.slack_api_url)
    # Commands and clicks wait for a free listener thread before they can ack: bolt's default 5 is too few.
    workers = ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="slack-listener")
    try:  # bolt checks the token with auth.test here
        app = App(signing_secret=settings.slack_signing_secret, client=client, listener_executor=workers)
    except BoltError:
        raise ConfigError("SLACK_BOT_TOKEN: Slack refused this token (auth.test failed)") from None
    except OSError as exc:  # URLError and friends: no answer at all
        raise ConfigError(f"SLACK_API_URL: cannot reach {settings.slack_api_url} ({exc})") from None
    # Bolt logs the body of a rejected request at INFO: a report's text must not reach the logs.
    logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)

    bot = SlackBot(services, client, SeenEvents(services.store))
    bot.register(app)
    services.outbox.register(SlackTransport(client))
    if settings.slt_usergroup:
        services.roster.extra["slack"] = UsergroupMembers(client, settings.slt_usergroup)
    return app


def http_server(app: App, *, host: str = "0.0.0.0", port: int = 3000) -> Any:
    """A waitress server for `app` at /slack/events; `.run()` serves, `.effective_port` is the port."""
    from waitress import create_server

    handler = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict, start_response: Callable) -> Any:
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
        if timestamp is not None and not timestamp.strip().isdigit():
            # Bolt would answer 500 (int() fails inside its verification): it is a bad request.
            start_response("401 Unauthorized", [("Content-Type", "application/json")])
            return [b'{"error": "invalid request"}']
        return handler(environ, start_response)

    return create_server(
        application, host=host, port=port, threads=HTTP_THREADS, max_request_body_size=1 << 20, ident="staffbot"
    )


# -- who, where, how to answer -------------------------------------------------------------


def actor_of(body: dict) -> Actor:
    """The person behind a command, action, view or shortcut payload."""
    user = body.get("user")
    if isinstance(user, dict):
        return Actor(platform="slack", user_id=user["id"], name=user.get("username") or user.get("name") or "")
    return Actor(platform="slack", user_id=body.get("user_id") or str(user), name=body.get("user_name", ""))


def as_int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


@contextmanager
def apologising(tell: Callable[[Reply], Any]) -> Iterator[None]:
    """Turn any failure inside a listener into the plain "something went wrong" for the person."""
    try:
        yield
    except Exception:
        log.exception("Slack listener failed")
        try:
            tell(Reply(kind="error", text=messages.INTERNAL_ERROR, private=True))
        except Exception:
            log.exception("could not tell the person about the failure")


class SlackBot:
    """The listeners' work, over the services; `register()` attaches them to an App."""

    def __init__(self, services: Services, client: WebClient, seen: SeenEvents) -> None:
        self.services = services
        self.client = client
        self.seen = seen
        self.drafting = drafting_channels(services.settings, "slack")

    def first_delivery(self, body: dict) -> bool:
        """False for a redelivered event: checked first thing in every event listener, after the ack
        (a write on the ack path would queue acks behind the database's write lock)."""
        event_id = body.get("event_id")
        return not event_id or self.seen.first_delivery(str(event_id))

    # -- registration ---------------------------------------------------------------------

    def register(self, app: App) -> None:
        self._conversations(app)
        self._buttons(app)
        self._reports(app)
        self._second_opinions(app)

    def _conversations(self, app: App) -> None:
        @app.event("app_mention")
        def mention(body: dict, event: dict, context: dict) -> None:
            if not event.get("user") or not self.first_delivery(body):  # no person to answer (a workflow, say)
                return
            text = blocks.unescape(event.get("text", "").replace(f"<@{context.get('bot_user_id')}>", " "))
            thread = event.get("thread_ts") or event["ts"]
            self.converse(event, text, Place(channel_id=event["channel"], thread_id=thread, direct=False), thread)

        @app.event("message")
        def message(body: dict, event: dict, context: dict) -> None:
            if event.get("subtype") not in DRAFT_SUBTYPES or event.get("bot_id") or not event.get("user"):
                return
            if event.get("channel_type") == "im":
                if not event.get("subtype") and self.first_delivery(body):
                    thread = event.get("thread_ts")
                    text = blocks.unescape(event.get("text", ""))
                    self.converse(event, text, Place(channel_id=event["channel"], thread_id=thread), thread)
            elif self.is_draft(event, context.get("bot_user_id")) and self.first_delivery(body):
                self.suggest_second_opinion(event)

        @app.event("app_home_opened")
        def home(body: dict, event: dict) -> None:
            if event.get("tab") == "home" and self.first_delivery(body):
                self.publish_home(event["user"])

        @app.command("/policy")
        def policy(ack: Callable, command: dict, respond: Callable) -> None:
            ack()
            with apologising(lambda r: respond(response_type="ephemeral", **blocks.message(r))):
                text = blocks.unescape(command.get("text", "")).strip()
                if text.lower() in ("", "help"):
                    reply = blocks.help_reply()
                else:
                    place = Place(channel_id=command.get("channel_id"), direct=False)
                    reply = self.shareable(self.answer(actor_of(command), text, place))
                respond(response_type="ephemeral", **blocks.message(reply))

        @app.view(blocks.ASK_CALLBACK)
        def asked(ack: Callable, body: dict, view: dict) -> None:
            with self.readable_form(ack, body, view):
                text = blocks.text_value(view, "question")
                actor = actor_of(body)
                try:
                    question = Question(actor=actor, text=text, place=Place(channel_id=actor.user_id))
                except ValidationError as exc:
                    ack(response_action="errors", errors={"question": first_error(exc)})
                    return
                ack()
                with apologising(lambda r: self.direct(actor.user_id, r)):
                    self.direct(actor.user_id, ask(question, self.services.kb, self.services.questions))

    def _buttons(self, app: App) -> None:
        @app.action(pressed(actions.FEEDBACK_HELPFUL, actions.FEEDBACK_NOT_HELPFUL))
        def vote(ack: Callable, body: dict, action: dict, respond: Callable) -> None:
            ack()
            with apologising(lambda r: self.tell(body, r)):
                helpful = blocks.action_of(action["action_id"]) == actions.FEEDBACK_HELPFUL
                question_id = as_int(action.get("value", ""))
                reply = (
                    feedback(actor_of(body), question_id, helpful, self.services.questions)
                    if question_id is not None
                    else Reply(kind="error", text=messages.NOT_A_BUTTON_VALUE, private=True)
                )
                if reply.kind == "error":
                    self.tell(body, reply)
                else:
                    self.replace_buttons(body, respond, {actions.FEEDBACK_HELPFUL, actions.FEEDBACK_NOT_HELPFUL}, reply.text)

        @app.action(pressed(actions.SEND_TO_OWNER))
        def to_owner(ack: Callable, body: dict, action: dict, respond: Callable) -> None:
            ack()
            with apologising(lambda r: self.tell(body, r)):
                question_id = as_int(action.get("value", ""))
                if question_id is None:
                    self.tell(body, Reply(kind="error", text=messages.NOT_A_BUTTON_VALUE, private=True))
                    return
                confirmation, notice = pass_to_owner(actor_of(body), question_id, self.services.questions)
                if notice is not None:
                    self.services.notify_owner(question_id, notice)
                if confirmation.kind == "error":
                    self.tell(body, confirmation)
                else:
                    self.replace_buttons(body, respond, {actions.SEND_TO_OWNER}, confirmation.text)

        @app.action(pressed(actions.SHARE_ANSWER))
        def share(ack: Callable, body: dict, action: dict, respond: Callable) -> None:
            ack()
            with apologising(lambda r: respond(response_type="ephemeral", replace_original=False, **blocks.message(r))):
                actor = actor_of(body)
                question_id = as_int(action.get("value", ""))
                text = self.services.questions.question_text(question_id) if question_id is not None else None
                if text is None:
                    reply = Reply(kind="error", text=messages.UNKNOWN_QUESTION, private=True)
                    respond(response_type="ephemeral", replace_original=False, **blocks.message(reply))
                    return
                place = Place(channel_id=(body.get("channel") or {}).get("id"), direct=False)
                reply = ask(Question(actor=actor, text=text, place=place), self.services.kb, self.services.questions)
                content = blocks.message(reply, blocks=blocks.shared_blocks(actor.user_id, text, reply))
                respond(response_type="in_channel", replace_original=False, **content)
                respond(delete_original=True)

        @app.action(pressed(actions.ASK_QUESTION))
        def ask_button(ack: Callable, body: dict) -> None:
            ack()
            self.open_modal(body, blocks.ask_modal())

        @app.action(pressed(RETRY_DELIVERY))
        def retry_delivery(ack: Callable, body: dict, action: dict) -> None:
            ack()
            with apologising(lambda r: self.tell(body, r)):
                actor, job = actor_of(body), as_int(action.get("value", ""))
                if job is None or not self.services.roster.is_slt(actor):
                    if job is not None:
                        self.services.outbox.refuse_requeue(job, actor.key)
                    self.tell(body, Reply(kind="error", text=messages.INCIDENT_SLT_ONLY, private=True))
                    return
                self.services.outbox.requeue(job, actor.key)  # False when someone else pressed it first
                self.publish_home(actor.user_id)

    def _reports(self, app: App) -> None:
        @app.command("/report")
        def report_command(ack: Callable, command: dict, respond: Callable) -> None:
            ack()
            text = blocks.unescape(command.get("text", "")).strip()
            if text.lower() == "status":
                with apologising(lambda r: respond(response_type="ephemeral", **blocks.message(r))):
                    reply = self.with_incidents(lambda book: report.reports_for(actor_of(command), book))
                    respond(response_type="ephemeral", **blocks.message(reply))
                return
            self.open_modal(command, blocks.report_modal(prefill=text))

        @app.action(pressed(actions.OPEN_REPORT))
        def report_button(ack: Callable, body: dict, action: dict) -> None:
            ack()  # the modal must open within the trigger's 3 s: look the question up after
            question_id = as_int(action.get("value", ""))
            view_id = self.open_modal(body, blocks.report_modal())
            text = self.services.questions.question_text(question_id) if question_id is not None else None
            if view_id and text:
                self.client.views_update(view_id=view_id, view=blocks.report_modal(prefill=text))

        @app.view(blocks.REPORT_CALLBACK)
        def report_submitted(ack: Callable, body: dict, view: dict) -> None:
            with self.readable_form(ack, body, view):
                try:
                    form = ReportForm.model_validate(blocks.report_values(view))
                except ValidationError as exc:
                    ack(response_action="errors", errors=self.form_errors(form_errors(exc)))
                    return
                try:
                    book = self.services.incidents
                except ConfigError:
                    log.exception("incident reports are not configured")
                    ack(response_action="errors", errors={"what_happened": messages.REPORTS_NOT_SET_UP})
                    return
                submission = report.submit_report(form, actor_of(body), f"slack:view:{view['id']}", book)
                if not submission.stored:
                    ack(response_action="errors", errors={"what_happened": submission.reply.text})
                    return
                ack(response_action="update",
                    view=blocks.result_view(submission.reply, messages.REPORT_RECEIVED_TITLE))

        @app.action(pressed(*INCIDENT_ACTIONS))
        def incident_button(ack: Callable, body: dict, action: dict) -> None:
            ack()
            with apologising(lambda r: self.tell(body, r)):
                name = blocks.action_of(action["action_id"])
                actor, reference = actor_of(body), action.get("value", "")
                if name in report.TEXT_ACTIONS and self.services.roster.is_slt(actor):
                    self.open_modal(body, blocks.incident_text_modal(name, reference))
                    return
                outcome = report.act(actor, reference, name, self.services.incidents, self.services.roster)
                if name == actions.INCIDENT_VIEW and outcome.reply.kind == "incident":
                    self.open_modal(body, blocks.result_view(outcome.reply, "Incident details"))
                else:
                    self.tell(body, outcome.reply)

        @app.view(blocks.INCIDENT_TEXT_CALLBACK)
        def incident_text(ack: Callable, body: dict, view: dict) -> None:
            with self.readable_form(ack, body, view):
                action, reference = blocks.text_target(view)
                text = blocks.text_value(view, "text")
                outcome = report.act(  # the view's id: Slack's retry or a double click records it once
                    actor_of(body), reference, action,
                    self.services.incidents, self.services.roster, text, once_key=f"slack:view:{view['id']}",
                )
                if outcome.reply.kind == "error":
                    ack(response_action="errors", errors={"text": outcome.reply.text})
                else:
                    ack(response_action="update", view=blocks.result_view(outcome.reply, messages.INCIDENT_TITLE))

    def _second_opinions(self, app: App) -> None:
        @app.command("/secondopinion")
        def second_opinion_command(ack: Callable, command: dict) -> None:
            ack()
            text = blocks.unescape(command.get("text", "")).strip()
            self.open_modal(command, blocks.second_opinion_modal(DraftInput(text=text)))

        @app.shortcut(SECOND_OPINION_SHORTCUT)
        def second_opinion_shortcut(ack: Callable, body: dict) -> None:
            ack()
            text = blocks.unescape((body.get("message") or {}).get("text", ""))
            self.open_modal(body, blocks.second_opinion_modal(DraftInput(text=text)))

        @app.action(pressed(actions.OPEN_SECOND_OPINION))
        def second_opinion_button(ack: Callable, body: dict, action: dict) -> None:
            ack()  # the modal must open within the trigger's 3 s: fetch a drafting channel's message after
            view_id = self.open_modal(body, blocks.second_opinion_modal())
            text = self.drafting_message(body, action.get("value", ""))
            if view_id and text:
                self.client.views_update(view_id=view_id, view=blocks.second_opinion_modal(DraftInput(text=text)))

        @app.view(blocks.CHECK_CALLBACK)
        def check(ack: Callable, body: dict, view: dict) -> None:
            with self.readable_form(ack, body, view):
                draft = blocks.draft_values(view)
                error = second_opinion.draft_error(draft)
                if error:
                    ack(response_action="errors", errors={"draft": error})
                    return
                findings = second_opinion.check_draft(actor_of(body), draft, self.services.reviewer)
                ack(response_action="update", view=blocks.second_opinion_modal(draft, findings))

        @app.view(blocks.SEND_CALLBACK)
        def send(ack: Callable, body: dict, view: dict) -> None:
            with self.readable_form(ack, body, view):
                draft = blocks.draft_values(view)
                try:
                    book = self.services.reviews
                except ConfigError:
                    log.exception("second opinions are not configured")
                    ack(response_action="errors", errors={"draft": messages.REQUEST_NOT_SENT})
                    return
                submission = second_opinion.request_second_opinion(
                    actor_of(body), draft, f"slack:view:{view['id']}", self.services.reviewer, book
                )
                if not submission.stored:
                    ack(response_action="errors", errors={"draft": submission.reply.text})
                    return
                ack(response_action="update", view=blocks.result_view(submission.reply, "Second opinion"))

        @app.action(pressed(actions.SO_APPROVE, actions.SO_REQUEST_CHANGES, actions.SO_REJECT, actions.SO_VIEW))
        def decision(ack: Callable, body: dict, action: dict) -> None:
            ack()
            with apologising(lambda r: self.tell(body, r)):
                name = blocks.action_of(action["action_id"])
                actor, reference = actor_of(body), action.get("value", "")
                roster = self.services.roster
                if name == actions.SO_VIEW:
                    reply = second_opinion.view_draft(actor, reference, self.services.reviews, roster)
                    if reply.kind == "review":
                        self.open_modal(body, blocks.result_view(reply, messages.REVIEW_FULL_TITLE))
                    else:
                        self.tell(body, reply)
                elif name in second_opinion.COMMENT_REQUIRED and roster.is_slt(actor):
                    self.open_modal(body, blocks.comment_modal(name, reference))
                else:
                    self.tell(body, self.decide(actor, reference, name, None).reply)

        @app.view(blocks.COMMENT_CALLBACK)
        def commented(ack: Callable, body: dict, view: dict) -> None:
            with self.readable_form(ack, body, view):
                action, reference = blocks.text_target(view)
                text = blocks.text_value(view, "text")
                outcome = self.decide(actor_of(body), reference, action, text)
                if outcome.reply.kind == "error":
                    ack(response_action="errors", errors={"text": outcome.reply.text})
                else:
                    ack(response_action="update", view=blocks.result_view(outcome.reply, messages.REVIEW_TITLE))

    # -- the work -------------------------------------------------------------------------

    def is_draft(self, event: dict, bot_user_id: str | None) -> bool:
        """A new top-level message in a drafting channel that is not a question to the bot (mentions are answered)."""
        return (
            event.get("channel") in self.drafting
            and not event.get("thread_ts")
            and f"<@{bot_user_id}>" not in event.get("text", "")
        )

    def suggest_second_opinion(self, event: dict) -> None:
        """Reply in the message's thread when the reviewer flags it (the handler makes it once per message)."""
        channel, ts = event["channel"], event["ts"]
        text = blocks.unescape(event.get("text", ""))
        suggestion = self.services.suggest_second_opinion(channel, ts, text, self.drafting)
        if suggestion is not None:
            self.client.chat_postMessage(channel=channel, thread_ts=ts, **blocks.message(suggestion))

    def drafting_message(self, body: dict, ts: str) -> str | None:
        """The text of the drafting-channel message a suggestion's button names (value: its ts), or None."""
        channel = (body.get("channel") or {}).get("id")
        if channel not in self.drafting or not MESSAGE_TS.match(ts):
            return None  # e.g. the button under an answer, whose value is a question id
        try:
            found = self.client.conversations_replies(channel=channel, ts=ts, limit=1).get("messages") or []
        except SlackApiError as exc:
            log.warning("could not read the drafted message: %s", exc.response.get("error"))
            return None
        return next((blocks.unescape(m.get("text", "")) for m in found if m.get("ts") == ts), None)

    def decide(self, actor: Actor, reference: str, action: str, comment: str | None) -> DecisionOutcome:
        return second_opinion.decide(actor, reference, action, comment, self.services.reviews, self.services.roster)

    def answer(self, actor: Actor, text: str, place: Place) -> Reply:
        """The policy answer for a question, or the specific reason it can't be read."""
        try:
            question = Question(actor=actor, text=text, place=place)
        except ValidationError as exc:
            return Reply(kind="error", text=first_error(exc))
        return ask(question, self.services.kb, self.services.questions)

    def converse(self, event: dict, text: str, place: Place, thread: str | None) -> None:
        """Answer a DM or a mention in the same conversation (the mention's thread)."""
        channel = event["channel"]

        def post(reply: Reply) -> None:
            self.client.chat_postMessage(channel=channel, thread_ts=thread, **blocks.message(reply))

        with apologising(post):
            stripped = " ".join(text.split())
            if stripped.lower() in ("", "help"):
                post(blocks.help_reply())
                return
            post(self.answer(Actor(platform="slack", user_id=event.get("user", "")), stripped, place))

    @staticmethod
    def shareable(reply: Reply) -> Reply:
        """A private answer gets a "Share in channel" button (value: the question id)."""
        if reply.kind != "answer" or not reply.buttons:
            return reply
        share = Button(action=actions.SHARE_ANSWER, label=messages.SHARE_IN_CHANNEL, value=reply.buttons[0].value)
        return reply.model_copy(update={"buttons": [*reply.buttons, share]})

    def direct(self, user_id: str, reply: Reply) -> None:
        self.client.chat_postMessage(channel=user_id, **blocks.message(reply))

    def tell(self, body: dict, reply: Reply) -> None:
        """Show `reply` to the person who clicked only: ephemeral where they clicked, else by DM."""
        user = actor_of(body).user_id
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        if channel and container.get("type") != "view":
            content = blocks.message(reply)
            thread = container.get("thread_ts") or (body.get("message") or {}).get("thread_ts")
            self.client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread, text=content["text"], blocks=content["blocks"]
            )
        else:
            self.direct(user, reply)

    def replace_buttons(self, body: dict, respond: Callable, done: set[str], note: str) -> None:
        """Swap the pressed kind of button in the message for `note` (e.g. the thanks for feedback)."""
        container = body.get("container") or {}
        original = body.get("message")
        if original is None:
            respond(response_type="ephemeral", replace_original=False, text=blocks.escape(note))
            return
        new_blocks = blocks.without_actions(original.get("blocks", []), done, note)
        if container.get("is_ephemeral"):
            respond(replace_original=True, text=original.get("text", " "), blocks=new_blocks)
        else:
            self.client.chat_update(
                channel=container["channel_id"], ts=container["message_ts"], text=original.get("text", " "),
                blocks=new_blocks,
            )

    @contextmanager
    def readable_form(self, ack: Callable, body: dict, view: dict) -> Iterator[None]:
        """Around a view_submission listener: a modal whose `view.state.values` lacks the blocks it
        reads (malformed, or opened before an update changed the form) is turned away with a clear
        error, on one of its own input blocks or, with none, by closing it and a DM, instead of a
        500 that Slack shows as "trouble connecting". Nothing is done with it."""
        try:
            yield
        except blocks.StaleForm as exc:
            log.warning("turned away a form this version cannot read: %s", exc)
            block_id = blocks.first_input(view)
            if block_id is not None:
                ack(response_action="errors", errors={block_id: messages.FORM_OUT_OF_DATE})
                return
            ack(response_action="clear")
            self.direct(actor_of(body).user_id, Reply(kind="error", text=messages.FORM_OUT_OF_DATE, private=True))

    def open_modal(self, body: dict, view: dict) -> str | None:
        """Open `view` for this trigger (pushed on top when the click came from a modal); its view id."""
        try:
            if (body.get("view") or {}).get("type") == "modal":
                response = self.client.views_push(trigger_id=body["trigger_id"], view=view)
            else:
                response = self.client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as exc:
            log.warning("could not open a modal: %s", exc.response.get("error"))
            return None
        return (response.get("view") or {}).get("id")

    def with_incidents(self, use: Callable[[Any], Reply]) -> Reply:
        try:
            book = self.services.incidents
        except ConfigError:
            log.exception("incident reports are not configured")
            return Reply(kind="error", text=messages.REPORTS_NOT_SET_UP, private=True)
        return use(book)

    @staticmethod
    def form_errors(errors: dict[str, str]) -> dict[str, str]:
        """Field errors keyed by the modal's block ids (anything else shows on the narrative)."""
        fields = set(ReportForm.model_fields)
        keyed: dict[str, str] = {}
        for field, message in errors.items():
            keyed.setdefault(field if field in fields else "what_happened", message)
        return keyed

    def publish_home(self, user_id: str) -> None:
        """The Home tab: the person's own reports and requests; for SLT also both queues and failed deliveries."""
        actor = Actor(platform="slack", user_id=user_id)
        roster = self.services.roster
        book = configured(lambda: self.services.incidents)
        reviews = configured(lambda: self.services.reviews)
        parts: list[Reply] = []
        if book is not None:
            parts.append(report.reports_for(actor, book))
        requests = reviews.requested_by(actor) if reviews is not None else []
        if requests:
            now = report.utcnow()
            facts = [
                Fact(label=r.reference, value=f"{messages.REVIEW_STATUS_LABELS[r.status]} ({report.age(r.created_at, now)})")
                for r in requests
            ]
            parts.append(Reply(kind="info", title=messages.MY_REQUESTS_TITLE, facts=facts, private=True))
        if roster.is_slt(actor):
            if book is not None:
                parts.append(report.open_incidents(actor, book, roster))
            if reviews is not None:
                parts.append(second_opinion.awaiting_decision(actor, reviews, roster))
            failed = self.services.outbox.failed()
            if failed:
                parts.append(failed_deliveries(failed))
        self.client.views_publish(user_id=user_id, view=blocks.home_view(parts))


def failed_deliveries(jobs: list[dict]) -> Reply:
    """The outbox jobs that will not be retried (newest first), each with "Try again"."""
    shown = list(reversed(jobs[-FAILED_SHOWN:]))
    facts = [
        Fact(
            label=job["subject"] or f"message {job['id']}",
            value=f"{job['kind']} to {job['platform']}:{job['destination']}: {job['last_error']} ({job['created_at']})",
        )
        for job in shown
    ]
    buttons = [
        Button(action=RETRY_DELIVERY, label=f"{messages.TRY_AGAIN}: {job['subject'] or job['id']}",
               value=str(job["id"]))
        for job in shown
    ]
    return Reply(
        kind="error", title=messages.FAILED_DELIVERIES_TITLE, text=messages.FAILED_DELIVERIES, facts=facts,
        buttons=buttons,
    )
