"""The live task table: a model over Task values, fed by the store's change feed."""

from __future__ import annotations

import bisect
import dataclasses
import enum
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor

from app.domain.tasks import Task, TaskState
from app.domain.transfer import UploadProgress
from app.pipeline.session import TaskUpdate
from app.ui.table_base import AnyIndex, ReadOnlyTableModel
from app.ui.task_cells import (
    HEADERS,
    RIGHT_ALIGNED,
    SORT_VALUES,
    Column,
    SortValue,
    display_text,
    sort_value,
    tooltip_text,
)
from app.ui.task_format import STATE_LABELS, TONE_COLORS, stage_view, tone_of
from app.ui.transfer_rate import TransferTracker

__all__ = ["Column", "TaskRole", "TaskTableModel"]


# Progress repaints at most this often, however fast the feed and the workers report.
FLUSH_INTERVAL_MS = 250
DURATION_TICK_MS = 1000
# More new rows than this in one flush arrive as one block, then one re-sort, rather than one
# insert per position (a first load or the feed's resync, not a user adding files).
BULK_INSERT = 256


class TaskRole(enum.IntEnum):
    TASK = Qt.ItemDataRole.UserRole + 1  # the Task value itself
    SORT = Qt.ItemDataRole.UserRole + 2  # a key that sorts naturally (numbers, times, life order)
    STAGE = Qt.ItemDataRole.UserRole + 3  # StageView for the progress delegate
    OWNER = Qt.ItemDataRole.UserRole + 4  # the source client's user name


class TaskTableModel(ReadOnlyTableModel):
    """Rows kept in sort order; updates are collected and applied together every FLUSH_INTERVAL_MS.

    The model sorts itself (the proxy only filters): each row carries a precomputed key, so a
    re-sort is one list.sort and a new task goes in at its bisect position. Sorting through
    the proxy called the Python data() about 1.5 million times for 100,000 rows. Only rows
    whose task changed get a dataChanged, so a thousand idle rows cost nothing while one file
    validates.
    """

    # Every second while any task runs: the first and last row whose Duration cell has moved on.
    durationsTicked = Signal(int, int)

    def __init__(
        self, parent: QObject | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(parent)
        self._clock = clock  # when progress is applied: the rates are measured against it
        # Parallel lists in display order, each row with its precomputed sort key.
        self._tasks: list[Task] = []
        self._owners: list[str] = []
        self._keys: list[Any] = []
        self._search: list[str | None] = []  # filled the first time a search needs the row
        self._row_of: dict[str, int] = {}
        self._running: set[str] = set()  # ids of non-terminal tasks, for the duration ticker
        self._sort_column: Column | None = None
        self._sort_value: SortValue = SORT_VALUES[Column.CREATED]
        self._descending = False
        self._scheduled = False
        self._pending: dict[str, TaskUpdate] = {}
        self._pending_rows: dict[str, tuple[int, float | None]] = {}
        self._pending_ticks: dict[str, UploadProgress] = {}
        self.transfers = TransferTracker()
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

    def queue_rows_read(self, task_id: str, rows: int, fraction: float | None = None) -> None:
        """Validation progress from our own worker, between the (rarer) store writes.

        Every batch lands here; the row changes (and the rates take a sample) once a flush.
        """
        self._pending_rows[task_id] = (rows, fraction)
        self._schedule()

    def queue_upload_tick(self, task_id: str, tick: UploadProgress) -> None:
        """This desk's upload of a task: bytes, speed and ETA for the progress cell."""
        self._pending_ticks[task_id] = tick
        self._schedule()

    def _schedule(self) -> None:
        # A flag, not QTimer.isActive(): a first load queues 100,000 updates back to back.
        if not self._scheduled:
            self._scheduled = True
            self._flush_timer.start()

    @Slot()
    def flush(self) -> None:
        self._flush_timer.stop()
        self._scheduled = False
        pending, self._pending = self._pending, {}
        rows_read, self._pending_rows = self._pending_rows, {}
        ticks, self._pending_ticks = self._pending_ticks, {}
        changed: set[str] = set()
        fresh: list[TaskUpdate] = []
        for task_id, update in pending.items():
            row = self._row_of.get(task_id)
            if row is None:
                fresh.append(update)
                continue
            current = self._tasks[row]
            if update.task.version < current.version:
                continue  # never move a row backwards
            self._replace(row, _live_read_kept(update.task, current), update.owner)
            changed.add(task_id)
        for task_id, (rows, fraction) in rows_read.items():
            row = self._row_of.get(task_id)
            if row is None:
                continue
            current = self._tasks[row]
            if current.state is TaskState.VALIDATING and rows > (current.rows_validated or 0):
                progress = current.progress if fraction is None else fraction
                read = dataclasses.replace(current, rows_validated=rows, progress=progress)
                self._replace(row, read, None)
                changed.add(task_id)
        if any(self._out_of_order(self._row_of[task_id]) for task_id in changed):
            self._resort()
        if fresh:
            self._insert(fresh)
        for task_id, tick in ticks.items():
            if task_id in self._row_of:  # after the insert: a tick may come with its first sight
                self.transfers.local_tick(task_id, tick)
                changed.add(task_id)
        last_column = len(Column) - 1
        for row in sorted(self._row_of[task_id] for task_id in changed):
            self.dataChanged.emit(self.index(row, 0), self.index(row, last_column))

    def _replace(self, row: int, task: Task, owner: str | None) -> None:
        self._tasks[row] = task
        if owner is not None:
            self._owners[row] = owner
        self._keys[row] = self._sort_value(task, self._owners[row])
        self._search[row] = None
        self._note_running(task)
        self.transfers.observe(task, self._clock())

    def _note_running(self, task: Task) -> None:
        if task.state.is_terminal:
            self._running.discard(task.id)
        else:
            self._running.add(task.id)

    def _out_of_order(self, row: int) -> bool:
        keys, key = self._keys, self._keys[row]
        if self._descending:
            return (row > 0 and keys[row - 1] < key) or (
                row + 1 < len(keys) and key < keys[row + 1]
            )
        return (row > 0 and key < keys[row - 1]) or (row + 1 < len(keys) and keys[row + 1] < key)

    def _insert(self, fresh: list[TaskUpdate]) -> None:
        value = self._sort_value
        keyed = [(value(update.task, update.owner), update) for update in fresh]
        for update in fresh:
            self._note_running(update.task)
        keyed.sort(key=lambda item: item[0], reverse=self._descending)
        if not self._tasks or len(keyed) > BULK_INSERT:
            # One signal for the lot: the first load, or a burst (the feed's resync).
            first = len(self._tasks)
            self.beginInsertRows(QModelIndex(), first, first + len(keyed) - 1)
            self._splice(first, keyed)
            self.endInsertRows()
            if first:
                self._resort()
            return
        # A few new tasks: one beginInsertRows per run that lands at the same place. Runs are
        # inserted from the bottom up so the positions found before any insert stay valid.
        runs: list[tuple[int, list[tuple[Any, TaskUpdate]]]] = []
        for item in keyed:
            position = self._position(item[0])
            if runs and runs[-1][0] == position:
                runs[-1][1].append(item)
            else:
                runs.append((position, [item]))
        for position, run in reversed(runs):
            self.beginInsertRows(QModelIndex(), position, position + len(run) - 1)
            self._splice(position, run)
            self.endInsertRows()

    def _splice(self, position: int, items: list[tuple[Any, TaskUpdate]]) -> None:
        self._tasks[position:position] = [update.task for _, update in items]
        self._owners[position:position] = [update.owner for _, update in items]
        self._keys[position:position] = [key for key, _ in items]
        self._search[position:position] = [None] * len(items)
        self._reindex(position)

    def _reindex(self, start: int = 0) -> None:
        row_of = self._row_of
        for row in range(start, len(self._tasks)):
            row_of[self._tasks[row].id] = row

    def _position(self, key: Any) -> int:
        """Where `key` belongs in the current order: after any equal keys, as list.sort would."""
        keys = self._keys
        if not self._descending:
            return bisect.bisect_right(keys, key)
        low, high = 0, len(keys)
        while low < high:
            middle = (low + high) // 2
            if keys[middle] < key:
                high = middle
            else:
                low = middle + 1
        return low

    def _resort(self) -> None:
        """Reorder every row by its key; selections and other persistent indexes follow."""
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        ids = [self._tasks[index.row()].id for index in persistent]
        order = sorted(range(len(self._keys)), key=self._keys.__getitem__, reverse=self._descending)
        self._tasks = [self._tasks[row] for row in order]
        self._owners = [self._owners[row] for row in order]
        self._keys = [self._keys[row] for row in order]
        self._search = [self._search[row] for row in order]
        self._reindex()
        moved = [self.index(self._row_of[task_id], index.column()) for task_id, index in zip(
            ids, persistent, strict=True
        )]
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by a column (the view's header, through the proxy); -1 means creation order."""
        self._sort_column = Column(column) if 0 <= column < len(Column) else None
        value = SORT_VALUES[Column.CREATED if self._sort_column is None else self._sort_column]
        self._sort_value = value
        self._descending = order == Qt.SortOrder.DescendingOrder
        self._keys = [value(t, owner) for t, owner in zip(self._tasks, self._owners, strict=True)]
        self._resort()

    @property
    def sort_column(self) -> Column | None:
        return self._sort_column

    @property
    def sort_order(self) -> Qt.SortOrder:
        return Qt.SortOrder.DescendingOrder if self._descending else Qt.SortOrder.AscendingOrder

    @Slot()
    def _tick_durations(self) -> None:
        # A signal of its own, not dataChanged: QSortFilterProxyModel re-runs the Python filter
        # on every row a dataChanged covers, whatever the roles, and the running rows (needs
        # review included) can span all 100,000. The proxy turns this into a repaint.
        rows = [self._row_of[task_id] for task_id in self._running if task_id in self._row_of]
        if rows:
            self.durationsTicked.emit(min(rows), max(rows))

    def hide_task(self, task_id: str) -> bool:
        """Remove from this view only; the task and its history stay in the store."""
        self._hidden.add(task_id)
        self._pending.pop(task_id, None)
        self.transfers.forget(task_id)
        self._running.discard(task_id)
        row = self._row_of.get(task_id)
        if row is None:
            return False
        self.beginRemoveRows(QModelIndex(), row, row)
        for column in (self._tasks, self._owners, self._keys, self._search):
            del column[row]
        del self._row_of[task_id]
        self._reindex(row)
        self.endRemoveRows()
        return True

    # -- lookups -------------------------------------------------------------------------------

    def task_at(self, row: int) -> Task:
        return self._tasks[row]

    def owner_at(self, row: int) -> str:
        return self._owners[row]

    def search_text_at(self, row: int) -> str:
        """Everything a search matches, casefolded once per task version."""
        text = self._search[row]
        if text is None:
            task = self._tasks[row]
            text = " ".join(
                (
                    task.file_name,
                    task.datasource,
                    task.id,
                    STATE_LABELS[task.state],
                    self._owners[row],
                    task.validation_summary or "",
                )
            ).casefold()
            self._search[row] = text
        return text

    def task_by_id(self, task_id: str) -> Task | None:
        row = self._row_of.get(task_id)
        return None if row is None else self._tasks[row]

    def row_of(self, task_id: str) -> int | None:
        return self._row_of.get(task_id)

    def tasks_in(self, state: TaskState) -> tuple[Task, ...]:
        """Every task in `state` the table holds (hidden ones included)."""
        return tuple(task for task in self._tasks if task.state is state)

    # -- Qt model API --------------------------------------------------------------------------

    def row_total(self) -> int:
        return len(self._tasks)

    def column_total(self) -> int:
        return len(Column)

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
            if column is Column.PROGRESS:  # with the rates, which only the model knows
                return stage_view(task, self.transfers.view(task)).text
            return display_text(task, self._owners[index.row()], column)
        if role == TaskRole.SORT:
            return sort_value(task, self._owners[index.row()], column)
        if role == TaskRole.TASK:
            return task
        if role == TaskRole.STAGE:
            return stage_view(task, self.transfers.view(task))
        if role == TaskRole.OWNER:
            return self._owners[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip_text(task, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in RIGHT_ALIGNED:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column is Column.STATE:
            return QColor(TONE_COLORS[tone_of(task.state)])
        return None


def _live_read_kept(task: Task, current: Task) -> Task:
    """The store's row, with our worker's live read kept where it ran ahead of the store's
    throttled copy (rows read and the estimated fraction)."""
    if (
        task.state is not current.state
        or current.rows_validated is None
        or (task.rows_validated or 0) >= current.rows_validated
    ):
        return task
    return dataclasses.replace(
        task, rows_validated=current.rows_validated, progress=max(task.progress, current.progress)
    )
