"""The Teams app package: manifest.json plus the two icons, zipped for upload to Teams.

The icons are drawn here as PNGs with zlib and struct (no imaging dependency): a 192x192
full-colour icon and a 32x32 white outline on transparency, as Teams requires.
"""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.routing import drafting_channels

MANIFEST_VERSION = "1.17"
SCHEMA = f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
ACCENT = (0x1F, 0x6F, 0x8B)
WHITE = (0xFF, 0xFF, 0xFF)
COMMANDS = [
    ("ask", "Ask a question about the social media policy"),
    ("report", "Report an incident to the senior leadership team"),
    ("report status", "See the reports you have made and where they are"),
    ("second opinion", "Check a draft post before you publish it"),
    ("help", "What I can do"),
]

SECOND_OPINION_COMMAND = "secondOpinion"  # the message action; the bot answers its fetchTask invoke

Pixel = tuple[int, int, int, int]


def app_version() -> str:
    try:
        return version("staffbot")
    except PackageNotFoundError:
        return "0.1.0"


def manifest(app_id: str, website: str, channel_messages: bool = False) -> dict[str, Any]:
    """The Teams manifest: a bot for personal chats and teams with its commands, and the
    "Get a second opinion" action on any message (as Slack's message shortcut).

    With `channel_messages` (drafting channels are set) it also asks each team's owner, at
    install, to let the bot read the team's channel messages without being mentioned
    (resource-specific consent): the only way it can see a draft posted in a channel.
    """
    found: dict[str, Any] = {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": app_version(),
        "id": app_id,
        "developer": {
            "name": "Staffbot",
            "websiteUrl": website,
            "privacyUrl": f"{website.rstrip('/')}/privacy",
            "termsOfUseUrl": f"{website.rstrip('/')}/terms",
        },
        "name": {"short": "Staffbot", "full": "Staffbot: social media policy, incident reports, second opinions"},
        "description": {
            "short": "Social media policy answers, incident reports and second opinions.",
            "full": (
                "Answers staff questions from the school's social media policy with the exact passage, takes "
                "incident reports for the senior leadership team, and checks draft posts before they are published."
            ),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": app_id,
                "scopes": ["personal", "team"],
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": ["personal", "team"],
                        "commands": [{"title": title, "description": text} for title, text in COMMANDS],
                    }
                ],
            }
        ],
        "composeExtensions": [
            {
                "botId": app_id,
                "commands": [
                    {
                        "id": SECOND_OPINION_COMMAND,
                        "type": "action",
                        "title": "Get a second opinion",
                        "description": "Check this message as a draft post before it is published",
                        "context": ["message"],
                        "fetchTask": True,
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [],
    }
    if channel_messages:
        found["webApplicationInfo"] = {"id": app_id, "resource": "https://RscBasedStoreApp"}
        found["authorization"] = {
            "permissions": {"resourceSpecific": [{"name": "ChannelMessage.Read.Group", "type": "Application"}]}
        }
    return found


def png(size: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    """An RGBA PNG of `size` x `size` whose pixel at (x, y) is `pixel(x, y)`."""
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def _speech_bubble(x: float, y: float) -> bool:
    """A rounded speech bubble in unit coordinates (0..1), the shape of both icons."""
    inside_box = 0.18 <= x <= 0.82 and 0.2 <= y <= 0.66
    tail = 0.3 <= x <= 0.45 and 0.66 <= y <= 0.82 and (x - 0.3) <= (0.82 - y)
    return inside_box or tail


def color_icon() -> bytes:
    """192x192: a white speech bubble on the accent colour."""
    return png(192, lambda x, y: (*(WHITE if _speech_bubble(x / 192, y / 192) else ACCENT), 255))


def outline_icon() -> bytes:
    """32x32: the bubble's white outline on transparency."""

    def pixel(x: int, y: int) -> Pixel:
        here = _speech_bubble((x + 0.5) / 32, (y + 0.5) / 32)
        edge = here and not all(
            _speech_bubble((x + 0.5 + dx) / 32, (y + 0.5 + dy) / 32) for dx, dy in ((2, 0), (-2, 0), (0, 2), (0, -2))
        )
        return (*WHITE, 255) if edge else (0, 0, 0, 0)

    return png(32, pixel)


def write_package(settings: Settings, out: Path, website: str) -> Path:
    """Write the zip Teams accepts as a custom app; needs MICROSOFT_APP_ID (the bot's id)."""
    settings.require("MICROSOFT_APP_ID")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        found = manifest(settings.microsoft_app_id, website, channel_messages=bool(drafting_channels(settings, "teams")))
        package.writestr("manifest.json", json.dumps(found, indent=2))
        package.writestr("color.png", color_icon())
        package.writestr("outline.png", outline_icon())
    return out
