"""`staffbot serve PLATFORM`: check the settings, then run the bot on a chat platform until stopped."""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING

import click

from bot.config import ConfigError, Settings, load_settings
from bot.services import Services

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.routing import Destination

log = logging.getLogger(__name__)

PLATFORM_NAMES = {"slack": "Slack", "teams": "Teams", "console": "the console"}


@click.group()
def serve() -> None:
    """Run the bot on a chat platform (Slack or Teams) until Ctrl-C."""


def reports_unconfigured(settings: Settings) -> bool:
    """True on a fresh install: neither STAFFBOT_SLT_CHANNEL nor the routing file names any destination.

    Reports are then off (with a warning) rather than the bot refusing to start: a Teams
    school needs the bot running to learn its SLT channel's id (`staffbot teams channels`).
    """
    from bot.routing import read_routing_file

    if settings.slt_channel:
        return False
    try:
        table = read_routing_file(settings.routing_path)
    except ConfigError:
        return False  # malformed: Routing.load(settings) will say how
    return not (table.default or table.dsl or table.categories)


def check_settings(services: Services, platform: str) -> None:
    """Before serving, stop with one line naming the setting if anything configured is malformed
    (policies, review rules, the do-not-publish list, routing file, SLT and review channels);
    warn about what will not work from this process (other platforms' channels, no SLT)."""
    from bot.reviews import approvals_channel

    settings = services.settings
    targets: list[Destination] = []
    if not reports_unconfigured(settings):
        routing = services.routing
        targets += [*routing.default, *routing.dsl, *(d for ds in routing.table.categories.values() for d in ds)]
    if settings.review_channel or settings.slt_channel:
        targets.append(approvals_channel(settings))
    services.kb
    services.reviewer
    elsewhere = sorted({PLATFORM_NAMES.get(t.platform, t.platform) for t in targets if t.platform != platform})
    if elsewhere:
        log.warning("reports or drafts are routed to %s as well: those messages wait in the outbox until the bot "
                    "serves that platform too (another `staffbot serve` on the same STAFFBOT_DB)",
                    " and ".join(elsewhere))
    slt = bool(settings.teams_slt_users) if platform == "teams" else bool(settings.slt_users or settings.slt_usergroup)
    if not slt:
        setting = "STAFFBOT_TEAMS_SLT_USERS" if platform == "teams" else "STAFFBOT_SLT_USERS or STAFFBOT_SLT_USERGROUP"
        log.warning("%s is not set: nobody in %s can act on reports or drafts", setting, PLATFORM_NAMES[platform])


def prepare(services: Services) -> None:
    """Load the policies and open the tables before the first question; say up front if reports are not set up."""
    services.kb
    services.questions
    try:
        services.incidents
        services.reviews
    except ConfigError as exc:
        log.warning("incident reports and second opinions are disabled until this is fixed: %s", exc)


def settle_heap() -> None:
    """Put everything loaded so far (the policy index, review rules, modules) out of the garbage
    collector's way before serving: a full collection walking them pauses every request for
    ~35 ms, and bursts of requests trigger one every few seconds."""
    gc.collect()
    gc.freeze()


def start_slack(services: Services) -> App:
    """Build the Slack app, load what it needs and start the delivery worker (tests start it this way too)."""
    from bot.slack import build_slack_app

    app = build_slack_app(services)
    prepare(services)
    services.outbox.start()
    return app


def logged() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@serve.command("slack")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(0, 65535), help="HTTP port.")
@click.option("--host", default="0.0.0.0", show_default=True, help="HTTP address to listen on.")
def serve_slack(port: int, host: str) -> None:
    """Run the Slack app: Socket Mode when SLACK_APP_TOKEN is set, else HTTP at /slack/events.

    Example:

        SLACK_BOT_TOKEN=xoxb-… SLACK_SIGNING_SECRET=… staffbot serve slack --port 3000
    """
    logged()
    services = Services(load_settings())
    try:
        services.settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
        check_settings(services, "slack")
        if services.settings.slack_app_token:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            app = start_slack(services)
            settle_heap()
            click.echo("staffbot: Slack app running in Socket Mode (Ctrl-C to stop)", err=True)
            SocketModeHandler(app, services.settings.slack_app_token).start()
        else:
            from bot.slack import http_server

            server = http_server(start_slack(services), host=host, port=port)
            settle_heap()
            click.echo(
                f"staffbot: Slack app listening on http://{host}:{server.effective_port}/slack/events (Ctrl-C to stop)",
                err=True,
            )
            server.run()
    finally:
        services.close()


@serve.command("teams")
@click.option("--port", default=3978, show_default=True, type=click.IntRange(0, 65535), help="HTTP port.")
@click.option("--host", default="0.0.0.0", show_default=True, help="HTTP address to listen on.")
def serve_teams(port: int, host: str) -> None:
    """Run the Teams bot: the Bot Framework endpoint at /api/messages.

    Example:

        MICROSOFT_APP_ID=… MICROSOFT_APP_PASSWORD=… MICROSOFT_APP_TENANT_ID=… staffbot serve teams
    """
    from bot.cli_teams import run_teams

    logged()
    run_teams(host, port)
