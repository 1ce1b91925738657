"""The ingest dialog against the dev stack's real Druid: suggestions, replace preview, drift."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.services.druid import DruidClient
from app.services.settings import Settings
from app.ui.main_window import MainWindow
from tests.devstack.conftest import devstack  # noqa: F401 - the fixture, shared
from tests.devstack.stack import DevStack
from tests.pipeline.cli_helpers import Cli
from tests.ui.test_ingest_dialog import open_dialog

pytestmark = pytest.mark.druid

Screenshot = Callable[[object, str], Path]
START = datetime(2024, 6, 3)


def write_csv(path: Path, rows: int, day0: int, *, extra: bool = False) -> Path:
    lines = ["when,city,qty" + (",note" if extra else "")]
    for i in range(rows):
        moment = START + timedelta(days=day0 + i % 3, minutes=(11 * i) % 1440)
        lines.append(f"{moment:%Y-%m-%d %H:%M:%S},city{i % 4},{i}" + (",n" if extra else ""))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def settings(devstack: DevStack, monkeypatch: pytest.MonkeyPatch) -> Settings:  # noqa: F811
    """The window's S3 and Druid are the dev stack's; its task store stays a temp SQLite."""
    for name, value in devstack.env.items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    fields = {
        name.removeprefix("INGEST_DESK_").lower(): value
        for name, value in devstack.env.items()
        if name.startswith("INGEST_DESK_") and name != "INGEST_DESK_DATABASE_URL"
    }
    return Settings(**fields)  # type: ignore[arg-type]


@pytest.fixture
def datasource(devstack: DevStack) -> Iterator[str]:  # noqa: F811
    name = f"ui_dialog_{uuid.uuid4().hex[:8]}"
    yield name
    devstack.drop_datasource(name)


# Typing a known name opens the completer's popup; the offscreen platform cannot raise it or
# grab the keyboard for it, and says so. Those lines are the platform's, not the dialog's.
@pytest.mark.qt_log_ignore(
    "This plugin does not support propagateSizeHints",
    "This plugin does not support raise",
    "This plugin does not support grabbing the keyboard",
)
def test_suggestions_replace_preview_and_drift_with_real_druid(
    qtbot: QtBot,
    window: MainWindow,
    devstack: DevStack,  # noqa: F811
    datasource: str,
    tmp_path: Path,
    screenshot: Screenshot,
) -> None:
    first = write_csv(tmp_path / "june.csv", 60, day0=0)
    # Generous: a dev stack shared with other suites can queue the Druid task for a while.
    # DAY chunks by choice (60 rows alone would fit one YEAR chunk): the replace below then
    # works in whole days, as the datasource already has.
    done = Cli(devstack, tmp_path / "data").run(
        "ingest", str(first), "--datasource", datasource, "--wait",
        "--segment-granularity", "day", timeout=480,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    second = write_csv(tmp_path / "june_fix.csv", 45, day0=1, extra=True)
    dialog = open_dialog(qtbot, window, [second])
    assert dialog.note.isHidden()  # Druid answered: no note
    assert datasource in dialog.suggestions.stringList()
    completer = dialog.datasource.completer()
    completer.setCompletionPrefix(datasource[:12])
    suggested = [
        completer.completionModel().index(row, 0).data()
        for row in range(completer.completionCount())
    ]
    assert datasource in suggested

    dialog.datasource.setFocus()
    dialog.datasource.selectAll()
    qtbot.keyClicks(dialog.datasource, datasource)
    with qtbot.waitSignal(dialog.checkFinished, timeout=60_000) as appended:
        pass
    assert appended.args[0].startswith(f"Appends to '{datasource}'")
    assert "New in this file: note." in appended.args[0]

    with qtbot.waitSignal(dialog.checkFinished, timeout=60_000) as replaced:
        qtbot.mouseClick(dialog.replace, Qt.MouseButton.LeftButton)
    # The exact figures, from Polars and Druid's own SQL: the whole days the file covers.
    mine = pl.read_csv(second, try_parse_dates=True)["when"]
    low, high = mine.min(), mine.max()
    assert isinstance(low, datetime) and isinstance(high, datetime)
    day_start = datetime(low.year, low.month, low.day, tzinfo=UTC)
    day_end = datetime(high.year, high.month, high.day, tzinfo=UTC) + timedelta(days=1)
    theirs = pl.read_csv(first, try_parse_dates=True)["when"].dt.replace_time_zone("UTC")
    overlap = int(((theirs >= day_start) & (theirs < day_end)).sum())
    with DruidClient(devstack.druid_url, timeout_s=60) as druid:
        counted = druid.sql(
            f'SELECT COUNT(*) AS n FROM "{datasource}" '
            "WHERE __time >= MILLIS_TO_TIMESTAMP(?) AND __time < MILLIS_TO_TIMESTAMP(?)",
            [int(day_start.timestamp() * 1000), int(day_end.timestamp() * 1000)],
        ).first("n")
    assert counted == overlap == 40
    text = replaced.args[0]
    days = (day_end - day_start).days
    assert f"Replace overwrites {days} whole days of '{datasource}' (UTC)" in text
    assert f"{day_start:%Y-%m-%d} to {day_end - timedelta(days=1):%Y-%m-%d}" in text
    assert f"Druid holds {overlap:,} rows in that time now" in text
    assert f"Segments: DAY: 45 rows over {days} days (as {datasource} already has)." in text
    assert f"This file brings {mine.len():,} rows, dated {low:%Y-%m-%d %H:%M} to " in text
    assert f"to {high:%Y-%m-%d %H:%M}." in text
    screenshot(dialog, "ingest-dialog-replace-preview")
    dialog.reject()
