"""`staffbot incidents list|show|export`: the safeguarding record, for SLT at the server.

The command line has no chat identity to check against the SLT roster: who may run it
is decided by who can read the database file (STAFFBOT_DB, created readable by its owner
only). Run it as the account that runs the bot, on behalf of SLT. Every read is audited
with the operating-system user, like a click on "View details" ("viewed" by
"cli:<user>"), and an export is audited as "exported", so the chronology shows every time
the narrative left the database. No routing or chat settings are needed to read records.
"""

from __future__ import annotations

import csv
import getpass
import os
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

import click

from handlers.incident_models import STATUS_LABELS, Incident
from handlers.report import age, urgency

from bot.config import ConfigError, load_settings
from bot.incidents import IncidentDB
from bot.store import PRIVATE_MODE, Store, is_database


EXPORT_COLUMNS = [
    "reference", "created_at", "category", "urgent", "status", "reporter", "when", "platform", "link",
    "people", "what_happened", "assignee", "escalated_to", "outcome",
    "event_at", "event_action", "event_actor", "event_detail",
]  # fmt: skip


def book() -> IncidentDB:
    """The incident records, read-only as far as routing goes (nothing is announced from here).
    A database that is not there is an error, not an empty one: "No open incidents" read from a
    mistyped STAFFBOT_DB would mislead."""
    path = load_settings().db_path
    if not path.exists():
        raise ConfigError(f"STAFFBOT_DB: no database at {path}: no incident has been stored there")
    return IncidentDB(Store(path), routing=None)


def cli_actor() -> str:
    """Who ran the command, for the audit trail: "cli:<operating-system user>"."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        user = "unknown"
    return f"cli:{user}"


@click.group()
def incidents() -> None:
    """List, show and export incident reports (every read is audited)."""


@incidents.command(name="list")
@click.option("--all", "show_all", is_flag=True, help="Include resolved incidents.")
def list_incidents(show_all: bool) -> None:
    """Incidents with status and age, open ones first (oldest first)."""
    rows = book().all()
    if not show_all:
        rows = [i for i in rows if i.is_open]
    if not rows:
        click.echo("No open incidents." if not show_all else "No incidents.")
    now = datetime.now(timezone.utc)
    for i in rows:
        assignee = f"  [{i.assignee}]" if i.assignee else ""
        click.echo(
            f"{i.reference}  {STATUS_LABELS[i.status]:<28} {age(i.created_at, now):<14} "
            f"{'URGENT  ' if i.urgent else ''}{i.category.label}{assignee}"
        )


@incidents.command()
@click.argument("reference")
def show(reference: str) -> None:
    """The full record of one incident and its audit chronology (audited as viewed)."""
    db = book()
    incident = db.get(reference) if reference.isascii() else None  # references are INC-YYYY-NNNN
    if incident is None:
        raise click.ClickException(f"no incident {ascii(reference.strip())}: see `staffbot incidents list --all`")
    db.log_system(incident.reference, "viewed", cli_actor())
    for label, value in _record(incident):
        click.echo(f"{label + ':':<18}{value}")
    click.echo("\nWhat happened:")
    click.echo(incident.what_happened)
    click.echo("\nChronology:")
    for row in db.history(incident.reference):
        detail = f": {row['detail']}" if row["detail"] else ""
        click.echo(f"  {row['at']}  {row['action']:<16} {row['actor']}{detail}")


def _record(i: Incident) -> list[tuple[str, str]]:
    return [
        ("Reference", i.reference),
        ("Reported", f"{i.created_at.isoformat()} by {i.reporter.name or i.reporter.user_id} ({i.reporter.key})"),
        ("Category", i.category.label),
        ("Urgency", urgency(i)),
        ("Status", STATUS_LABELS[i.status]),
        ("When", i.when.isoformat()),
        ("Where", " ".join(p for p in (i.platform, i.link) if p) or "-"),
        ("People involved", i.people or "-"),
        ("Assigned to", i.assignee or "-"),
        ("Escalated to", i.escalated_to or "-"),
        ("Outcome", i.outcome or "-"),
    ]


@incidents.command()
@click.option("--csv", "as_csv", is_flag=True, required=True, help="CSV: one row per audit event.")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True), default="-",
              help="File (default stdout), created readable by its owner only.")
def export(as_csv: bool, output: Path) -> None:
    """Every incident with its chronology as CSV (audited as exported)."""
    settings = load_settings()
    if str(output) != "-" and is_database(output, settings.db_path):
        raise click.BadParameter(f"{output} is the incident database itself: choose another file",
                                 param_hint="--output")
    db = book()
    with click.open_file("-", "w") if str(output) == "-" else private_file(output) as out:
        _write_export(db, out)


def private_file(path: Path) -> TextIO:
    """`path` opened for writing, readable by its owner only when it is a file of theirs (the
    export holds every safeguarding record); a device such as /dev/null is written as it is."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_MODE)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror}") from None
    try:
        found = os.fstat(fd)
        if stat.S_ISREG(found.st_mode) and found.st_uid == os.geteuid():
            os.fchmod(fd, PRIVATE_MODE)  # an older export may have been readable by others
            os.ftruncate(fd, 0)
    except OSError as exc:
        os.close(fd)
        raise click.ClickException(f"cannot write {path}: {exc.strerror}") from None
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def _write_export(db: IncidentDB, output: TextIO) -> None:
    writer = csv.DictWriter(output, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    rows = db.all()
    actor = cli_actor()
    for i in rows:  # audited first: a failed or interrupted export still left the database
        db.log_system(i.reference, "exported", actor, detail="csv")
    for i in rows:
        base = {
            "reference": i.reference, "created_at": i.created_at.isoformat(), "category": i.category.value,
            "urgent": "yes" if i.urgent else "no", "status": i.status, "reporter": i.reporter.key,
            "when": i.when.isoformat(), "platform": i.platform, "link": i.link, "people": i.people,
            "what_happened": i.what_happened, "assignee": i.assignee, "escalated_to": i.escalated_to,
            "outcome": i.outcome,
        }  # fmt: skip
        for event in db.history(i.reference):
            row = {**base, "event_at": event["at"], "event_action": event["action"],
                   "event_actor": event["actor"], "event_detail": event["detail"]}  # fmt: skip
            writer.writerow({key: _cell(value) for key, value in row.items()})


def _cell(value: str | None) -> str:
    """Neutralise spreadsheet formulas (=, +, -, @) typed by a reporter."""
    text = value or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
