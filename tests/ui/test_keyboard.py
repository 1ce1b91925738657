"""The keyboard: Tab leaves the tables, the details panel's actions have keys (pytest-qt)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu, QWidget
from pytestqt.qtbot import QtBot

from app.domain.druid import DruidTaskState, RowStats
from app.domain.tasks import TaskState
from app.pipeline.druid_view import DruidTaskView, SpecSource
from app.ui.main_window import MainWindow
from tests.ui.test_main_window import settled
from tests.ui.ui_helpers import SAMPLES, drop_and_start

Screenshot = Callable[[QWidget, str], Path]


def focused() -> QWidget | None:
    return QApplication.focusWidget()


def tab_until(qtbot: QtBot, target: QWidget, *, limit: int = 40) -> list[QWidget | None]:
    """Press Tab from the focused widget until `target` has focus; the widgets passed."""
    passed = [focused()]
    for _ in range(limit):
        if focused() is target:
            return passed
        current = focused()
        assert current is not None
        qtbot.keyClick(current, Qt.Key.Key_Tab)
        passed.append(focused())
    pytest.fail(f"Tab never reached {target.accessibleName() or target}: {passed}")


@pytest.fixture
def invalid_task(qtbot: QtBot, window: MainWindow) -> str:
    """Two real files through the real pipeline: one invalid (with issues), one valid."""
    drop_and_start(qtbot, window, [SAMPLES / "orders_with_errors.csv", SAMPLES / "sales_clean.csv"])
    qtbot.waitUntil(lambda: settled(window, 2), timeout=30_000)
    task = next(
        window.model.task_at(r) for r in range(2)
        if window.model.task_at(r).state is TaskState.INVALID
    )
    assert window.select_task(task.id)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return task.id


def test_tab_leaves_the_task_table_and_keeps_the_selection(
    qtbot: QtBot, window: MainWindow, invalid_task: str
) -> None:
    table = window.table
    table.setFocus()
    qtbot.waitUntil(table.hasFocus)
    qtbot.keyClick(table, Qt.Key.Key_Tab)
    assert focused() is not table
    assert window.details.isAncestorOf(focused())  # on to the details, below the table
    assert window.selected_task() is not None and window.selected_task().id == invalid_task

    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Backtab)
    assert focused() is window.search  # back to the filter bar above it
    assert window.selected_task().id == invalid_task

    # Arrows still walk the cells and rows.
    table.setFocus()
    column = table.currentIndex().column()
    qtbot.keyClick(table, Qt.Key.Key_Right)
    assert table.currentIndex().column() == column + 1
    qtbot.keyClick(table, Qt.Key.Key_Down if table.currentIndex().row() == 0 else Qt.Key.Key_Up)
    assert window.selected_task().id != invalid_task


def test_tab_reaches_export_errors_past_the_issues_table(
    qtbot: QtBot, window: MainWindow, invalid_task: str, monkeypatch: pytest.MonkeyPatch,
    screenshot: Screenshot,
) -> None:
    details = window.details
    assert details.tabs.currentIndex() == 0  # the Issues tab, for an invalid file
    screenshot(details, "details-issues-keys")
    window.table.setFocus()
    passed = tab_until(qtbot, details.issues_view)
    assert window.table not in passed[1:]  # Tab never went back into the task table
    qtbot.keyClick(details.issues_view, Qt.Key.Key_Tab)
    assert focused() is details.export_button  # the Issues table does not trap Tab
    qtbot.keyClick(details.export_button, Qt.Key.Key_Backtab)
    assert focused() is details.issues_view

    # The export has its own key, shown on the button and in its tooltip, from any tab.
    keys = QKeySequence("Ctrl+Shift+E")
    native = keys.toString(QKeySequence.SequenceFormat.NativeText)
    assert details.export_action.shortcut() == keys
    assert native in details.export_button.text() and native in details.export_button.toolTip()
    asked: list[str] = []
    monkeypatch.setattr(
        "app.ui.main_window.QFileDialog.getSaveFileName",
        lambda *_args, **_kwargs: asked.append("asked") or ("", ""),
    )
    details.tabs.setCurrentWidget(details.columns_view)
    window.table.setFocus()
    with qtbot.waitSignal(details.exportRequested, timeout=5000) as blocker:
        qtbot.keyClick(window.table, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.ShiftModifier)
    assert blocker.args == [invalid_task] and asked == ["asked"]

    # A valid file has no rows to export: the key does nothing then.
    valid = next(
        window.model.task_at(r) for r in range(2) if window.model.task_at(r).id != invalid_task
    )
    assert window.select_task(valid.id)
    assert not details.export_action.isEnabled() and not details.export_button.isEnabled()


# A popup menu asks the window system for these; the offscreen platform has neither. (This
# mark is the one pytest-qt reads, so it repeats the conftest's own pattern.)
@pytest.mark.qt_log_ignore(
    "This plugin does not support raise", "This plugin does not support grabbing the keyboard",
    "This plugin does not support propagateSizeHints",
)
def test_the_task_actions_are_keys_and_in_the_keyboard_context_menu(
    qtbot: QtBot, window: MainWindow, invalid_task: str
) -> None:
    expected = {
        window.review.action: "Ctrl+E", window.retry_action: "Ctrl+R",
        window.cancel_action: "Ctrl+.", window.copy_id_action: "Ctrl+Shift+C",
    }
    for action, key in expected.items():
        assert action.shortcut() == QKeySequence(key)
        assert QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText) in (
            action.toolTip()
        )
    window.table.setFocus()
    qtbot.waitUntil(window.table.hasFocus)
    qtbot.keyClick(window.table, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    menu = window.findChild(QMenu)
    assert menu is not None
    qtbot.waitUntil(menu.isVisible)
    assert window.review.action in menu.actions() and window.retry_action in menu.actions()
    menu.close()


def _view() -> DruidTaskView:
    return DruidTaskView(
        task_id="task-x", druid_task_id="index_parallel_sales_abc", state=DruidTaskState.FAILED,
        row_stats=RowStats(processed=10, processed_with_error=0, thrown_away=0, unparseable=0),
        log_tail="2024-05-01 ERROR the end of the log", spec_json='{"type": "index_parallel"}',
        spec_source=SpecSource.OVERLORD,
    )


def test_every_druid_tab_action_has_a_key(
    qtbot: QtBot, window: MainWindow, invalid_task: str, screenshot: Screenshot
) -> None:
    details, section = window.details, window.details.druid
    details.tabs.setCurrentWidget(section)
    section.show_view(_view())
    keys = {
        section.copy_id_action: "Ctrl+Shift+I",
        section.refresh_action: "F5",
        section.copy_log_action: "Ctrl+Shift+L",
        section.copy_spec_action: "Ctrl+Shift+J",
        window.druid.console_action: "Ctrl+Shift+D",
    }
    for action, key in keys.items():
        native = QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
        assert action.shortcut() == QKeySequence(key)
        assert native in action.toolTip()
    for button in (section.copy_id_button, section.refresh_button, section.copy_log_button,
                   section.copy_spec_button, details.export_button):
        assert "(" in button.text(), button.text()  # the key on the button itself
        assert button.focusPolicy() & Qt.FocusPolicy.TabFocus

    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert QGuiApplication.clipboard().text() == "2024-05-01 ERROR the end of the log"
    qtbot.keyClick(window.table, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert QGuiApplication.clipboard().text() == '{"type": "index_parallel"}'
    qtbot.keyClick(window.table, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert QGuiApplication.clipboard().text() == "index_parallel_sales_abc"
    with qtbot.waitSignal(section.refreshRequested, timeout=2000):
        qtbot.keyClick(window.table, Qt.Key.Key_F5)
    section.set_busy(True)
    assert section.refresh_button.text() == "Asking…" and not section.refresh_button.isEnabled()
    section.set_busy(False)
    section.show_view(_view())  # Refresh asked the presenter, which has no Druid to ask here

    # Every button is reached by Tab from the task table, in reading order.
    window.table.setFocus()
    passed = tab_until(qtbot, section.copy_spec_button)
    buttons = [section.copy_id_button, section.console_button, section.refresh_button,
               section.copy_log_button, section.copy_spec_button]
    reached = [widget for widget in passed if widget in buttons]
    assert reached == [b for b in buttons if b.isEnabled()]
    screenshot(details, "details-druid-tab-keys")
