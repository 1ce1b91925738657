"""Drops simulated with real QMimeData drag and drop events."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.ui.drop_zone import IDLE_TITLE, DropZone
from tests.ui.ui_helpers import SAMPLES, drag_enter, drop


def test_drop_of_files_and_folders_emits_every_path(qtbot: QtBot, tmp_path: Path) -> None:
    zone = DropZone()
    qtbot.addWidget(zone)
    folder = tmp_path / "more"
    folder.mkdir()
    paths = [SAMPLES / "sales_clean.csv", SAMPLES / "stores_workbook.xlsx", folder]
    with qtbot.waitSignal(zone.pathsDropped, timeout=2000) as blocker:
        event = drop(zone, paths)
    assert event.isAccepted()
    assert blocker.args == [paths]
    assert zone.drag_state == "idle" and zone.title.text() == IDLE_TITLE


def test_drag_feedback_accepts_spreadsheets_and_names_refusals(
    qtbot: QtBot, tmp_path: Path
) -> None:
    zone = DropZone()
    qtbot.addWidget(zone)
    pdf = tmp_path / "minutes.pdf"
    pdf.write_bytes(b"%PDF")
    drag_enter(zone, [SAMPLES / "sales_clean.csv", pdf])
    assert zone.drag_state == "accept"
    assert zone.hint.text() == "Release to add 1 file (1 not supported will be skipped)"
    drag_enter(zone, [pdf])
    assert zone.drag_state == "reject"
    assert "minutes.pdf" in zone.hint.text()


def test_non_file_drags_are_ignored(qtbot: QtBot) -> None:
    from PySide6.QtCore import QMimeData, QPoint, Qt
    from PySide6.QtGui import QDragEnterEvent
    from PySide6.QtWidgets import QApplication

    zone = DropZone()
    qtbot.addWidget(zone)
    mime = QMimeData()
    mime.setText("just some text")
    event = QDragEnterEvent(
        QPoint(5, 5), Qt.DropAction.CopyAction, mime,
        Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(zone, event)
    assert not event.isAccepted()
    assert zone.drag_state == "idle"
