"""The main window end to end on an embedded store: drops, live table, details, actions."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from app.domain.tasks import TaskState
from app.pipeline.session import DeskSession
from app.services.settings import Settings
from app.ui.app import build_window, self_test
from app.ui.main_window import MainWindow
from app.ui.task_model import Column
from tests.ui.ui_helpers import SAMPLES, drop, drop_and_start

Screenshot = Callable[[MainWindow, str], Path]
SAMPLE_FILES = [
    SAMPLES / "sales_clean.csv",
    SAMPLES / "stores_workbook.xlsx",
    SAMPLES / "orders_with_errors.csv",
]
SETTLED = {TaskState.READY, TaskState.NEEDS_REVIEW, TaskState.INVALID, TaskState.CANCELLED}


def settled(window: MainWindow, count: int) -> bool:
    model = window.model
    return model.rowCount() == count and all(
        model.task_at(row).state in SETTLED for row in range(count)
    ) and window.controller.workers.active == 0


def test_first_run_shows_the_empty_state(
    qtbot: QtBot, window: MainWindow, screenshot: Screenshot
) -> None:
    qtbot.waitUntil(lambda: window.status.feed.text() == "● Live", timeout=10_000)
    assert window.stack.currentWidget() is window.empty_state
    text = window.empty_state.body.text()
    assert "Embedded single-user mode" in text
    assert "S3 and Druid are not configured" in text
    assert window.empty_state.samples_button.isVisible()
    status = window.status
    assert status.database.text() == "Embedded SQLite (single user)"
    assert "tasks.sqlite3" in status.database.toolTip()
    assert not window.details.isVisible()
    assert status.s3.text() == "S3: not configured"
    assert status.druid.text() == "Druid: not configured"
    screenshot(window, "01-empty-state")


def test_dropping_the_samples_validates_them_live(
    qtbot: QtBot, window: MainWindow, screenshot: Screenshot
) -> None:
    drop_and_start(qtbot, window, SAMPLE_FILES)
    qtbot.waitUntil(lambda: settled(window, 3), timeout=30_000)
    model = window.model
    states = {model.task_at(r).file_name: model.task_at(r) for r in range(3)}
    clean = states["sales_clean.csv"]
    assert clean.state is TaskState.READY
    assert clean.validation_summary == (
        "Valid: 200 rows. Ready to upload once S3 and Druid are set in Settings."
    )
    assert states["stores_workbook.xlsx"].state is TaskState.READY
    assert states["orders_with_errors.csv"].state is TaskState.INVALID
    assert window.stack.currentIndex() == 1
    assert window.select_task(clean.id)
    assert window.details.title.text() == "sales_clean.csv"
    assert window.details.tabs.currentIndex() == 1  # a valid file opens on its columns
    row = model.row_of(clean.id)
    assert model.index(row, Column.ROWS).data() == "200"
    screenshot(window, "02-tasks-after-dropping-samples")


def test_invalid_task_details_and_export(
    qtbot: QtBot, window: MainWindow, screenshot: Screenshot, tmp_path: Path
) -> None:
    drop_and_start(qtbot, window, [SAMPLES / "orders_with_errors.csv", SAMPLES / "sales_clean.csv"])
    qtbot.waitUntil(lambda: settled(window, 2), timeout=30_000)
    invalid = next(
        window.model.task_at(r) for r in range(2)
        if window.model.task_at(r).state is TaskState.INVALID
    )
    assert window.select_task(invalid.id)
    details = window.details
    assert details.tabs.currentIndex() == 0
    issues = [
        details.issues_model.row_values(r) for r in range(details.issues_model.rowCount())
    ]
    assert ("error", "43", "order_date", "", "The timestamp column 'order_date' is empty.") in [
        tuple(row) for row in issues
    ]
    columns = {
        details.columns_model.row_values(r)[0]: details.columns_model.row_values(r)
        for r in range(details.columns_model.rowCount())
    }
    assert columns["quantity"][1] == "integer"
    assert "row 25: 'three'" in columns["quantity"][2]
    assert ("error", "25", "quantity", "three", "'three' is not a whole number.") in [
        tuple(row) for row in issues
    ]
    assert details.export_button.isEnabled()
    assert window.retry_action.isEnabled() and window.cancel_action.isEnabled() is False
    screenshot(window, "03-invalid-task-details")

    target = tmp_path / "errors.csv"
    with qtbot.waitSignal(window.controller.notice, timeout=10_000):
        window.controller.export_errors(invalid.id, target)
    assert target.read_text(encoding="utf-8-sig").startswith("row,reason,order_date")


def test_refused_drop_says_why(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    pdf = tmp_path / "budget.pdf"
    pdf.write_bytes(b"%PDF-1.7")
    drop(window.drop_zone, [pdf])
    qtbot.waitUntil(window.banner.isVisible, timeout=10_000)
    assert "budget.pdf is a PDF document" in window.banner.text()
    assert window.model.rowCount() == 0


def test_actions_copy_remove_retry(qtbot: QtBot, window: MainWindow) -> None:
    drop_and_start(qtbot, window, [SAMPLES / "orders_with_errors.csv"])
    qtbot.waitUntil(lambda: settled(window, 1), timeout=30_000)
    task = window.model.task_at(0)
    assert window.select_task(task.id)

    window.copy_id_action.trigger()
    assert QGuiApplication.clipboard().text() == task.id

    with qtbot.waitSignal(window.controller.taskValidated, timeout=30_000) as blocker:
        window.retry_action.trigger()
    assert blocker.args[0].task.state is TaskState.INVALID
    assert blocker.args[0].task.version > task.version
    qtbot.waitUntil(lambda: settled(window, 1), timeout=10_000)

    window.remove_action.trigger()
    assert window.model.rowCount() == 0
    assert window.stack.currentWidget() is window.empty_state


def test_self_test_runs_through_the_real_worker_path(
    qtbot: QtBot, settings: Settings, tmp_path: Path
) -> None:
    main = build_window(settings, database_url=f"sqlite:///{tmp_path / 'self.sqlite3'}")
    qtbot.addWidget(main)
    main.show()
    assert self_test(main, SAMPLES / "sales_clean.csv") is None
    main.close()


def test_self_test_command_exits_zero() -> None:
    """The installed entry point, as the installer bundles run it."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("ingest-desk")), "--self-test"],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "self-test passed" in done.stdout


def test_another_clients_task_appears_live(
    qtbot: QtBot, window: MainWindow, settings: Settings, database_url: str
) -> None:
    """Two desks on one store: a task the other desk validates shows up without a refresh."""
    other = DeskSession.open(settings, database_url=database_url)
    try:
        task = other.pipeline.enqueue(SAMPLES / "stores_workbook.xlsx").task
        qtbot.waitUntil(lambda: window.model.task_by_id(task.id) is not None, timeout=10_000)
        other.pipeline.run(task.id)

        def arrived() -> bool:
            shown = window.model.task_by_id(task.id)
            return shown is not None and shown.state is TaskState.READY

        qtbot.waitUntil(arrived, timeout=10_000)
        # Only the desk holding the file keeps its full report; this one shows the summary.
        assert window.select_task(task.id)
        details = window.details
        assert details.no_report.isVisibleTo(details) and not details.tabs.isTabVisible(0)
        assert window.details.summary.text().startswith("Valid: 120 rows.")
        assert not window.retry_action.isEnabled()
    finally:
        other.close()
