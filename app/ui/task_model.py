"""The live task table: a model over Task values, fed by the store's change feed, and its filter."""

from __future__ import annotations

import dataclasses
import enum
from datetime import UTC, datetime

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Slot,
)
from PySide6.QtGui import QColor

from app.domain.tasks import Task, TaskState
from app.pipeline.session import TaskUpdate
from app.ui.task_format import (
    STATE_LABELS,
    STATE_ORDER,
    TONE_COLORS,
    duration_seconds,
    human_duration,
    human_size,
    local_time,
    stage_view,
    tone_of,
)

AnyIndex = QModelIndex | QPersistentModelIndex

# Progress repaints at most this often, however fast the feed and the workers report.
FLUSH_INTERVAL_MS = 250
DURATION_TICK_MS = 1000


class Column(enum.IntEnum):
    FILE = 0
    DATASOURCE = 1
    STATE = 2
    PROGRESS = 3
    ROWS = 4
    SIZE = 5
    OWNER = 6
    CREATED = 7
    DURATION = 8


HEADERS: dict[Column, str] = {
    Column.FILE: "File",
    Column.DATASOURCE: "Datasource",
    Column.STATE: "State",
    Column.PROGRESS: "Progress",
    Column.ROWS: "Rows",
    Column.SIZE: "Size",
    Column.OWNER: "Owner",
    Column.CREATED: "Created",
    Column.DURATION: "Duration",
}

_RIGHT_ALIGNED = frozenset({Column.ROWS, Column.SIZE, Column.DURATION})


class TaskRole(enum.IntEnum):
    TASK = Qt.ItemDataRole.UserRole + 1  # the Task value itself
    SORT = Qt.ItemDataRole.UserRole + 2  # a key that sorts naturally (numbers, times, life order)
    STAGE = Qt.ItemDataRole.UserRole + 3  # StageView for the progress delegate
    OWNER = Qt.ItemDataRole.UserRole + 4  # the source client's user name


class TaskTableModel(QAbstractTableModel):
    """Rows in arrival order; updates are collected and applied together every FLUSH_INTERVAL_MS.

    Only rows whose task changed get a dataChanged, so a thousand idle rows cost nothing while
    one file validates.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: list[Task] = []
        self._owners: list[str] = []
        self._row_of: dict[str, int] = {}
        self._pending: dict[str, TaskUpdate] = {}
        self._pending_rows: dict[str, int] = {}
        self._hidden: set[str] = set()
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self.flush)
        self._tick_timer = QTimer(self)
        self._tick_timer.setInterval(DURATION_TICK_MS)
        self._tick_timer.timeout.connect(self._tick_durations)
        self._tick_timer.start()

    # -- feeding -------------------------------------------------------------------------------

    @Slot(object)
    def queue_update(self, update: TaskUpdate) -> None:
        """A task as the store now has it (from the feed or from our own worker)."""
        if update.task.id in self._hidden:
            return
        previous = self._pending.get(update.task.id)
        if previous is None or previous.task.version <= update.task.version:
            self._pending[update.task.id] = update
        self._schedule()

    def queue_rows_read(self, task_id: str, rows: int) -> None:
        """Validation progress from our own worker, between the (rarer) store writes."""
        self._pending_rows[task_id] = rows
        self._schedule()

    def _schedule(self) -> None:
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    @Slot()
    def flush(self) -> None:
        self._flush_timer.stop()
        pending, self._pending = self._pending, {}
        rows_read, self._pending_rows = self._pending_rows, {}
        changed: set[int] = set()
        fresh: list[TaskUpdate] = []
        for task_id, update in pending.items():
            row = self._row_of.get(task_id)
            if row is None:
                fresh.append(update)
                continue
            current = self._tasks[row]
            if update.task.version < current.version:
                continue  # never move a row backwards
            task = update.task
            if (
                task.state is current.state
                and current.rows_validated is not None
                and (task.rows_validated or 0) < current.rows_validated
            ):
                # Our worker's live count ran ahead of the store's throttled one.
                task = dataclasses.replace(task, rows_validated=current.rows_validated)
            self._tasks[row] = task
            self._owners[row] = update.owner
            changed.add(row)
        for task_id, rows in rows_read.items():
            row = self._row_of.get(task_id)
            if row is None:
                continue
            current = self._tasks[row]
            if current.state is TaskState.VALIDATING and rows > (current.rows_validated or 0):
                self._tasks[row] = dataclasses.replace(current, rows_validated=rows)
                changed.add(row)
        if fresh:
            fresh.sort(key=lambda u: u.task.created_at)
            first = len(self._tasks)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            for offset, update in enumerate(fresh):
                self._tasks.append(update.task)
                self._owners.append(update.owner)
                self._row_of[update.task.id] = first + offset
            self.endInsertRows()
        last_column = len(Column) - 1
        for row in sorted(changed):
            self.dataChanged.emit(self.index(row, 0), self.index(row, last_column))

    @Slot()
    def _tick_durations(self) -> None:
        # One signal over the span of running rows, not one per row: with 100,000 tasks the
        # per-row form kept the event loop busy every second.
        running = [row for row, task in enumerate(self._tasks) if not task.state.is_terminal]
        if not running:
            return
        first = self.index(running[0], Column.DURATION)
        last = self.index(running[-1], Column.DURATION)
        self.dataChanged.emit(first, last, [Qt.ItemDataRole.DisplayRole])

    def hide_task(self, task_id: str) -> bool:
        """Remove from this view only; the task and its history stay in the store."""
        self._hidden.add(task_id)
        self._pending.pop(task_id, None)
        row = self._row_of.get(task_id)
        if row is None:
            return False
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._tasks[row]
        del self._owners[row]
        self._row_of = {task.id: index for index, task in enumerate(self._tasks)}
        self.endRemoveRows()
        return True

    # -- lookups -------------------------------------------------------------------------------

    def task_at(self, row: int) -> Task:
        return self._tasks[row]

    def owner_at(self, row: int) -> str:
        return self._owners[row]

    def task_by_id(self, task_id: str) -> Task | None:
        row = self._row_of.get(task_id)
        return None if row is None else self._tasks[row]

    def row_of(self, task_id: str) -> int | None:
        return self._row_of.get(task_id)

    # -- Qt model API --------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._tasks)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> object:
        if orientation is not Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._tasks):
            return None
        task = self._tasks[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(task, self._owners[index.row()], column)
        if role == TaskRole.SORT:
            return self._sort_key(task, self._owners[index.row()], column)
        if role == TaskRole.TASK:
            return task
        if role == TaskRole.STAGE:
            return stage_view(task)
        if role == TaskRole.OWNER:
            return self._owners[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(task, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _RIGHT_ALIGNED:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column is Column.STATE:
            return QColor(TONE_COLORS[tone_of(task.state)])
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    @staticmethod
    def _display(task: Task, owner: str, column: Column) -> str:
        if column is Column.FILE:
            return f"{task.file_name} › {task.sheet}" if task.sheet else task.file_name
        if column is Column.DATASOURCE:
            return task.datasource
        if column is Column.STATE:
            return STATE_LABELS[task.state]
        if column is Column.PROGRESS:
            return stage_view(task).text
        if column is Column.ROWS:
            return "" if task.rows_validated is None else f"{task.rows_validated:,}"
        if column is Column.SIZE:
            return human_size(task.file_size)
        if column is Column.OWNER:
            return owner
        if column is Column.CREATED:
            return local_time(task.created_at)
        return human_duration(duration_seconds(task))

    @staticmethod
    def _sort_key(task: Task, owner: str, column: Column) -> object:
        if column is Column.FILE:
            return task.file_name.casefold()
        if column is Column.DATASOURCE:
            return task.datasource.casefold()
        if column is Column.STATE:
            return STATE_ORDER[task.state]
        if column is Column.PROGRESS:
            return STATE_ORDER[task.state] + task.progress
        if column is Column.ROWS:
            return -1 if task.rows_validated is None else task.rows_validated
        if column is Column.SIZE:
            return task.file_size
        if column is Column.OWNER:
            return owner.casefold()
        if column is Column.CREATED:
            created = task.created_at
            return (created if created.tzinfo else created.replace(tzinfo=UTC)).timestamp()
        return duration_seconds(task, datetime.now(UTC))

    @staticmethod
    def _tooltip(task: Task, column: Column) -> str | None:
        if column in (Column.STATE, Column.PROGRESS):
            return task.validation_summary or task.error_message or STATE_LABELS[task.state]
        if column is Column.FILE:
            return f"{task.file_name}\nTask {task.id}"
        if column is Column.SIZE:
            return f"{task.file_size:,} bytes"
        return None


class StateFilter(enum.Enum):
    """The state choices the filter bar offers; each is a set of states."""

    ALL = "All states"
    ACTIVE = "In progress"
    NEEDS_REVIEW = "Needs review"
    PROBLEMS = "Invalid or failed"
    SUCCEEDED = "Succeeded"
    CANCELLED = "Cancelled"

    @property
    def states(self) -> frozenset[TaskState] | None:
        return _FILTER_STATES[self]


_FILTER_STATES: dict[StateFilter, frozenset[TaskState] | None] = {
    StateFilter.ALL: None,
    StateFilter.ACTIVE: frozenset(
        s for s in TaskState if not s.is_terminal and s is not TaskState.NEEDS_REVIEW
    ),
    StateFilter.NEEDS_REVIEW: frozenset({TaskState.NEEDS_REVIEW}),
    StateFilter.PROBLEMS: frozenset({TaskState.INVALID, TaskState.FAILED}),
    StateFilter.SUCCEEDED: frozenset({TaskState.SUCCEEDED}),
    StateFilter.CANCELLED: frozenset({TaskState.CANCELLED}),
}


class TaskFilterProxy(QSortFilterProxyModel):
    """State filter, mine-or-everyone and free-text search over the task table; sorts by SORT."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(TaskRole.SORT)
        self.setDynamicSortFilter(True)
        self._states: frozenset[TaskState] | None = None
        self._mine_only = False
        self._me_user: str | None = None
        self._me_client: str | None = None
        self._terms: tuple[str, ...] = ()

    # Each setter brackets its change so the proxy re-filters rows once, after the change.

    def set_identity(self, client_id: str, user: str) -> None:
        self.beginFilterChange()
        self._me_client, self._me_user = client_id, user
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_state_filter(self, choice: StateFilter) -> None:
        self.beginFilterChange()
        self._states = choice.states
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_mine_only(self, mine_only: bool) -> None:
        self.beginFilterChange()
        self._mine_only = mine_only
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_search(self, text: str) -> None:
        self.beginFilterChange()
        self._terms = tuple(text.casefold().split())
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def task_at(self, proxy_row: int) -> Task | None:
        source = self.mapToSource(self.index(proxy_row, 0))
        model = self.sourceModel()
        if not source.isValid() or not isinstance(model, TaskTableModel):
            return None
        return model.task_at(source.row())

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        if not isinstance(model, TaskTableModel) or source_parent.isValid():
            return True
        task = model.task_at(source_row)
        owner = model.owner_at(source_row)
        if self._states is not None and task.state not in self._states:
            return False
        if self._mine_only and not (
            task.source_client == self._me_client or owner == self._me_user
        ):
            return False
        if self._terms:
            haystack = " ".join(
                (
                    task.file_name,
                    task.datasource,
                    task.id,
                    STATE_LABELS[task.state],
                    owner,
                    task.validation_summary or "",
                )
            ).casefold()
            return all(term in haystack for term in self._terms)
        return True
