"""The task table's filter bar behind the scenes: state, mine-or-everyone and free-text search."""

from __future__ import annotations

import enum

from PySide6.QtCore import (
    QAbstractItemModel,
    QObject,
    QSortFilterProxyModel,
    Qt,
    Slot,
)

from app.domain.tasks import Task, TaskState
from app.ui.table_base import AnyIndex
from app.ui.task_cells import Column
from app.ui.task_model import TaskTableModel


class StateFilter(enum.Enum):
    """The state choices the filter bar offers; each is a set of states."""

    ALL = "All states"
    ACTIVE = "In progress"
    NEEDS_REVIEW = "Needs review"
    READY = "Ready to upload"
    PROBLEMS = "Invalid or failed"
    SUCCEEDED = "Succeeded"
    CANCELLED = "Cancelled"

    @property
    def states(self) -> frozenset[TaskState] | None:
        return _FILTER_STATES[self]


_FILTER_STATES: dict[StateFilter, frozenset[TaskState] | None] = {
    StateFilter.ALL: None,
    StateFilter.ACTIVE: frozenset(s for s in TaskState if not s.is_terminal and not s.is_waiting),
    StateFilter.NEEDS_REVIEW: frozenset({TaskState.NEEDS_REVIEW}),
    StateFilter.READY: frozenset({TaskState.READY}),
    StateFilter.PROBLEMS: frozenset({TaskState.INVALID, TaskState.FAILED}),
    StateFilter.SUCCEEDED: frozenset({TaskState.SUCCEEDED}),
    StateFilter.CANCELLED: frozenset({TaskState.CANCELLED}),
}


class TaskFilterProxy(QSortFilterProxyModel):
    """State filter, mine-or-everyone and free-text search over the task table.

    Only filters: sorting is the source model's (see TaskTableModel), so sort() is forwarded
    there and the proxy keeps the source order.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setDynamicSortFilter(True)  # a changed task is re-filtered (its state, summary)
        self._tasks: TaskTableModel | None = None
        self._states: frozenset[TaskState] | None = None
        self._mine_only = False
        self._me_user: str | None = None
        self._me_client: str | None = None
        self._terms: tuple[str, ...] = ()

    def setSourceModel(self, source_model: QAbstractItemModel) -> None:
        if self._tasks is not None:
            self._tasks.durationsTicked.disconnect(self._durations_ticked)
        self._tasks = source_model if isinstance(source_model, TaskTableModel) else None
        super().setSourceModel(source_model)
        if self._tasks is not None:
            self._tasks.durationsTicked.connect(self._durations_ticked)

    @Slot(int, int)
    def _durations_ticked(self, first: int, last: int) -> None:
        # The proxy keeps the source order, so the shown rows between first and last are a span.
        model = self._tasks
        if model is None or self.rowCount() == 0:
            return
        top = self.mapFromSource(model.index(first, Column.DURATION)).row()
        bottom = self.mapFromSource(model.index(last, Column.DURATION)).row()
        top = 0 if top < 0 else top
        bottom = self.rowCount() - 1 if bottom < 0 else bottom
        self.dataChanged.emit(
            self.index(top, Column.DURATION),
            self.index(bottom, Column.DURATION),
            [Qt.ItemDataRole.DisplayRole],
        )

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if self._tasks is not None:
            self._tasks.sort(column, order)

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
        if not source.isValid() or self._tasks is None:
            return None
        return self._tasks.task_at(source.row())

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        # Called once per row on every load, re-sort and filter change: keep it to lookups.
        model = self._tasks
        if model is None or source_parent.isValid():
            return True
        if self._states is not None and model.task_at(source_row).state not in self._states:
            return False
        if self._mine_only and not (
            model.task_at(source_row).source_client == self._me_client
            or model.owner_at(source_row) == self._me_user
        ):
            return False
        if self._terms:
            haystack = model.search_text_at(source_row)
            return all(term in haystack for term in self._terms)
        return True
