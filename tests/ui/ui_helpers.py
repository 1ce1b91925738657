"""Builders shared by the UI tests: tasks without a database, samples, a real drop event."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.domain.tasks import IngestMode, Task, TaskState
from app.pipeline.session import TaskUpdate

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def make_task(
    index: int,
    *,
    state: TaskState = TaskState.QUEUED,
    version: int = 1,
    client: str = "client-a",
    **changes: object,
) -> Task:
    task = Task(
        id=f"task-{index:03d}",
        file_name=f"file_{index:03d}.csv",
        file_size=1000 * (index + 1),
        sha256="0" * 64,
        source_client=client,
        datasource=f"ds_{index % 3}",
        mode=IngestMode.APPEND,
        state=state,
        version=version,
        created_at=T0 + timedelta(minutes=index),
        updated_at=T0 + timedelta(minutes=index),
    )
    return dataclasses.replace(task, **changes)  # type: ignore[arg-type]


def update(task: Task, owner: str = "alice") -> TaskUpdate:
    return TaskUpdate(task, owner)


def mime_for(paths: list[Path]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    return mime


def drag_enter(
    widget: QWidget, paths: list[Path], mime: QMimeData | None = None
) -> QDragEnterEvent:
    # The event does not own its mime data: keep a reference until the event is delivered.
    mime = mime or mime_for(paths)
    # QDragEnterEvent takes an integer QPoint (QDropEvent a QPointF); newer bindings convert.
    event = QDragEnterEvent(
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)
    return event


def drop(widget: QWidget, paths: list[Path]) -> QDropEvent:
    """A real drop: enter, then drop, both through Qt's event dispatch."""
    mime = mime_for(paths)
    drag_enter(widget, paths, mime)
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)
    return event


def drop_and_start(qtbot: QtBot, window: Any, paths: list[Path]) -> Any:
    """Drop on the window, wait for the ingest dialog, press Start; returns the dialog."""
    with qtbot.waitSignal(window.ingest_flow.dialogOpened, timeout=30_000) as opened:
        drop(window.drop_zone, paths)
    dialog = opened.args[0]
    assert dialog.start_button.isEnabled(), dialog.start_button.toolTip()
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    return dialog
