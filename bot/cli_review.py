"""`staffbot review` and `staffbot eval-drafts`: the draft checker from the command line.

`review --json` is a contract for scripts: exactly
`{"verdict": "fine"|"check", "findings": [{"reason", "span", "section", "policy"}]}` per
draft; with `--batch FILE` one such object per input line, in order, and
`{"line": n, "error": "..."}` for a line that can't be checked (the rest still are; the
exit status is then 1, with one line on stderr), as `ask --json --batch` does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel, ConfigDict, ValidationError

from handlers.second_opinion import draft_error, findings_reply
from knowledge.review import DraftInput, Review
from knowledge.review.evaluate import DraftReviewer, evaluate_drafts
from knowledge.review.models import Reason

from bot.cli import batch_lines, finish_batch, load_eval_items
from bot.config import load_settings
from bot.services import Services


class DraftItem(BaseModel):
    """One draft as scripts give it (a `--batch` line or the options); other keys, such as an id, are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)

    text: str
    account: str | None = None
    learner_images: bool | None = None
    permission_checked: bool | None = None

    def draft(self) -> DraftInput:
        return DraftInput(
            text=self.text,
            target=self.account,
            contains_learner_images=self.learner_images,
            permission_checked=self.permission_checked,
        )


class EvalItem(BaseModel):
    """What `evaluate_drafts` reads from each item of an eval-drafts file, checked up front."""

    model_config = ConfigDict(extra="allow", strict=True)

    text: str
    risky: bool
    reasons: list[Reason] = []
    target: str | None = None
    contains_learner_images: bool | None = None
    permission_checked: bool | None = None


def reviewer() -> DraftReviewer:
    return Services(load_settings()).reviewer


def review_json(review: Review) -> dict[str, Any]:
    return {
        "verdict": review.verdict,
        "findings": [
            {"reason": f.reason, "span": f.span.text, "section": f.section, "policy": f.policy}
            for f in review.findings
        ],
    }


def batch_results(path: Path, checker: DraftReviewer) -> list[dict[str, Any]]:
    """One result per non-blank line of `path`: the review, or the line number and what is wrong."""
    return [
        {"line": number, "error": problem} if problem else _line_result(number, line, checker)
        for number, line, problem in batch_lines(path)
    ]


def _line_result(number: int, line: str, checker: DraftReviewer) -> dict[str, Any]:
    try:
        item = DraftItem.model_validate_json(line)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        message = "not a JSON object" if error["type"] in ("json_invalid", "model_type") else error["msg"]
        return {"line": number, "error": f"{where}: {message}" if where else message}
    draft = item.draft()
    problem = draft_error(draft)
    if problem:
        return {"line": number, "error": problem}
    return review_json(checker.review(draft))


@click.command()
@click.argument("draft", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (see README for the shape).")
@click.option("--batch", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              help="File with one JSON draft per line ('-': standard input).")
@click.option("--account", help="The account it will be posted on.")
@click.option("--learner-images/--no-learner-images", default=None, help="Whether it includes images of learners.")
@click.option("--permission-checked/--no-permission-checked", default=None, help="Whether permission was checked.")
def review(
    draft: str | None,
    as_json: bool,
    batch: Path | None,
    account: str | None,
    learner_images: bool | None,
    permission_checked: bool | None,
) -> None:
    """Check a draft post against the policy.

    Example:

        staffbot review --json "Well done to Jack Smith in 4B for winning the spelling bee!"
    """
    if batch is None and draft is None:
        raise click.UsageError("give a DRAFT, or --batch FILE with one JSON object per line")
    if batch is not None and draft is not None:
        raise click.UsageError("give either a DRAFT or --batch FILE, not both")
    if batch is not None:
        if not as_json:
            raise click.UsageError("--batch needs --json")
        results = batch_results(batch, reviewer())
        for result in results:
            click.echo(json.dumps(result, ensure_ascii=False))
        finish_batch(sum("error" in result for result in results), len(results), "checked")
        return
    assert draft is not None
    item = DraftItem(
        text=draft, account=account, learner_images=learner_images, permission_checked=permission_checked
    ).draft()
    problem = draft_error(item)
    if problem:
        raise click.ClickException(problem)
    result = reviewer().review(item)
    if as_json:
        click.echo(json.dumps(review_json(result), ensure_ascii=False))
        return
    from bot.plaintext import render_text

    click.echo(f"Verdict: {result.verdict}")
    click.echo(render_text(findings_reply(result)))


@click.command(name="eval-drafts")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def eval_drafts(file: Path) -> None:
    """Score the draft checker against a file shaped like data/eval/drafts_dev.json."""
    report = evaluate_drafts(reviewer(), load_eval_items(file, EvalItem))
    for line in report.summary_lines():
        click.echo(line)
