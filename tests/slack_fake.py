"""A fake Slack Web API on loopback, requests signed as Slack signs them, and the bot served for real.

`FakeSlack` answers the Web API methods the bot calls (and `response_url` posts under
/response/) on 127.0.0.1:0, records every call with its body, and can be told to fail a
method for the next N calls: with an HTTP status (500, or 429 with Retry-After), or with
one of Slack's own errors on HTTP 200 (`channel_not_found`), in every channel or one. `SlackBot`
is the app started exactly as `staffbot serve slack` starts it (HTTP, port 0), and
`send_*` helpers POST signed events, commands, button clicks and modal submissions.
Listeners run after the ack on bolt's threads, so `FakeSlack.wait_for` polls the
recorded calls for a bounded time instead of asserting on timing.
"""

from __future__ import annotations

import itertools
from concurrent import futures
from concurrent.futures import Future
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk.signature import SignatureVerifier

from bot.cli_serve import start_slack
from bot.config import load_settings
from bot.outbox import SENDING, Outbox
from bot.services import Services
from bot.slack import http_server

SECRET = "test-signing-secret"
BOT_USER = "UBOT"
SLT_USER = "USLT1"
SLT_USER_2 = "USLT2"
STAFF_USER = "USTAFF"
SLT_CHANNEL = "CSLT"
WAIT_SECONDS = 5.0


@dataclass
class Call:
    """One request the bot made to the fake: `method` is e.g. "chat.postMessage" or "response"."""

    method: str
    body: dict[str, Any]
    path: str


@dataclass
class Failure:
    times: int
    status: int
    retry_after: int | None = None
    error: str = "internal_error"
    channel: str | None = None  # only calls to this channel fail


@dataclass
class FakeSlack:
    """The Slack Web API, as far as the bot uses it."""

    calls: list[Call] = field(default_factory=list)
    failures: dict[str, Failure] = field(default_factory=dict)
    usergroup: list[str] = field(default_factory=list)
    channel_messages: dict[tuple[str, str], str] = field(default_factory=dict)  # (channel, ts) -> text
    socket_url: str = ""  # what apps.connections.open hands a Socket Mode client
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def api_url(self) -> str:
        return self.url + "/api/"

    def response_url(self, name: str = "1") -> str:
        return f"{self.url}/response/{name}"

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                status, headers, payload = fake.handle(self.path, self.headers.get("Content-Type", ""), raw)
                body = payload.encode("utf-8")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # serve_forever's default poll of 0.5 s is how long shutdown() waits: half a second per test
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # -- behaviour --------------------------------------------------------------------------

    def fail(
        self, method: str, times: int, status: int = 500, retry_after: int | None = None, error: str | None = None,
        channel: str | None = None,
    ) -> None:
        """Make the next `times` calls of `method` (to `channel`, if given) fail with `status` (429s carry
        Retry-After) and `error`."""
        default = "ratelimited" if status == 429 else "internal_error"
        self.failures[method] = Failure(times=times, status=status, retry_after=retry_after, error=error or default,
                                        channel=channel)

    def handle(self, path: str, content_type: str, raw: str) -> tuple[int, dict[str, str], str]:
        parsed = urllib.parse.urlparse(path)
        method = "response" if parsed.path.startswith("/response/") else parsed.path.rsplit("/", 1)[-1]
        body = self._decode(content_type, raw, parsed.query)
        with self.lock:
            failure = self.failures.get(method)
            if failure and failure.times > 0 and failure.channel in (None, body.get("channel")):
                failure.times -= 1
                self.calls.append(Call(method=method, body={**body, "_failed": failure.status}, path=parsed.path))
                headers = {"Content-Type": "application/json"}
                if failure.retry_after is not None:
                    headers["Retry-After"] = str(failure.retry_after)
                return failure.status, headers, json.dumps({"ok": False, "error": failure.error})
            self.calls.append(Call(method=method, body=body, path=parsed.path))
            answer = self._answer(method, body)
        if method == "response":
            return 200, {"Content-Type": "text/plain"}, "ok"
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)

    @staticmethod
    def _decode(content_type: str, raw: str, query: str) -> dict[str, Any]:
        if "json" in content_type and raw:
            return json.loads(raw)
        form = dict(urllib.parse.parse_qsl(raw or query))
        for key in ("blocks", "view"):
            if key in form:
                form[key] = json.loads(form[key])
        return form

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://school.slack.com/", "team": "School", "user": "staffbot",
                    "team_id": "T111", "user_id": BOT_USER, "bot_id": "BBOT"}
        if method in ("chat.postMessage", "chat.postEphemeral"):
            ts = f"1700000000.{next(self.ts):06d}"
            return {"ok": True, "channel": body.get("channel"), "ts": ts, "message_ts": ts}
        if method == "chat.update":
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
        if method in ("views.open", "views.push", "views.update", "views.publish"):
            return {"ok": True, "view": {"id": body.get("view_id") or f"V{next(self.ts)}"}}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(body.get("users", ""))}}
        if method == "usergroups.users.list":
            return {"ok": True, "users": list(self.usergroup)}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url} if self.socket_url else {"ok": False, "error": "invalid_auth"}
        if method == "conversations.replies":
            text = self.channel_messages.get((body.get("channel", ""), body.get("ts", "")))
            if text is None:
                return {"ok": False, "error": "thread_not_found"}
            return {"ok": True, "messages": [{"type": "message", "ts": body["ts"], "text": text}]}
        return {"ok": True}

    # -- what happened ----------------------------------------------------------------------

    def recorded(self, method: str, where: Callable[[Call], bool] = lambda c: True) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method and "_failed" not in c.body and where(c)]

    def wait_for(
        self, method: str, count: int = 1, where: Callable[[Call], bool] = lambda c: True,
        timeout: float = WAIT_SECONDS,
    ) -> list[Call]:
        """The successful calls of `method` once there are `count` of them (fails after `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.recorded(method, where)
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, f"expected {count} {method} call(s), got {len(found)}: {self.calls}"
                return found
            time.sleep(0.02)

    def wait_until(self, condition: Callable[[], Any], timeout: float = WAIT_SECONDS) -> Any:
        """`condition()` once it is truthy (fails after `timeout`): for effects that are not Web API calls."""
        deadline = time.monotonic() + timeout
        while not (result := condition()):
            assert time.monotonic() < deadline, "condition not met in time"
            time.sleep(0.02)
        return result

    def pause(self, seconds: float) -> None:
        """Let time pass, for what only time brings about (a retry after its backoff, a reminder
        interval): what the bot starts at once is waited for by `Finished.wait` instead."""
        time.sleep(seconds)


class Finished:
    """Waits until a served bot has done everything it started, so a test can then assert that
    something did NOT happen: every listener bolt has run so far, then every outbox job that is
    due (a job due later, as a retry after its backoff, is not waited for)."""

    def __init__(self, app: App, outbox: Outbox) -> None:
        self.outbox = outbox
        self.listeners: list[Future] = []
        executor = app.listener_runner.listener_executor
        submit = executor.submit

        def tracked(*args: Any, **kwargs: Any) -> Future:
            future = submit(*args, **kwargs)
            self.listeners.append(future)
            return future

        executor.submit = tracked  # type: ignore[method-assign]

    def wait(self, timeout: float = WAIT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while running := [f for f in self.listeners if not f.done()]:  # a listener may start another
            futures.wait(running, timeout=max(deadline - time.monotonic(), 0))
            assert time.monotonic() < deadline, f"{len(running)} listener(s) still running"
        while self._delivering():
            assert time.monotonic() < deadline, "the outbox is still delivering"
            time.sleep(0.01)

    def _delivering(self) -> bool:
        due = self.outbox.next_due()
        now = self.outbox.clock()
        sending = self.outbox.store.db.execute(  # a claim older than the lease is abandoned, and due again
            "select count(*) from outbox where status = ? and claimed_at > ?", [SENDING, now - self.outbox.lease]
        ).fetchone()[0]
        return bool(sending) or (due is not None and due <= now)


def text_of(call: Call) -> str:
    """Everything a message or view says, as one string (fallback text plus every block)."""
    return json.dumps({k: call.body.get(k) for k in ("text", "blocks", "view")}, ensure_ascii=False)


# -- the bot, served --------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class SlackBot:
    """The running app and signed ways to talk to it."""

    url: str
    services: Services
    fake: FakeSlack
    finished: Finished
    verifier: SignatureVerifier = field(default_factory=lambda: SignatureVerifier(SECRET))
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def settle(self) -> None:
        """Wait until the bot has done everything it started (see `Finished`)."""
        self.finished.wait()

    def post(
        self, body: str, content_type: str, *, timestamp: str | None = None, signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        timestamp = timestamp if timestamp is not None else str(int(time.time()))
        if signature is None:
            signature = self.verifier.generate_signature(timestamp=timestamp, body=body)
        request = urllib.request.Request(
            self.url, data=body.encode("utf-8"), method="POST",
            headers={"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp,
                     "X-Slack-Signature": signature, **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Response(response.status, response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read().decode("utf-8"))

    def send_json(self, payload: dict, **kwargs: Any) -> Response:
        return self.post(json.dumps(payload), "application/json", **kwargs)

    def send_event(self, event: dict, *, event_id: str | None = None, retry: int | None = None) -> Response:
        payload = {
            "token": "unused", "team_id": "T111", "api_app_id": "A111", "type": "event_callback",
            "event_id": event_id or f"Ev{next(self.ids)}", "event_time": int(time.time()), "event": event,
            "authorizations": [{"team_id": "T111", "user_id": BOT_USER, "is_bot": True}],
        }
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return self.send_json(payload, headers=headers)

    def mention(self, text: str, *, user: str = STAFF_USER, channel: str = "CGENERAL", **kwargs: Any) -> Response:
        ts = f"1690000000.{next(self.ids):06d}"
        event = {"type": "app_mention", "text": f"<@{BOT_USER}> {text}", "user": user, "ts": ts,
                 "channel": channel, "event_ts": ts}
        return self.send_event(event, **kwargs)

    def direct_message(self, text: str, *, user: str = STAFF_USER, **extra: Any) -> Response:
        ts = f"1690000000.{next(self.ids):06d}"
        event = {"type": "message", "channel_type": "im", "channel": "DSTAFF", "user": user, "text": text,
                 "ts": ts, "event_ts": ts, **extra}
        return self.send_event(event)

    def channel_message(
        self, text: str, *, channel: str, user: str = STAFF_USER, channel_type: str = "channel", **extra: Any
    ) -> tuple[Response, str]:
        """A message posted in a channel the bot is in (kept by the fake for conversations.replies); its ts."""
        ts = f"1690000000.{next(self.ids):06d}"
        self.fake.channel_messages[(channel, ts)] = text
        event = {"type": "message", "channel_type": channel_type, "channel": channel, "user": user, "text": text,
                 "ts": ts, "event_ts": ts, **extra}
        return self.send_event(event), ts

    def command(self, command: str, text: str = "", *, user: str = STAFF_USER, channel: str = "CGENERAL") -> Response:
        form = {
            "team_id": "T111", "channel_id": channel, "user_id": user, "user_name": user.lower(),
            "command": command, "text": text, "api_app_id": "A111", "response_url": self.fake.response_url(),
            "trigger_id": f"trigger.{next(self.ids)}",
        }
        return self.post(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")

    def interact(self, payload: dict) -> Response:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded")

    def click(
        self, action_id: str, value: str, *, user: str = STAFF_USER, message: dict | None = None,
        channel: str = "CGENERAL", ephemeral: bool = False, view: dict | None = None,
    ) -> Response:
        """A button click on a message in `channel` (or, with `view`, in a modal or the Home tab)."""
        ts = (message or {}).get("ts", "1700000000.000001")
        container: dict[str, Any] = (
            {"type": "view", "view_id": view["id"]} if view else
            {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": ephemeral}
        )
        payload: dict[str, Any] = {
            "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": "T111"},
            "api_app_id": "A111", "team": {"id": "T111"}, "container": container,
            "trigger_id": f"trigger.{next(self.ids)}", "response_url": self.fake.response_url("action"),
            "actions": [{"action_id": action_id, "block_id": "b1", "value": value, "type": "button",
                         "action_ts": "1700000001.000001"}],
        }
        if view:
            payload["view"] = view
        else:
            payload["channel"] = {"id": channel}
        if message is not None:
            payload["message"] = message
        return self.interact(payload)

    def submit(self, view: dict, values: dict, *, user: str = STAFF_USER, view_id: str | None = None) -> Response:
        """Submit `view` (as the bot opened it) with `values`: {block_id: element state}."""
        payload = {
            "type": "view_submission", "team": {"id": "T111"}, "api_app_id": "A111",
            "user": {"id": user, "username": user.lower(), "team_id": "T111"}, "trigger_id": "t.submit",
            "view": {**view, "id": view_id or f"V{next(self.ids)}", "state": {"values": values}},
        }
        return self.interact(payload)


def slack_settings(tmp_path: Path, fake: FakeSlack, **overrides: Any):
    values: dict[str, Any] = {
        "STAFFBOT_DB": tmp_path / "staffbot.db", "STAFFBOT_SLT_CHANNEL": SLT_CHANNEL,
        "STAFFBOT_SLT_USERS": f"{SLT_USER},{SLT_USER_2}", "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url(), **overrides,
    }
    return load_settings(**values)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    server = FakeSlack().start()
    yield server
    server.stop()


@pytest.fixture
def slack(tmp_path: Path, fake: FakeSlack) -> Iterator[SlackBot]:
    """The bot as `staffbot serve slack` runs it, on a loopback port, with short outbox retries."""
    with serving(Services(slack_settings(tmp_path, fake)), fake) as bot:
        yield bot


@contextmanager
def serving(services: Services, fake: FakeSlack) -> Iterator[SlackBot]:
    """Serve `services` over HTTP as `staffbot serve slack` does (quick outbox retries); close them after."""
    quick(services.outbox)
    app = start_slack(services)
    finished = Finished(app, services.outbox)
    server = http_server(app, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield SlackBot(url=f"http://127.0.0.1:{server.effective_port}/slack/events", services=services, fake=fake,
                       finished=finished)
    finally:
        stop(server, thread)
        app.listener_runner.listener_executor.shutdown(wait=True)  # no listener may outlive the database
        services.close()


def quick(outbox: Outbox) -> None:
    """The production outbox (reminders included) with retries and polls in fractions of a second."""
    outbox.backoff_base, outbox.backoff_cap, outbox.poll_interval = 0.05, 0.5, 0.2


def stop(server: Any, thread: threading.Thread) -> None:
    """Close a waitress server from inside its own loop (closing from outside races its select()).
    The trigger's pipe was once found closed already (EBADF at teardown in CI, after the test had
    passed; the cause was not found): then the server is closed from outside."""
    try:
        server.trigger.pull_trigger(lambda: (server.close(), server.trigger.close()))
    except OSError:
        server.close()
    thread.join(5)
    server.task_dispatcher.shutdown()
