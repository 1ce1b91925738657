"""Quitting while this desk uploads or follows Druid tasks asks first, and explains the outcome."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow


def test_quit_asks_while_tasks_are_in_flight_and_quits_on_yes(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The seam: which tasks are past validation here (an upload, a followed Druid task).
    monkeypatch.setattr(
        window.controller, "tasks_past_validation", lambda: ("task-a", "task-b")
    )
    window.close()
    assert window.isVisible()  # not closed: asked instead
    box = window.quit_guard.box
    assert box is not None
    assert box.text() == "2 tasks are uploading or being ingested by this desk."
    assert "resumes when you add the same file again" in box.informativeText()
    keep = next(b for b in box.buttons() if "Keep working" in b.text())
    keep.click()
    assert window.isVisible()
    assert window.controller.session is not None  # still running

    window.close()
    box = window.quit_guard.box
    assert box is not None
    quit_button = next(b for b in box.buttons() if b.text() == "&Quit")
    quit_button.click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert window.controller.session is None  # shut down: feed, heartbeat and store closed


def test_quit_does_not_ask_when_nothing_is_in_flight(window: MainWindow) -> None:
    assert window.controller.tasks_past_validation() == ()
    window.close()
    assert not window.isVisible()
    assert window.quit_guard.box is None
