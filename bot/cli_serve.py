"""`staffbot serve PLATFORM`: run the bot on a chat platform until stopped."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import click

from bot.config import ConfigError, load_settings
from bot.services import Services

if TYPE_CHECKING:
    from slack_bolt import App

log = logging.getLogger(__name__)


@click.group()
def serve() -> None:
    """Run the bot on a chat platform (Slack or Teams) until Ctrl-C."""


def prepare(services: Services) -> None:
    """Load the policies and open the tables before the first question; say up front if reports are not set up."""
    services.kb
    services.questions
    try:
        services.incidents
        services.reviews
    except ConfigError as exc:
        log.warning("incident reports and second opinions are disabled until this is fixed: %s", exc)


def start_slack(services: Services) -> App:
    """Build the Slack app, load what it needs and start the delivery worker (tests start it this way too)."""
    from bot.slack import build_slack_app

    app = build_slack_app(services)
    prepare(services)
    services.outbox.start()
    return app


@serve.command("slack")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(0, 65535), help="HTTP port.")
@click.option("--host", default="0.0.0.0", show_default=True, help="HTTP address to listen on.")
def serve_slack(port: int, host: str) -> None:
    """Run the Slack app: Socket Mode when SLACK_APP_TOKEN is set, else HTTP at /slack/events.

    Example:

        SLACK_BOT_TOKEN=xoxb-… SLACK_SIGNING_SECRET=… staffbot serve slack --port 3000
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    services = Services(load_settings())
    try:
        if services.settings.slack_app_token:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            app = start_slack(services)
            click.echo("staffbot: Slack app running in Socket Mode (Ctrl-C to stop)", err=True)
            SocketModeHandler(app, services.settings.slack_app_token).start()
        else:
            from bot.slack import http_server

            server = http_server(start_slack(services), host=host, port=port)
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

    run_teams(host, port)
