"""`staffbot deliveries list|retry ID`: messages the outbox gave up on, for whoever runs the bot.

Slack admins see these on the App Home tab with a "Try again" button; a Teams-only school
has no such tab, so the command line is where a failed SLT post is found and sent again once
its cause is fixed (the bot added to the team, or a channel id corrected: the post then goes
to the channel the settings name now). As with `staffbot
incidents`, who may run it is decided by who can read the database file, and a retry is
audited as "delivery_retried" by "cli:<operating-system user>". The running bot (`staffbot
serve`) sends a retried message on its next outbox pass, within its poll interval; a record's
SLT post goes out showing the record as it is then.
"""

from __future__ import annotations

import click

from bot.cli_incidents import cli_actor
from bot.config import ConfigError, load_settings
from bot.outbox import Outbox
from bot.services import Services


def outbox() -> Outbox:
    """The outbox of STAFFBOT_DB with the current settings (a retried SLT post goes to the channel
    they name now), without transports: nothing is sent from here."""
    settings = load_settings()
    if not settings.db_path.exists():
        raise ConfigError(f"STAFFBOT_DB: no database at {settings.db_path}: nothing has been sent from there")
    return Services(settings).outbox


@click.group()
def deliveries() -> None:
    """Messages the bot could not deliver, and sending one again."""


@deliveries.command(name="list")
def list_failed() -> None:
    """Messages that will not be retried on their own, oldest first, with the error each got."""
    jobs = outbox().failed()
    if not jobs:
        click.echo("Every message has been delivered or is still being retried.")
    for job in jobs:
        click.echo(f"{job['id']:>6}  {job['created_at']}  {job['subject'] or '-'}  {job['kind']} to "
                   f"{job['platform']}:{job['destination']}  ({job['attempts']} attempts): {job['last_error']}")
    if jobs:
        click.echo("\nFix the cause, then: staffbot deliveries retry ID")


def message_id(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """A message number as `deliveries list` shows it, or a usage error saying so."""
    if not (value.isascii() and value.isdigit() and 0 < int(value) < 2**63):
        raise click.BadParameter(f"{value!r} is not a message number from `staffbot deliveries list`")
    return int(value)


@deliveries.command()
@click.argument("job", callback=message_id, metavar="ID")
def retry(job: int) -> None:
    """Send message ID again (audited); the running bot sends it on its next pass."""
    box = outbox()
    failed = next((found for found in box.failed() if found["id"] == job), None)
    if failed is None or not box.requeue(job, cli_actor()):
        raise click.ClickException(f"message {job} is not a failed delivery: see `staffbot deliveries list`")
    platform = failed["platform"]
    [destination] = box.store.db.execute("select destination from outbox where id = ?", [job]).fetchone()
    runner = "staffbot chat" if platform == "console" else f"staffbot serve {platform}"
    click.echo(f"Message {job} is queued again, to {platform}:{destination}: the running bot (`{runner}`) "
               "sends it on its next pass.")
