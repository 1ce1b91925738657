"""What the window hands its satellites: its parts, not itself (so nothing imports it back)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QSplitter, QTableView, QToolBar, QWidget

from app.domain.tasks import Task
from app.ui.controller import DeskController
from app.ui.details_panel import DetailsPanel
from app.ui.failure_banner import FailureBanner
from app.ui.icons import ActionIcons
from app.ui.status_bar import DeskStatusBar
from app.ui.task_filter import TaskFilterProxy
from app.ui.task_model import TaskRole, TaskTableModel


class TaskSelection:
    """The table's current task, and selecting one by id through the filter proxy."""

    def __init__(self, table: QTableView, proxy: TaskFilterProxy, model: TaskTableModel) -> None:
        self._table = table
        self._proxy = proxy
        self._model = model

    def current(self) -> Task | None:
        index = self._table.currentIndex()
        if not index.isValid():
            return None
        task = index.siblingAtColumn(0).data(TaskRole.TASK)
        return task if isinstance(task, Task) else None

    def select(self, task_id: str) -> bool:
        """Make `task_id` current and scroll to it; False when it is not in the table's view."""
        row = self._model.row_of(task_id)
        if row is None:
            return False
        index = self._proxy.mapFromSource(self._model.index(row, 0))
        if not index.isValid():
            return False
        self._table.setCurrentIndex(index)
        self._table.scrollTo(index)
        return True


@dataclass(frozen=True, slots=True)
class WindowParts:
    """Built once by the main window, after its widgets and actions, before its satellites."""

    # The main window as a plain widget: parent of dialogs and actions, its geometry saved.
    window: QWidget
    controller: DeskController
    model: TaskTableModel
    proxy: TaskFilterProxy
    table: QTableView
    selection: TaskSelection
    splitter: QSplitter  # the task table above, the details panel below
    details: DetailsPanel
    status: DeskStatusBar
    toolbar: QToolBar
    icons: ActionIcons
    cancel_action: QAction  # satellites place their own actions beside these two
    settings_action: QAction
    failures: FailureBanner
