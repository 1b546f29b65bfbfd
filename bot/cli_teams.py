"""Teams commands: `serve teams` (run), `teams channels` (routing ids), `teams-package` (app upload)."""

from __future__ import annotations

from pathlib import Path

import click

from bot.config import load_settings
from bot.services import Services
from bot.store import is_database


def run_teams(host: str, port: int) -> None:
    """Check the settings, then serve /api/messages and deliver the outbox until Ctrl-C."""
    import asyncio

    from aiohttp import web

    from bot.cli_serve import check_settings, prepare, settle_heap
    from bot.teams import build_teams_app

    services = Services(load_settings())
    try:
        check_settings(services, "teams")
        app = build_teams_app(services)  # checks the Bot Framework credentials first
        prepare(services)
        services.outbox.start()

        async def stop_delivering(app: web.Application) -> None:
            """Before the loop goes: a job sent after it would fail and count as an attempt."""
            await asyncio.to_thread(services.outbox.stop)

        app.on_shutdown.append(stop_delivering)
        settle_heap()
        click.echo(f"staffbot: Teams bot listening on http://{host}:{port}/api/messages (Ctrl-C to stop)", err=True)
        web.run_app(app, host=host, port=port, print=None)
    finally:
        services.close()


@click.group()
def teams() -> None:
    """Microsoft Teams set-up helpers."""


@teams.command("channels")
def channels() -> None:
    """Channels the bot has been added to, with the ids routing.toml needs ("teams:<id>").

    Add the app to a team (or mention it in a channel) first: Teams only tells the bot
    about a channel then.
    """
    from bot.teams_store import TeamsDirectory

    services = Services(load_settings())
    try:
        rows = TeamsDirectory(services.store).channels()
    finally:
        services.close()
    if not rows:
        click.echo("No Teams channels known yet: add the app to a team, or @mention it in a channel.")
        return
    for row in rows:
        click.echo(f"teams:{row['id']}\t{row['team_name'] or '?'}\t{row['channel_name'] or '?'}")


@click.command("teams-package")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=Path("staffbot-teams.zip"),
              show_default=True, help="Where to write the zip.")
@click.option("--website", default="https://example.org/staffbot", show_default=True,
              help="Your school's page about the bot (Teams requires https URLs; privacy and terms pages are under it).")
def teams_package(out: Path, website: str) -> None:
    """Write the Teams app package (manifest.json and icons) to upload in Teams.

    Example:

        MICROSOFT_APP_ID=… staffbot teams-package --out staffbot-teams.zip
    """
    from bot.teams_package import write_package

    if not website.startswith("https://"):
        raise click.BadParameter("must start with https://", param_hint="--website")
    settings = load_settings()
    if is_database(out, settings.db_path):
        raise click.BadParameter(f"{out} is the bot's database: choose another file", param_hint="--out")
    try:
        written = write_package(settings, out, website)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
    click.echo(f"Wrote {written}: upload it in Teams (Apps > Manage your apps > Upload an app).")
