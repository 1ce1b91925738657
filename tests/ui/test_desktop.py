"""Tray notifications for this desk's finished tasks, and the light/dark palettes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtGui import QGuiApplication, QPalette
from pytestqt.qtbot import QtBot

from app.domain.store import ClientInfo
from app.domain.tasks import TaskState
from app.pipeline.session import ConnectionInfo, DatabaseInfo, SessionInfo
from app.ui.main_window import MainWindow
from app.ui.notifications import TaskNotice, TaskNotifier
from app.ui.settings_dialog import SettingsDialog
from app.ui.theme import Scheme, install_theme, os_scheme, palette_for

from .ui_helpers import make_task, update


def _session(client_id: str) -> SessionInfo:
    client = ClientInfo(client_id, "alice", "desk", "test", datetime.now(UTC), None)
    off = ConnectionInfo("S3", False, "")
    return SessionInfo(client, DatabaseInfo(False, "Embedded SQLite", ":memory:"), off, off)


def _notices(notifier: TaskNotifier) -> list[TaskNotice]:
    seen: list[TaskNotice] = []
    notifier.noticed.connect(seen.append)
    return seen


def test_only_changes_to_this_desks_tasks_are_announced(qtbot: QtBot) -> None:
    notifier = TaskNotifier()
    notifier.set_session(_session("me"))
    seen = _notices(notifier)
    # Seen already finished (history at start-up): not news.
    notifier.observe(update(make_task(1, state=TaskState.SUCCEEDED, client="me")))
    # Another desk's task fails: theirs to hear about.
    notifier.observe(update(make_task(2, state=TaskState.UPLOADING, client="other")))
    notifier.observe(update(make_task(2, state=TaskState.FAILED, client="other", version=2)))
    # Ours: running, then finished; the same state delivered twice is announced once.
    ours = make_task(3, state=TaskState.INGESTING, client="me")
    notifier.observe(update(ours))
    done = make_task(3, state=TaskState.SUCCEEDED, client="me", version=2, rows_ingested=1200)
    notifier.observe(update(done))
    notifier.observe(update(done))
    bad = make_task(4, state=TaskState.VALIDATING, client="me")
    notifier.observe(update(bad))
    notifier.observe(update(make_task(4, state=TaskState.INVALID, client="me", version=2,
                                      validation_summary="Invalid: 3 errors in 2 of 9 rows.")))
    assert [(n.task_id, n.title, n.message) for n in seen] == [
        ("task-003", "Ingested: file_003.csv into ds_0", "1,200 rows confirmed in Druid."),
        ("task-004", "Invalid: file_004.csv", "Invalid: 3 errors in 2 of 9 rows."),
    ]


def test_notifications_can_be_turned_off(qtbot: QtBot) -> None:
    notifier = TaskNotifier(enabled=False)
    notifier.set_session(_session("me"))
    seen = _notices(notifier)
    notifier.observe(update(make_task(1, state=TaskState.UPLOADING, client="me")))
    notifier.observe(update(make_task(1, state=TaskState.FAILED, client="me", version=2)))
    assert seen == []


def test_window_announces_its_own_finished_task(qtbot: QtBot, window: MainWindow) -> None:
    """Through the window's wiring: feed signal -> notifier -> tray, or the status bar here."""
    session = window.controller.session
    assert session is not None
    me = session.client.id
    controller = window.controller
    with qtbot.waitSignal(window.notifications.notifier.noticed, timeout=5000) as caught:
        controller.taskChanged.emit(update(make_task(7, state=TaskState.VERIFYING, client=me)))
        controller.taskChanged.emit(
            update(make_task(7, state=TaskState.FAILED, client=me, version=2,
                             error_message="Druid task failed: out of disk"))
        )
    notice = caught.args[0]
    assert notice.title == "Failed: file_007.csv"
    if window.notifications.presenter.tray is None:  # offscreen: no system tray
        assert "out of disk" in window.status.currentMessage()


def test_settings_turn_notifications_off_without_restart(
    qtbot: QtBot, window: MainWindow
) -> None:
    dialog = window.open_settings()
    assert isinstance(dialog, SettingsDialog)
    assert dialog.desktop.notify.isChecked()
    assert dialog.desktop.skip_dialog.isChecked()
    dialog.desktop.notify.setChecked(False)
    dialog.desktop.skip_dialog.setChecked(False)
    dialog.desktop.theme.setCurrentIndex(dialog.desktop.theme.findData("dark"))
    with qtbot.waitSignal(dialog.saved, timeout=10_000):
        dialog.save()
    assert window.notifications.notifier.enabled is False
    assert window.controller.settings.skip_dialog_when_template_matches is False
    window_color = QGuiApplication.palette().color(QPalette.ColorRole.Window)
    assert window_color.lightness() < 80  # dark applied at once
    install_theme("system")


@pytest.mark.parametrize("scheme", list(Scheme))
def test_palettes_keep_text_readable(scheme: Scheme) -> None:
    palette = palette_for(scheme)
    role = QPalette.ColorRole
    for text, background in ((role.Text, role.Base), (role.WindowText, role.Window),
                             (role.HighlightedText, role.Highlight),
                             (role.ButtonText, role.Button)):
        assert _contrast(palette.color(text), palette.color(background)) >= 4.5


def test_system_choice_follows_the_os(qtbot: QtBot) -> None:
    theme = install_theme("system")
    assert theme.scheme is os_scheme()
    theme.set_choice("dark")
    assert theme.scheme is Scheme.DARK
    theme.set_choice("system")
    assert theme.scheme is os_scheme()


def _luminance(color: object) -> float:
    from PySide6.QtGui import QColor

    assert isinstance(color, QColor)

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return (0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF())
            + 0.0722 * channel(color.blueF()))


def _contrast(a: object, b: object) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
