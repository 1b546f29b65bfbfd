"""The `staffbot` command line.

Scripts outside the project rely on `ask --json` and `review --json`: their output shapes
are a contract, documented in the README.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from bot.cli_incidents import incidents
from bot.cli_review import eval_drafts, review
from bot.cli_serve import serve
from bot.cli_teams import teams, teams_package
from bot.config import ConfigError, Settings, load_settings
from bot.services import Services
from bot.store import StoreError

policies_option = click.option(
    "--policies",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of policy documents (default: the shipped data/policies).",
)


def make_services(policies: Path | None = None) -> Services:
    overrides: dict[str, Any] = {"STAFFBOT_POLICIES": policies} if policies else {}
    return Services(load_settings(**overrides))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="staffbot")
def cli() -> None:
    """Staff guidance bot: policy answers, incident reports and second opinions.

    Example:

        staffbot ask "Can I accept a friend request from a former pupil?"
    """


@cli.command()
@click.option("--slt", is_flag=True, help="Act as a member of SLT, to try the incident buttons.")
def chat(slt: bool) -> None:
    """Chat with the bot in this terminal, through the same handlers as Slack and Teams."""
    from bot.console import Console

    services = make_services()
    services.kb  # load before the first prompt so problems show up front
    console = Console(services)
    if slt:
        services.roster.grant(console.actor)
    console.run()


def answer_json(question: str, services: Services) -> dict[str, Any]:
    """The `ask --json` object for one question (validated like chat input)."""
    from handlers.models import Actor, Question

    try:
        text = Question(actor=Actor(platform="console", user_id="cli"), text=question).text
    except ValidationError as exc:
        return {"question": question[:200], "error": _first_error(exc)}
    answer = services.kb.answer(text)
    return {
        "question": text,
        "answered": answer.answered,
        "confidence": round(answer.confidence, 4),
        "matches": [
            {
                "document": m.chunk.document,
                "section": m.chunk.section_path,
                "text": m.chunk.text,
                "score": round(m.score, 4),
            }
            for m in answer.matches[:3]
        ],
    }


def _first_error(exc: ValidationError) -> str:
    return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")


def read_lines(path: Path) -> list[str]:
    """Non-blank lines of a text file, undecodable bytes replaced so validation can name them."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    return [line for line in raw.decode("utf-8", errors="replace").splitlines() if line.strip()]


@cli.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (see README for the shape).")
@click.option("--batch", type=click.Path(path_type=Path, dir_okay=False), help="File with one question per line.")
@policies_option
def ask(question: str | None, as_json: bool, batch: Path | None, policies: Path | None) -> None:
    """Answer a policy question.

    Example:

        staffbot ask --json "Who approves a new school account?"
    """
    if batch is None and question is None:
        raise click.UsageError("give a QUESTION, or --batch FILE with one question per line")
    if batch is not None and question is not None:
        raise click.UsageError("give either a QUESTION or --batch FILE, not both")
    services = make_services(policies)
    if batch is not None:
        if not as_json:
            raise click.UsageError("--batch needs --json")
        for line in read_lines(batch):
            click.echo(json.dumps(answer_json(line, services), ensure_ascii=False))
        return
    assert question is not None
    if as_json:
        result = answer_json(question, services)
        if "error" in result:
            raise click.ClickException(result["error"])
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    from bot.console import render_text
    from handlers.ask import ask as ask_handler
    from handlers.models import Actor, Question

    try:
        q = Question(actor=Actor(platform="console", user_id="cli"), text=question)
    except ValidationError as exc:
        raise click.ClickException(_first_error(exc)) from None
    click.echo(render_text(ask_handler(q, services.kb, services.questions).model_copy(update={"buttons": []})))


@cli.command()
@policies_option
def kb(policies: Path | None) -> None:
    """List the policy documents, their sections and chunk counts."""
    services = make_services(policies)
    for line in services.kb.describe():
        click.echo(line)


@cli.command()
@click.option("--limit", default=50, show_default=True, help="How many to show, newest first.")
def unanswered(limit: int) -> None:
    """Questions the policy did not cover, for the policy owner."""
    rows = make_services().questions.unanswered(limit)
    if not rows:
        click.echo("No unanswered questions logged.")
    for row in rows:
        flag = " [passed to owner]" if row["sent_to_owner_at"] else ""
        click.echo(f"#{row['id']}  {row['asked_at']}  {row['question']}{flag}")


def load_eval_items(path: Path) -> list[dict[str, Any]]:
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise click.ClickException(f"{path} must hold a JSON list of objects")
    return items


@cli.command(name="eval")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@policies_option
def eval_qa(file: Path, policies: Path | None) -> None:
    """Score answers against a file shaped like data/eval/qa_dev.json."""
    from knowledge.evaluate import evaluate_qa

    report = evaluate_qa(make_services(policies).kb, load_eval_items(file))
    for line in report.summary_lines():
        click.echo(line)


cli.add_command(incidents)
cli.add_command(review)
cli.add_command(eval_drafts)
cli.add_command(serve)
cli.add_command(teams)
cli.add_command(teams_package)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI, turning every expected failure into one line on stderr."""
    try:
        cli.main(args=argv, prog_name="staffbot", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("staffbot: aborted", err=True)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"staffbot: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except (ConfigError, StoreError) as exc:
        click.echo(f"staffbot: error: {exc}", err=True)
        return 2
    return 0



def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
