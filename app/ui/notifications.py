"""Desktop notifications: a tray message when a task this desk added succeeds or fails."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from app.domain.tasks import TaskState
from app.pipeline.session import SessionInfo, TaskUpdate
from app.ui.task_format import Tone
from app.ui.window_parts import WindowParts

# Finished ones the user acts on; needs_review is announced in the table, not by a pop-up, because
# an embedded desk parks every valid file there.
_OUTCOMES: dict[TaskState, tuple[str, Tone]] = {
    TaskState.SUCCEEDED: ("Ingested", Tone.SUCCESS),
    TaskState.FAILED: ("Failed", Tone.ERROR),
    TaskState.INVALID: ("Invalid", Tone.ERROR),
}
_MESSAGE_MS = 8000


@dataclass(frozen=True, slots=True)
class TaskNotice:
    task_id: str
    title: str
    message: str
    tone: Tone


def notice_for(update: TaskUpdate) -> TaskNotice | None:
    task = update.task
    outcome = _OUTCOMES.get(task.state)
    if outcome is None:
        return None
    verb, tone = outcome
    where = f" into {task.datasource}" if task.state is TaskState.SUCCEEDED else ""
    detail = task.error_message or task.validation_summary or ""
    if task.state is TaskState.SUCCEEDED and task.rows_ingested is not None:
        detail = f"{task.rows_ingested:,} rows confirmed in Druid."
    return TaskNotice(task.id, f"{verb}: {task.file_name}{where}", detail, tone)


class TaskNotifier(QObject):
    """Watches the live feed and announces state changes of this desk's own tasks.

    A task seen for the first time in a final state (history at start-up, another desk's work)
    is not news; only a change this notifier saw happen is announced.
    """

    noticed = Signal(TaskNotice)

    def __init__(self, *, enabled: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.enabled = enabled
        self._client_id: str | None = None
        self._states: dict[str, TaskState] = {}

    @Slot(SessionInfo)
    def set_session(self, info: SessionInfo) -> None:
        self._client_id = info.client.id

    @Slot(object)
    def observe(self, update: TaskUpdate) -> None:
        task = update.task
        before = self._states.get(task.id)
        self._states[task.id] = task.state
        if before is None or before is task.state or not self.enabled:
            return
        if self._client_id is None or task.source_client != self._client_id:
            return
        notice = notice_for(update)
        if notice is not None:
            self.noticed.emit(notice)


class TrayPresenter(QObject):
    """Shows notices in the system tray where there is one; otherwise in the window's status bar."""

    activated = Signal(str)  # task id of the notice the user clicked

    def __init__(self, window: QWidget, icon: QIcon, fallback: object) -> None:
        super().__init__(window)
        self._window = window
        self._fallback = fallback  # a QStatusBar-like object with showMessage(text, ms)
        self._last_task: str | None = None
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            tray = QSystemTrayIcon(icon, self)
            tray.setToolTip("Ingest Desk")
            menu = QMenu(window)
            show = QAction("Show Ingest Desk", menu)
            show.triggered.connect(self._raise_window)
            menu.addAction(show)
            tray.setContextMenu(menu)
            tray.activated.connect(lambda _reason: self._raise_window())
            tray.messageClicked.connect(self._message_clicked)
            tray.show()
            self.tray = tray

    @Slot(TaskNotice)
    def present(self, notice: TaskNotice) -> None:
        self._last_task = notice.task_id
        if self.tray is not None and QSystemTrayIcon.supportsMessages():
            kind = (
                QSystemTrayIcon.MessageIcon.Critical
                if notice.tone is Tone.ERROR
                else QSystemTrayIcon.MessageIcon.Information
            )
            self.tray.showMessage(notice.title, notice.message, kind, _MESSAGE_MS)
            return
        text = f"{notice.title}. {notice.message}".strip()
        show = getattr(self._fallback, "showMessage", None)
        if callable(show):
            show(text, _MESSAGE_MS)

    def _raise_window(self) -> None:
        self._window.showNormal()
        self._window.raise_()
        self._window.activateWindow()

    def _message_clicked(self) -> None:
        self._raise_window()
        if self._last_task is not None:
            self.activated.emit(self._last_task)

    def hide(self) -> None:
        if self.tray is not None:
            self.tray.hide()


@dataclass(frozen=True, slots=True)
class DesktopNotifications:
    notifier: TaskNotifier
    presenter: TrayPresenter


def install_notifications(parts: WindowParts) -> DesktopNotifications:
    """Feed -> notifier -> tray (or status bar); clicking a message selects the task."""
    controller, window = parts.controller, parts.window
    notifier = TaskNotifier(enabled=controller.settings.notify_when_done, parent=window)
    controller.sessionReady.connect(notifier.set_session)
    controller.taskChanged.connect(notifier.observe)
    presenter = TrayPresenter(window, window.windowIcon(), parts.status)
    notifier.noticed.connect(presenter.present)
    presenter.activated.connect(parts.selection.select)
    return DesktopNotifications(notifier, presenter)
