"""`staffbot review` and `staffbot eval-drafts`, through click's CliRunner and `main()`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot import paths
from bot.cli import cli, main

RISKY = "Any worries about the coursework? Email me on my personal address, katie.m.wilson82@example.com"
FINE = "Well done to our Eco Council for organising this week's litter pick! 14 bags collected."


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_review_for_a_person_shows_the_verdict_and_findings():
    result = run("review", RISKY)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Verdict: check\n")
    assert "“katie.m.wilson82@example.com”" in result.output
    assert "[/1]" not in result.output


def test_review_json_has_exactly_the_documented_shape():
    result = run("review", "--json", RISKY)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"verdict", "findings"} and data["verdict"] == "check"
    assert data["findings"]
    for finding in data["findings"]:
        assert set(finding) == {"reason", "span", "section", "policy"}
        assert isinstance(finding["span"], str) and finding["span"] in RISKY
        assert finding["policy"]
    assert any(f["span"] == "katie.m.wilson82@example.com" for f in data["findings"])
    assert json.loads(run("review", "--json", FINE).output) == {"verdict": "fine", "findings": []}


def test_review_options_describe_the_post():
    photo = FINE + " [Attached: photo of the pupils with their bags]"
    unchecked = run("review", "--json", "--account", "@Oakfield", "--learner-images", "--no-permission-checked", photo)
    assert unchecked.exit_code == 0, unchecked.output
    assert [f["reason"] for f in json.loads(unchecked.output)["findings"]] == ["image_permission"]
    checked = run("review", "--json", "--learner-images", "--permission-checked", photo)
    assert json.loads(checked.output) == {"verdict": "fine", "findings": []}


def test_a_broken_rules_folder_is_one_line_naming_the_setting(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("STAFFBOT_REVIEW_RULES", str(tmp_path / "nowhere"))
    assert main(["review", FINE]) == 2
    expected = f"staffbot: error: STAFFBOT_REVIEW_RULES: no rules files in {tmp_path / 'nowhere'}\n"
    assert capsys.readouterr().err == expected


def test_batch_prints_one_result_per_line_in_order_and_flags_bad_lines(tmp_path):
    lines = [
        json.dumps({"id": "a", "text": RISKY}),
        "",
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"text": ""}),
        json.dumps({"text": 5}),
        json.dumps({"account": "x"}),
        json.dumps({"text": FINE, "account": "@Oakfield", "learner_images": False, "permission_checked": True}),
        json.dumps({"text": FINE, "learner_images": "maybe"}),
    ]
    batch = tmp_path / "drafts.jsonl"
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["review", "--json", "--batch", str(batch)])
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 8
    assert out[0]["verdict"] == "check"
    assert out[1] == {"line": 3, "error": "not a JSON object"}
    assert out[2] == {"line": 4, "error": "not a JSON object"}
    assert out[3] == {"line": 5, "error": "Please paste the draft post you'd like checked."}
    assert out[4]["line"] == 6 and out[4]["error"].startswith("text: ")
    assert out[5] == {"line": 7, "error": "text: Field required"}
    assert out[6] == {"verdict": "fine", "findings": []}
    assert out[7]["line"] == 9 and out[7]["error"].startswith("learner_images: ")
    assert "6 of 8 lines could not be checked" in result.stderr


def test_a_clean_batch_exits_zero(tmp_path):
    batch = tmp_path / "drafts.jsonl"
    batch.write_text(json.dumps({"text": FINE}) + "\n" + json.dumps({"text": RISKY}) + "\n", encoding="utf-8")
    result = run("review", "--json", "--batch", str(batch))
    assert result.exit_code == 0
    assert [json.loads(line)["verdict"] for line in result.output.splitlines()] == ["fine", "check"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give a DRAFT, or --batch FILE"),
        (["draft", "--batch", "x.jsonl"], "not both"),
        (["--batch", "x.jsonl"], "--batch needs --json"),
        (["--colour", "draft"], "No such option '--colour'"),
    ],
)
def test_usage_errors_exit_2_with_the_reason(args, message):
    result = run("review", *args)
    assert result.exit_code == 2 and message in result.output


def test_an_empty_draft_or_unreadable_batch_is_one_clear_error(tmp_path):
    result = run("review", "   ")
    assert result.exit_code == 1 and "Please paste the draft post you'd like checked." in result.output
    result = run("review", "--json", "--batch", str(tmp_path / "missing.jsonl"))
    assert result.exit_code == 1 and "cannot read" in result.output and "Traceback" not in result.output


def test_eval_drafts_names_the_bad_item(tmp_path):
    bad = tmp_path / "drafts.json"
    bad.write_text(json.dumps([{"text": "fine", "risky": False}, {"text": "x", "risky": "yes"}]), encoding="utf-8")
    result = run("eval-drafts", str(bad))
    assert result.exit_code == 1 and f"{bad}: item 2: risky: Input should be a valid boolean" in result.output
    bad.write_text(json.dumps([{"text": "x", "risky": True, "reasons": ["made_up_reason"]}]), encoding="utf-8")
    result = run("eval-drafts", str(bad))
    assert result.exit_code == 1 and f"{bad}: item 1: reasons.0: Input should be " in result.output


def test_main_turns_errors_into_one_stderr_line(capsys, tmp_path):
    assert main(["review", ""]) == 1
    err = capsys.readouterr().err
    assert err == "staffbot: error: Please paste the draft post you'd like checked.\n"
    bad = tmp_path / "bad.json"
    bad.write_text("{oops", encoding="utf-8")
    assert main(["eval-drafts", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"staffbot: error: cannot read {bad}") and err.count("\n") == 1
    assert main(["review", "--colour", "x"]) == 2
    assert capsys.readouterr().err == "staffbot: error: No such option '--colour'.\n"


def test_eval_drafts_prints_the_scores():
    result = run("eval-drafts", str(paths.DATA / "eval" / "drafts_dev.json"))
    assert result.exit_code == 0, result.output
    text = result.output.lower()
    assert "recall" in text and "precision" in text
    assert "personal_opinion" in text


@pytest.mark.parametrize(
    "content",
    [
        "{oops",
        '{"a": 1}',
        "[1, 2]",
        '[{"text": "hi"}]',
        '[{"text": "hi", "risky": "yes"}]',
        '[{"text": 3, "risky": true}]',
    ],
)
def test_eval_drafts_refuses_a_malformed_file(tmp_path, content):
    bad = tmp_path / "drafts.json"
    bad.write_text(content, encoding="utf-8")
    result = run("eval-drafts", str(bad))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert str(bad) in result.output
