"""`staffbot teams-package`, `staffbot teams channels` and `staffbot serve teams` refusing to start."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from teams_fake import CHANNEL, TENANT, ConnectorServer, free_port, listening, post_raw

from bot.cli import main
from bot.config import load_settings
from bot.store import Store
from bot.teams_store import TeamsDirectory


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the RGBA rows of an 8-bit RGBA PNG without filters (as we write them)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (8, 6)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + width * 4
    return width, height, [raw[y * stride + 1 : (y + 1) * stride] for y in range(height)]


def test_package_needs_the_app_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["teams-package", "--out", str(tmp_path / "app.zip")]) == 2
    assert "MICROSOFT_APP_ID is not set" in capsys.readouterr().err
    assert not (tmp_path / "app.zip").exists()


def test_package_holds_the_manifest_and_both_icons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", "11111111-2222-3333-4444-555555555555")
    out = tmp_path / "out" / "app.zip"
    assert main(["teams-package", "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        color = read_png(package.read("color.png"))
        outline = read_png(package.read("outline.png"))
    [bot] = manifest["bots"]
    assert manifest["manifestVersion"] == "1.17"
    assert manifest["id"] == bot["botId"] == "11111111-2222-3333-4444-555555555555"
    assert bot["scopes"] == ["personal", "team"]
    titles = [c["title"] for c in bot["commandLists"][0]["commands"]]
    assert titles == ["ask", "report", "report status", "second opinion", "help"]
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    [extension] = manifest["composeExtensions"]
    [action] = extension["commands"]
    assert extension["botId"] == bot["botId"]
    assert (action["type"], action["context"], action["fetchTask"]) == ("action", ["message"], True)
    assert color[:2] == (192, 192)
    assert all(row[3::4] == b"\xff" * 192 for row in color[2])  # opaque
    width, height, rows = outline
    assert (width, height) == (32, 32)
    pixels = [row[i : i + 4] for row in rows for i in range(0, len(row), 4)]
    assert set(pixels) == {b"\x00\x00\x00\x00", b"\xff\xff\xff\xff"}  # white outline on transparency
    assert rows[0][:4] == b"\x00\x00\x00\x00"
    assert "authorization" not in manifest  # no drafting channels: the bot only hears mentions


def test_package_asks_to_read_channel_messages_only_with_teams_drafting_channels(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", "app-id")

    def manifest_with(drafting: str) -> dict:
        monkeypatch.setenv("STAFFBOT_DRAFTING_CHANNELS", drafting)
        out = tmp_path / f"{len(drafting)}.zip"
        assert main(["teams-package", "--out", str(out)]) == 0
        with zipfile.ZipFile(out) as package:
            return json.loads(package.read("manifest.json"))

    assert "authorization" not in manifest_with("slack:C0DRAFTS")
    found = manifest_with("slack:C0DRAFTS,teams:19:drafts@thread.tacv2")
    assert found["webApplicationInfo"]["id"] == "app-id"
    assert found["authorization"]["permissions"]["resourceSpecific"] == [
        {"name": "ChannelMessage.Read.Group", "type": "Application"}]


def test_package_refuses_to_write_over_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", "app")
    monkeypatch.setenv("STAFFBOT_DB", str(tmp_path / "bot.db"))
    Store(tmp_path / "bot.db").db["kept"].insert({"x": 1})
    assert main(["teams-package", "--out", str(tmp_path / "bot.db")]) == 2
    assert "is the bot's database" in capsys.readouterr().err
    assert list(Store(tmp_path / "bot.db").db["kept"].rows) == [{"x": 1}]


def test_package_rejects_a_non_https_website(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", "app")
    assert main(["teams-package", "--out", str(tmp_path / "a.zip"), "--website", "http://x.example"]) == 2
    assert "https://" in capsys.readouterr().err


def test_channels_lists_known_channels_for_routing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("STAFFBOT_DB", str(tmp_path / "bot.db"))
    assert main(["teams", "channels"]) == 0
    assert "No Teams channels known yet" in capsys.readouterr().out
    store = Store(load_settings().db_path)
    directory = TeamsDirectory(store)
    directory.remember({"id": "19:slt@thread.tacv2", "kind": "channel", "service_url": "https://smba.example/",
                        "team_name": "Staff", "channel_name": "SLT"})
    directory.remember({"id": "a:chat", "kind": "personal", "service_url": "https://smba.example/", "user_aad": "u1"})
    store.close()
    assert main(["teams", "channels"]) == 0
    assert capsys.readouterr().out.splitlines() == ["teams:19:slt@thread.tacv2\tStaff\tSLT"]


def test_serve_teams_refuses_to_start_without_an_app_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("STAFFBOT_DB", str(tmp_path / "bot.db"))
    assert main(["serve", "teams", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "MICROSOFT_APP_ID is not set" in err and "Traceback" not in err


def test_serve_teams_answers_questions_and_delivers_reports_until_interrupted(tmp_path: Path) -> None:
    """The real `staffbot serve teams` process in no-auth mode, with the fake Bot Connector beside it."""
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("STAFFBOT_", "MICROSOFT_", "SLACK_"))},
           "STAFFBOT_DB": str(tmp_path / "bot.db"), "STAFFBOT_TEAMS_NO_AUTH": "1", "MICROSOFT_APP_TENANT_ID": TENANT,
           "STAFFBOT_SLT_CHANNEL": f"teams:{CHANNEL}", "STAFFBOT_TEAMS_SLT_USERS": "aad-head"}
    connector = ConnectorServer()
    command = [sys.executable, "-m", "bot.cli", "serve", "teams", "--host", "127.0.0.1", "--port", str(port)]
    bot = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/api/messages"

    def send(activity: dict) -> int:
        return post_raw(url, json.dumps(activity).encode(), {"Content-Type": "application/json"})[0]

    try:
        install = connector.activity(kind="conversationUpdate", channel=CHANNEL, user="aad-head")
        assert connector.wait_for(lambda _: bot.poll() is not None or listening(port)) and bot.poll() is None
        assert send(install) == 201
        assert send(connector.activity(text="Can I accept a friend request from a former pupil?")) == 201
        [answer] = connector.wait_for(lambda c: c.posts())
        assert "Personal use" in answer.text
        report = {"staffbot": "submit_report", "nonce": "0b5f8a4e-3a7c-4a55-9d0e-2f0b1e9c7a11", "category": "other",
                  "what_happened": "A parent shared a screenshot of a staff group chat.", "urgent": "false"}
        assert send(connector.activity(value=report, reply_to="form-1")) == 201
        [thread] = connector.wait_for(lambda c: c.created())  # posted by the process's own outbox worker
        assert thread.body["channelData"]["channel"]["id"] == CHANNEL and "INC-" in thread.text
    finally:
        bot.send_signal(signal.SIGINT)
        _, err = bot.communicate(timeout=30)
        connector.close()
    assert bot.returncode == 0, err
    assert "NOT authenticated" in err and f"listening on http://127.0.0.1:{port}/api/messages" in err
    assert "Traceback" not in err
