"""The task table while work is under way: stages, bars, rows read, speed and time left."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtGui import QPalette
from pytestqt.qtbot import QtBot

from app.domain.tasks import TaskState
from app.domain.transfer import UploadProgress
from app.ui.main_window import MainWindow
from app.ui.task_format import StageView
from app.ui.task_model import Column, TaskRole
from app.ui.theme import install_theme

from .ui_helpers import make_task, update

Screenshot = Callable[[object, str], Path]


def test_tasks_in_progress_show_their_stage_speed_and_time_left(
    qtbot: QtBot, window: MainWindow, screenshot: Screenshot
) -> None:
    session = window.controller.session
    assert session is not None
    me = session.client.id
    now = datetime.now(UTC)
    rows = [
        make_task(1, state=TaskState.VALIDATING, client=me, rows_validated=1_250_000,
                  file_name="orders_2024.csv", datasource="orders", file_size=148_000_000),
        make_task(2, state=TaskState.UPLOADING, client=me, progress=0.42,
                  file_name="stores_q3.xlsx", datasource="stores", file_size=612_000_000,
                  rows_validated=4_100_000),
        make_task(3, state=TaskState.INGESTING, client="other-desk", progress=0.0,
                  file_name="returns.csv", datasource="returns", rows_validated=88_000),
        make_task(4, state=TaskState.QUEUED, client=me, file_name="march.tsv",
                  datasource="march"),
        make_task(5, state=TaskState.SUCCEEDED, client=me, file_name="feb.csv",
                  datasource="orders", rows_validated=51_000, rows_ingested=51_000),
        make_task(6, state=TaskState.FAILED, client="other-desk", file_name="jan.xlsx",
                  datasource="orders", error_message="Druid task failed: disk full"),
    ]
    for index, drafted in enumerate(rows):
        task = dataclasses.replace(drafted, created_at=now - timedelta(minutes=3 + index))
        window.model.queue_update(update(task, "alice" if task.source_client == me else "bob"))
    window.model.queue_upload_tick(
        "task-002", UploadProgress(257 * 2**20, 612 * 2**20, 4, 10, 23.4 * 2**20, 15.2)
    )
    window.model.flush()
    qtbot.waitUntil(lambda: window.model.rowCount() == 6, timeout=5000)

    def stage(task_id: str) -> StageView:
        row = window.model.row_of(task_id)
        assert row is not None
        value = window.model.index(row, Column.PROGRESS).data(TaskRole.STAGE)
        assert isinstance(value, StageView)
        return value

    assert stage("task-001").text == "Validating · 1,250,000 rows read"
    assert stage("task-001").fraction is None  # streaming: the total is not known yet
    assert stage("task-002").text == "Uploading · 42% · 23.4 MB/s · 15s left"
    assert stage("task-002").fraction == 0.42
    assert stage("task-003").text == "Ingesting · Druid is building segments"
    assert stage("task-003").fraction is None  # Druid gives no fraction: a busy bar
    assert stage("task-004").text.startswith("Queued")
    window.resize(1280, 620)
    window.splitter.setSizes([420, 60])  # as a user would drag it: room for every row
    # With nothing selected the details keep no more room than their one-line placeholder needs.
    assert window.details.minimumSizeHint().height() < 80
    screenshot(window, "06-tasks-in-progress")
    install_theme("dark")
    try:
        # Widgets take the application palette from a posted event: let it arrive.
        qtbot.waitUntil(
            lambda: window.table.palette().color(QPalette.ColorRole.Base).lightness() < 60,
            timeout=5000,
        )
        screenshot(window, "07-tasks-in-progress-dark")
    finally:
        install_theme("system")
