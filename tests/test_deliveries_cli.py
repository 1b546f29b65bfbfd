"""`staffbot deliveries`: failed messages listed and sent again from the command line."""

from __future__ import annotations

import getpass

import pytest
from click.testing import CliRunner

from bot import audit
from bot.cli import cli, main
from bot.config import load_settings
from bot.delivery import DeliveryError, OutboundMessage
from bot.outbox import Outbox
from bot.services import Services
from bot.store import Store
from handlers.incident_models import ReportForm
from handlers.models import Actor, Reply
from handlers.report import submit_report

REPORTER = Actor(platform="teams", user_id="29:ann")


class Transport:
    """Teams as the bot sees it: refusing every message until `up`, then recording them."""

    platform = "teams"

    def __init__(self) -> None:
        self.up = False
        self.sent: list[OutboundMessage] = []

    def send(self, message: OutboundMessage) -> str:
        if not self.up:
            raise DeliveryError("Forbidden: the bot is not a member of this team", permanent=True)
        self.sent.append(message)
        return f"msg-{len(self.sent)}"


@pytest.fixture
def failed(tmp_path, monkeypatch):
    """The running bot's outbox with one SLT post that failed for good, and its transport."""
    monkeypatch.setenv("STAFFBOT_DB", str(tmp_path / "bot.db"))
    store = Store(tmp_path / "bot.db")
    transport = Transport()
    worker = Outbox(store, [transport])
    message = OutboundMessage(kind="post", destination="19:slt@thread.tacv2", reply=Reply(kind="incident", text="New"))
    job = worker.enqueue("teams", message, subject="INC-2026-0007")
    worker.run_pending()
    yield worker, transport, job
    store.close()


def test_list_names_each_failed_message_and_its_error(failed) -> None:
    _, _, job = failed
    result = CliRunner().invoke(cli, ["deliveries", "list"])
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if "INC-2026-0007" in line)
    assert line.split()[0] == str(job) and "post to teams:19:slt@thread.tacv2" in line and "not a member" in line
    assert "staffbot deliveries retry ID" in result.output


def test_retry_puts_the_message_back_for_the_running_bot_and_is_audited(failed) -> None:
    worker, transport, job = failed
    transport.up = True  # the admin added the bot to the team
    result = CliRunner().invoke(cli, ["deliveries", "retry", str(job)])
    assert result.exit_code == 0, result.output
    assert "`staffbot serve teams`" in result.output
    assert worker.run_pending() == 1  # the bot's next pass
    assert [m.destination for m in transport.sent] == ["19:slt@thread.tacv2"]
    trail = [(r["action"], r["actor"]) for r in audit.chronology(worker.store.db, "INC-2026-0007")]
    assert ("delivery_retried", f"cli:{getpass.getuser()}") in trail
    assert "Every message has been delivered" in CliRunner().invoke(cli, ["deliveries", "list"]).output


def test_retrying_a_message_that_has_not_failed_says_so_and_changes_nothing(failed, capsys) -> None:
    worker, _, job = failed
    assert CliRunner().invoke(cli, ["deliveries", "retry", str(job)]).exit_code == 0
    assert main(["deliveries", "retry", str(job)]) == 1
    assert "is not a failed delivery" in capsys.readouterr().err
    assert main(["deliveries", "retry", "999"]) == 1
    rows = audit.chronology(worker.store.db, "INC-2026-0007")
    assert [r["action"] for r in rows].count("delivery_retried") == 1


@pytest.mark.parametrize("argument", ["0", "abc", "99999999999999999999"])
def test_an_id_that_cannot_be_one_is_a_usage_error(failed, argument: str) -> None:
    result = CliRunner().invoke(cli, ["deliveries", "retry", argument])
    assert result.exit_code == 2 and "is not a message number from `staffbot deliveries list`" in result.output


def test_no_database_is_a_configuration_error_and_none_is_created(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("STAFFBOT_DB", str(tmp_path / "typo.db"))
    assert main(["deliveries", "list"]) == 2
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "typo.db").exists()


def test_retry_sends_an_slt_post_to_the_channel_the_settings_name_now(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("STAFFBOT_DB", str(tmp_path / "bot.db"))
    monkeypatch.setenv("STAFFBOT_SLT_CHANNEL", "teams:19:typo@thread.tacv2")
    services = Services(load_settings())
    transport = Transport()
    services.outbox.register(transport)
    reference = submit_report(ReportForm(category="other", what_happened="x"), REPORTER, "k", services.incidents).reference
    services.outbox.run_pending()
    [failed] = services.outbox.failed()
    monkeypatch.setenv("STAFFBOT_SLT_CHANNEL", "teams:19:slt@thread.tacv2")  # the admin corrected it
    result = CliRunner().invoke(cli, ["deliveries", "retry", str(failed["id"])])
    assert result.exit_code == 0, result.output
    assert "to teams:19:slt@thread.tacv2" in result.output
    transport.up = True
    services.outbox.run_pending()  # the running bot's next pass
    assert [(m.kind, m.destination) for m in transport.sent] == [("post", "19:slt@thread.tacv2")]
    assert reference in transport.sent[0].reply.title
    services.close()
