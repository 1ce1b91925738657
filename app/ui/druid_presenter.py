"""Keeps the Druid tab and the "Open in Druid console" action on the selected task."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QUrl, Slot
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence

from app.domain.tasks import Task, TaskState
from app.pipeline.druid_view import DruidTaskView, console_url
from app.pipeline.session import SessionInfo
from app.ui.druid_section import (
    NEEDS_CONNECTION,
    NO_SELECTION,
    NOT_CONFIGURED,
    NOT_SUBMITTED,
    OPENING,
    DruidSection,
    copy_text,
)
from app.ui.window_parts import WindowParts

_SHORTCUT = "Ctrl+Shift+D"
_CACHED_VIEWS = 64


class DruidPresenter(QObject):
    """Keeps the Druid tab and the console action on the window's selected task."""

    def __init__(self, parts: WindowParts) -> None:
        super().__init__(parts.window)
        self._parts = parts
        self.controller = parts.controller
        self.section: DruidSection = parts.details.druid
        self._views: dict[str, DruidTaskView] = {}
        self._asked: dict[str, TaskState] = {}  # the task's state when Druid was last asked
        self._shown: tuple[str, TaskState, str | None] | None = None  # what sync last showed
        self._session_open = False

        keys = QKeySequence(_SHORTCUT)
        tip = "Open the Druid web console's Ingestion view; the task id is copied for its filter"
        window = parts.window
        action = QAction("Open in Druid console", window)
        action.setShortcut(keys)
        action.setToolTip(f"{tip} ({keys.toString(QKeySequence.SequenceFormat.NativeText)})")
        action.setStatusTip(tip)
        action.triggered.connect(self.open_console)
        window.addAction(action)
        self.console_action = action
        parts.icons.add(action, "open-external")
        parts.toolbar.insertAction(parts.settings_action, action)
        parts.toolbar.insertSeparator(parts.settings_action)
        self.section.console_button.setDefaultAction(action)
        self.section.console_button.show()

        self.section.refreshRequested.connect(self.refresh)
        self.controller.druidViewReady.connect(self._view_ready)
        self.controller.sessionReady.connect(self._session_ready)
        parts.table.selectionModel().currentRowChanged.connect(self._selection_changed)
        parts.model.dataChanged.connect(self._model_changed)
        self.sync()

    def console_url(self, task: Task | None) -> str | None:
        druid_url = self.controller.settings.druid_url
        if task is None or not task.druid_task_id or not druid_url:
            return None
        return console_url(druid_url, task.druid_task_id)

    @Slot()
    def open_console(self) -> None:
        task = self._parts.selection.current()
        url = self.console_url(task)
        if task is None or url is None or task.druid_task_id is None:
            return
        # Druid 25's console cannot be opened at one task: its task table is filtered by id.
        copy_text(task.druid_task_id)
        if QDesktopServices.openUrl(QUrl(url)):
            self._parts.status.showMessage(
                f"Opened the Druid console; task id {task.druid_task_id} is on the clipboard "
                "for its task filter.",
                8000,
            )
        else:
            self._parts.status.showMessage(f"No browser could open {url}", 8000)

    @Slot()
    def refresh(self) -> None:
        self.sync(force=True)

    def sync(self, *, force: bool = False) -> None:
        """Show the selected task and ask Druid when it is new here, moved on, or `force`."""
        task = self._parts.selection.current()
        self.console_action.setEnabled(self.console_url(task) is not None)
        self._shown = None if task is None else (task.id, task.state, task.druid_task_id)
        section = self.section
        if task is None:
            section.show_message(NO_SELECTION)
            return
        if not self.controller.settings.druid_url:
            section.show_message(NOT_CONFIGURED)
            return
        if not task.druid_task_id:
            section.show_message(NOT_SUBMITTED)
            return
        if not self.controller.can_ask_druid():
            section.show_message(NEEDS_CONNECTION if self._session_open else OPENING)
            return
        known = self._views.get(task.id)
        if known is not None and known.druid_task_id == task.druid_task_id:
            section.show_view(known)
        else:
            section.show_pending(task.druid_task_id)
        # Asked once per task state, however often the task is shown again.
        if force or self._asked.get(task.id) is not task.state:
            self._asked[task.id] = task.state
            section.set_busy(self.controller.fetch_druid_view(task))

    @Slot(SessionInfo)
    def _session_ready(self, _info: SessionInfo) -> None:
        self._session_open = True
        self.sync()

    @Slot(QModelIndex, QModelIndex)
    def _selection_changed(self, _current: QModelIndex, _previous: QModelIndex) -> None:
        self.section.set_busy(False)
        self.sync()

    @Slot(QModelIndex, QModelIndex)
    def _model_changed(self, top_left: QModelIndex, bottom_right: QModelIndex) -> None:
        task = self._parts.selection.current()
        if task is None:
            return
        row = self._parts.model.row_of(task.id)
        if row is None or not top_left.row() <= row <= bottom_right.row():
            return
        # The feed repaints running rows every second; only a move (or a Druid id) is news.
        if (task.id, task.state, task.druid_task_id) != self._shown:
            self.sync()

    @Slot(object)
    def _view_ready(self, view: DruidTaskView) -> None:
        if view.task_id is None:
            return
        self._views.pop(view.task_id, None)
        self._views[view.task_id] = view
        while len(self._views) > _CACHED_VIEWS:
            self._views.pop(next(iter(self._views)))
        task = self._parts.selection.current()
        if task is not None and task.id == view.task_id:
            self.section.set_busy(False)
            self.section.show_view(view)


def install_druid_section(parts: WindowParts) -> DruidPresenter:
    """Wire the details panel's Druid tab and the console action into the window."""
    return DruidPresenter(parts)
