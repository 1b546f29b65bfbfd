"""Running `staffbot` in-process, as the console script does, against a temporary database."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture(autouse=True)
def db(monkeypatch, tmp_path) -> Path:
    """Every CLI test writes to its own SQLite file (imported into a module, it applies to all its tests)."""
    path = tmp_path / "cli.db"
    monkeypatch.setenv("STAFFBOT_DB", str(path))
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `staffbot ARGS`."""
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err
