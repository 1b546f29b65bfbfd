import csv
import getpass
import io
import os

import pytest
from click.testing import CliRunner

from bot.cli import cli, main
from bot.cli_incidents import EXPORT_COLUMNS
from bot.config import load_settings
from bot.services import Services
from bot.store import Store
from handlers import actions
from handlers.incident_models import ReportForm
from handlers.models import Actor
from handlers.report import act, submit_report


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("STAFFBOT_DB", str(tmp_path / "cli.db"))
    monkeypatch.setenv("STAFFBOT_SLT_CHANNEL", "CSLT")
    services = Services(load_settings())
    head = Actor(platform="slack", user_id="UHEAD", name="Head")
    services.roster.grant(head)
    reporter = Actor(platform="slack", user_id="U1", name="Ann")
    old = submit_report(ReportForm(category="copyright", what_happened="=HYPERLINK(evil)"), reporter, "a", services.incidents)
    new = submit_report(ReportForm(category="bullying", what_happened="Open case", urgent=True), reporter, "b", services.incidents)
    act(head, old.reference, actions.INCIDENT_RESOLVE, services.incidents, services.roster, text="Removed")
    yield services, old.reference, new.reference
    services.close()


def test_list_shows_open_first_and_all_with_a_flag(env):
    _, resolved, open_ref = env
    result = CliRunner().invoke(cli, ["incidents", "list"])
    assert result.exit_code == 0
    assert open_ref in result.output and "URGENT" in result.output and resolved not in result.output
    lines = CliRunner().invoke(cli, ["incidents", "list", "--all"]).output.splitlines()
    assert [line.split()[0] for line in lines] == [open_ref, resolved]


def test_show_prints_record_and_chronology_and_is_audited(env):
    services, resolved, _ = env
    result = CliRunner().invoke(cli, ["incidents", "show", resolved.lower()])
    assert result.exit_code == 0
    assert "=HYPERLINK(evil)" in result.output
    assert "Outcome:          Removed" in result.output
    assert "resolved         slack:UHEAD: Removed" in result.output
    assert services.incidents.history(resolved)[-1] | {"at": ""} == {
        "at": "", "action": "viewed", "actor": f"cli:{getpass.getuser()}", "detail": ""
    }


def test_show_of_an_unknown_reference_is_a_clear_error(env, capsys):
    result = CliRunner().invoke(cli, ["incidents", "show", "INC-2020-0001"])
    assert result.exit_code != 0
    assert "no incident 'INC-2020-0001'" in result.output
    assert main(["incidents", "show", "nope"]) == 1
    assert capsys.readouterr().err.startswith("staffbot: error: no incident 'nope'")
    assert main(["incidents", "show", "INC-\udcff"]) == 1  # a byte that is not UTF-8 on the command line
    assert capsys.readouterr().err.startswith("staffbot: error: no incident 'INC-\\udcff'")


def test_export_csv_has_every_event_neutralises_formulas_and_is_audited(env):
    services, resolved, open_ref = env
    result = CliRunner().invoke(cli, ["incidents", "export", "--csv"])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["reference"], r["event_action"]) for r in rows] == [
        (open_ref, "created"),
        (open_ref, "exported"),
        (resolved, "created"),
        (resolved, "resolved"),
        (resolved, "exported"),
    ]
    assert rows[2]["what_happened"] == "'=HYPERLINK(evil)"
    assert services.incidents.history(open_ref)[-1]["action"] == "exported"


def test_export_needs_the_csv_flag(env):
    assert CliRunner().invoke(cli, ["incidents", "export"]).exit_code == 2


def test_export_rows_follow_the_audit_chronology_with_who_and_when(env):
    services, resolved, _ = env
    rows = [r for r in csv.DictReader(io.StringIO(CliRunner().invoke(cli, ["incidents", "export", "--csv"]).output))
            if r["reference"] == resolved]
    history = services.incidents.history(resolved)
    assert [(r["event_at"], r["event_action"], r["event_actor"], r["event_detail"]) for r in rows] == [
        (h["at"], h["action"], h["actor"], h["detail"]) for h in history
    ]
    assert rows[1]["event_actor"] == "slack:UHEAD" and rows[1]["event_detail"] == "Removed"
    assert rows[2]["event_actor"] == f"cli:{getpass.getuser()}"


def test_export_to_a_device_leaves_the_device_alone(env):
    before = os.stat(os.devnull).st_mode
    assert CliRunner().invoke(cli, ["incidents", "export", "--csv", "-o", os.devnull]).exit_code == 0
    assert os.stat(os.devnull).st_mode == before


def test_export_to_a_file_readable_by_its_owner_only(env, tmp_path):
    out = tmp_path / "incidents.csv"
    out.write_text("an older export", encoding="utf-8")
    out.chmod(0o644)
    assert CliRunner().invoke(cli, ["incidents", "export", "--csv", "-o", str(out)]).exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("reference,created_at,category,")
    assert out.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("suffix", ["", "-wal", " hard link"])
def test_export_refuses_to_write_over_the_database(env, tmp_path, capsys, suffix):
    services, resolved, open_ref = env
    database = tmp_path / f"cli.db{suffix}"
    if suffix == " hard link":
        os.link(tmp_path / "cli.db", database)
    before = database.read_bytes() if database.exists() else None
    assert main(["incidents", "export", "--csv", "-o", str(database)]) == 2
    assert "is the incident database itself" in capsys.readouterr().err
    assert (database.read_bytes() if database.exists() else None) == before
    assert {i.reference for i in services.incidents.all()} == {resolved, open_ref}


def test_reading_records_needs_no_routing_settings(env, monkeypatch, tmp_path, capsys):
    _, resolved, open_ref = env
    monkeypatch.delenv("STAFFBOT_SLT_CHANNEL")
    monkeypatch.setenv("STAFFBOT_ROUTING", str(tmp_path / "missing-routing.toml"))
    assert main(["incidents", "list", "--all"]) == 0
    out = capsys.readouterr().out
    assert open_ref in out and resolved in out
    assert main(["incidents", "show", open_ref]) == 0
    assert main(["incidents", "export", "--csv"]) == 0


def test_a_database_that_is_not_there_is_named_and_not_created(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STAFFBOT_DB", str(tmp_path / "typo" / "staffbot.db"))
    assert main(["incidents", "list"]) == 2
    assert capsys.readouterr().err == (f"staffbot: error: STAFFBOT_DB: no database at {tmp_path / 'typo' / 'staffbot.db'}"
                                       ": no incident has been stored there\n")
    assert not (tmp_path / "typo").exists()


def test_an_empty_database_lists_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STAFFBOT_DB", str(tmp_path / "empty.db"))
    Store(tmp_path / "empty.db").db.execute("select 1")
    assert main(["incidents", "list"]) == 0
    assert capsys.readouterr().out == "No open incidents.\n"
    assert main(["incidents", "export", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines() == [",".join(EXPORT_COLUMNS)]
