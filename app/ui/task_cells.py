"""What each task table column shows and sorts by, as plain functions of a Task (no Qt model)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from app.domain.tasks import Task
from app.ui.task_format import (
    STATE_LABELS,
    STATE_ORDER,
    duration_seconds,
    human_duration,
    human_size,
    local_time,
    stage_view,
)


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

RIGHT_ALIGNED = frozenset({Column.ROWS, Column.SIZE, Column.DURATION})


def display_text(task: Task, owner: str, column: Column) -> str:
    """What a cell shows."""
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


def _created(task: Task, _owner: str) -> float:
    created = task.created_at
    return (created if created.tzinfo else created.replace(tzinfo=UTC)).timestamp()


SortValue = Callable[[Task, str], Any]

# One function per column, looked up once per sort rather than branched on per row: the model
# computes 100,000 of these when a large table loads or re-sorts.
SORT_VALUES: dict[Column, SortValue] = {
    Column.FILE: lambda task, _owner: task.file_name.casefold(),
    Column.DATASOURCE: lambda task, _owner: task.datasource.casefold(),
    Column.STATE: lambda task, _owner: STATE_ORDER[task.state],
    Column.PROGRESS: lambda task, _owner: STATE_ORDER[task.state] + task.progress,
    Column.ROWS: lambda task, _owner: -1 if task.rows_validated is None else task.rows_validated,
    Column.SIZE: lambda task, _owner: task.file_size,
    Column.OWNER: lambda _task, owner: owner.casefold(),
    Column.CREATED: _created,
    Column.DURATION: lambda task, _owner: duration_seconds(task, datetime.now(UTC)),
}


def sort_value(task: Task, owner: str, column: Column | None) -> Any:
    """A value that sorts naturally within one column: numbers, times, life order, casefold.

    No column means creation order (how the rows first arrived).
    """
    return SORT_VALUES[Column.CREATED if column is None else column](task, owner)


def tooltip_text(task: Task, column: Column) -> str | None:
    if column in (Column.STATE, Column.PROGRESS):
        return task.validation_summary or task.error_message or STATE_LABELS[task.state]
    if column is Column.FILE:
        return f"{task.file_name}\nTask {task.id}"
    if column is Column.SIZE:
        return f"{task.file_size:,} bytes"
    return None
