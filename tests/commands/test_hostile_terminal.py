"""Names and values from files and other desks reach the terminal escaped and cut, never raw."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli
from app.commands.terminal import printable
from app.domain.tasks import IngestMode
from app.pipeline.choices import IngestChoices
from app.pipeline.session import ClientRole, DeskSession
from app.pipeline.tasks import create_task
from app.services.settings import load_settings

ANSI_NAME = "evil\x1b[2J\x1b]0;pwned\x07.csv"


def test_control_characters_are_shown_escaped() -> None:
    assert printable("a\x1b[31mb\x07\n\u202ec\x9b") == "a\\x1b[31mb\\x07\\n\\u202ec\\x9b"
    assert printable("ناهید\u200cخانم 日本語 C:\\data") == "ناهید\u200cخانم 日本語 C:\\data"


def test_long_values_are_cut_with_their_length_said() -> None:
    huge = "x" * 52_428_800
    shown = printable(huge, 100)
    assert shown == "x" * 100 + "… (52,428,800 characters)"
    assert printable("x" * 100, 100) == "x" * 100


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An embedded (SQLite) desk in tmp_path, with a task whose file name holds ANSI codes."""
    for name in list(os.environ):
        if name.startswith("INGEST_DESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("INGEST_DESK_SETTINGS_FILE", str(tmp_path / "settings.toml"))
    monkeypatch.setenv("INGEST_DESK_DATABASE_URL", f"sqlite:///{tmp_path / 'tasks.sqlite3'}")
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / "xdg" / variable.lower()))
    source = tmp_path / ANSI_NAME
    source.write_text("day,v\n2024-01-01,1\n")
    session = DeskSession.open(load_settings(), role=ClientRole.COMMAND_LINE)
    try:
        create_task(
            session.store, session.client.id, source,
            IngestChoices(datasource="sales", mode=IngestMode.APPEND), "0" * 64,
        )
    finally:
        session.close()
    return source


def test_tasks_prints_another_desks_file_name_escaped(desk: Path) -> None:
    result = CliRunner().invoke(cli, ["tasks"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "evil\\x1b[2J\\x1b]0;pwned\\x07.csv" in result.output


def test_show_prints_the_file_name_escaped(desk: Path) -> None:
    listed = CliRunner().invoke(cli, ["tasks", "--json"], catch_exceptions=False).output
    task_id = listed.split('"id": "')[1][:8]
    result = CliRunner().invoke(cli, ["show", task_id], catch_exceptions=False)
    assert result.exit_code == 0
    assert "\x1b" not in result.output
    assert "File:       evil\\x1b[2J" in result.output


def test_validate_prints_cells_and_names_escaped_and_cut(tmp_path: Path) -> None:
    path = tmp_path / "values.csv"
    long_cell = "y" * 50_000
    path.write_text(
        "day,\x1b[31mname\n"
        f"2024-01-01,{long_cell}\n"
        "2024-01-02,\x1b]0;title\x07\n"
    )
    result = CliRunner().invoke(cli, ["validate", str(path)], catch_exceptions=False)
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b[31mname" in result.output
    assert long_cell not in result.output
    assert "… (50,000 characters)" in result.output
