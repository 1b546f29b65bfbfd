"""Socket Mode (SLACK_APP_TOKEN set): the same app over bolt's Socket Mode handler, no public URL.

The fake Web API hands out the address of a loopback WebSocket server (aiohttp) playing
Slack's side: it pushes envelopes as Slack does and records the client's acknowledgements.
Slack signs nothing in Socket Mode (the app-level token authenticates the connection), so
envelopes carry no signature.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_fake import STAFF_USER, Finished, fake, quick, slack_settings, text_of  # noqa: F401
from teams_fake import LoopThread, serve

from bot.cli_serve import start_slack
from bot.services import Services
from handlers import messages

QUESTION = "Can I accept a friend request from a former pupil?"


@dataclass
class SlackSide:
    """Slack's end of the WebSocket: `push()` an envelope, `acks` are what the client sent back."""

    loops: LoopThread
    acks: list[dict[str, Any]] = field(default_factory=list)
    socket: web.WebSocketResponse | None = None
    connected: threading.Event = field(default_factory=threading.Event)
    finished: Finished | None = None  # set once the bot is running

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.socket = ws
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        self.connected.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        return ws

    def push(self, envelope: dict[str, Any]) -> None:
        assert self.socket is not None
        self.loops.run(self.socket.send_str(json.dumps(envelope)))

    def ack_for(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ack in list(self.acks):
                if ack.get("envelope_id") == envelope_id:
                    return ack
            time.sleep(0.02)
        raise AssertionError(f"no ack for {envelope_id}: {self.acks}")


@pytest.fixture
def socket_mode(tmp_path, fake) -> Iterator[SlackSide]:
    loops = LoopThread()
    side = SlackSide(loops)
    app = web.Application()
    app.router.add_get("/link", side.handle)
    runner, url = loops.run(serve(app))
    fake.socket_url = url.replace("http://", "ws://") + "/link"
    services = Services(slack_settings(tmp_path, fake, SLACK_APP_TOKEN="xapp-test"))
    quick(services.outbox)
    bolt = start_slack(services)
    side.finished = Finished(bolt, services.outbox)
    handler = SocketModeHandler(bolt, services.settings.slack_app_token)  # as `staffbot serve slack` does
    handler.connect()
    assert side.connected.wait(5)
    try:
        yield side
    finally:
        handler.close()
        bolt.listener_runner.listener_executor.shutdown(wait=True)
        services.close()
        loops.run(runner.cleanup())
        loops.close()


def test_socket_mode_connects_with_the_app_token_and_answers_a_dm(socket_mode, fake):
    [opened] = fake.recorded("apps.connections.open")
    event = {"type": "message", "channel_type": "im", "channel": "DSTAFF", "user": STAFF_USER, "text": QUESTION,
             "ts": "1690000000.000001", "event_ts": "1690000000.000001"}
    envelope = {"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False,
                "retry_attempt": 0, "retry_reason": "",
                "payload": {"type": "event_callback", "event_id": "EvSOCKET", "team_id": "T111", "api_app_id": "A111",
                            "event": event, "event_time": int(time.time())}}
    socket_mode.push(envelope)
    socket_mode.ack_for("env-1")
    [answer] = fake.wait_for("chat.postMessage")
    assert answer.body["channel"] == "DSTAFF" and "current or prior learners" in text_of(answer)
    socket_mode.push({**envelope, "envelope_id": "env-2", "retry_attempt": 1, "retry_reason": "timeout"})
    socket_mode.ack_for("env-2")  # Slack's retry of the same event is acknowledged, not answered again
    assert socket_mode.finished is not None
    socket_mode.finished.wait()
    assert len(fake.recorded("chat.postMessage")) == 1


def test_socket_mode_slash_command_is_acknowledged_and_answered_privately(socket_mode, fake):
    payload = {"team_id": "T111", "channel_id": "CGENERAL", "user_id": STAFF_USER, "command": "/policy",
               "text": "help", "api_app_id": "A111", "response_url": fake.response_url(), "trigger_id": "t.1"}
    socket_mode.push({"envelope_id": "env-3", "type": "slash_commands", "accepts_response_payload": True,
                      "payload": payload})
    socket_mode.ack_for("env-3")
    [private] = fake.wait_for("response")
    assert private.body["response_type"] == "ephemeral" and messages.HELP_TEXT in text_of(private)
