"""The task table view: sorting, row selection, column widths and the painted progress column."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from app.ui.progress_delegate import ProgressDelegate
from app.ui.task_filter import TaskFilterProxy
from app.ui.task_model import Column

_COLUMN_WIDTHS = {
    Column.FILE: 190,
    Column.DATASOURCE: 140,
    Column.STATE: 100,
    Column.PROGRESS: 350,  # room for a read's or an upload's share, pace and time left
    Column.ROWS: 70,
    Column.SIZE: 70,
    Column.OWNER: 80,
    Column.CREATED: 120,
}


def make_task_table(proxy: TaskFilterProxy) -> QTableView:
    table = QTableView()
    table.setObjectName("taskTable")
    table.setAccessibleName("Tasks")
    table.setModel(proxy)
    table.setSortingEnabled(True)
    table.sortByColumn(Column.CREATED, Qt.SortOrder.DescendingOrder)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    # Tab moves on to the details (arrows walk the cells); it must not step to the next task.
    table.setTabKeyNavigation(False)
    table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(38)
    table.setItemDelegateForColumn(Column.PROGRESS, ProgressDelegate(table))
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    for column, width in _COLUMN_WIDTHS.items():
        table.setColumnWidth(column, width)
    return table
