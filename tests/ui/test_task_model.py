"""The task table model and its filter proxy: Qt's model tester, narrow updates, throttling."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.domain.tasks import TaskState
from app.ui.task_format import StageView
from app.ui.task_model import (
    FLUSH_INTERVAL_MS,
    Column,
    StateFilter,
    TaskFilterProxy,
    TaskRole,
    TaskTableModel,
)
from tests.ui.ui_helpers import make_task, update


def filled_model(count: int = 6) -> TaskTableModel:
    model = TaskTableModel()
    states = list(TaskState)
    for index in range(count):
        task = make_task(
            index,
            state=states[index % len(states)],
            client="client-a" if index % 2 else "client-b",
            rows_validated=None if index % 3 == 0 else index * 100,
        )
        model.queue_update(update(task, "alice" if index % 2 else "bob"))
    model.flush()
    return model


def test_model_passes_qt_model_tester(qtmodeltester: ModelTester) -> None:
    model = filled_model()
    qtmodeltester.check(model, force_py=True)
    # Changes and removals while the tester watches.
    model.queue_update(update(make_task(1, state=TaskState.VALIDATING, version=2), "alice"))
    model.queue_update(update(make_task(40), "carol"))
    model.flush()
    model.hide_task("task-000")
    assert model.rowCount() == 6


def test_proxy_passes_qt_model_tester(qtmodeltester: ModelTester) -> None:
    model = filled_model(12)
    proxy = TaskFilterProxy()
    proxy.setSourceModel(model)
    proxy.sort(Column.ROWS, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(proxy, force_py=True)
    proxy.set_state_filter(StateFilter.PROBLEMS)
    proxy.set_search("file")
    proxy.set_state_filter(StateFilter.ALL)
    proxy.set_identity("client-a", "alice")
    proxy.set_mine_only(True)
    model.queue_update(update(make_task(50), "alice"))
    model.flush()


def test_updates_are_throttled_and_narrow(qtbot: QtBot) -> None:
    model = filled_model(5)
    changed: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(
        lambda a, b, _roles=None: changed.append((a.row(), b.row(), a.column(), b.column()))
    )
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))

    # A burst of progress for row 2 and one new task: nothing until the timer fires.
    for version in range(2, 8):
        model.queue_update(update(make_task(2, state=TaskState.VALIDATING, version=version)))
    model.queue_update(update(make_task(9)))
    assert changed == [] and inserted == []
    with qtbot.waitSignal(model.rowsInserted, timeout=FLUSH_INTERVAL_MS * 4):
        pass
    assert inserted == [(5, 5)]
    task_changes = [c for c in changed if c[2] == 0]
    assert task_changes == [(2, 2, 0, len(Column) - 1)]  # one signal, one row, all columns
    assert model.task_at(2).version == 7


def test_never_moves_a_row_backwards() -> None:
    model = filled_model(3)
    model.queue_update(update(make_task(1, state=TaskState.NEEDS_REVIEW, version=5)))
    model.flush()
    model.queue_update(update(make_task(1, state=TaskState.VALIDATING, version=3)))
    model.flush()
    assert model.task_at(1).state is TaskState.NEEDS_REVIEW


def test_local_row_counts_and_stage_view() -> None:
    model = filled_model(3)
    model.queue_update(update(make_task(0, state=TaskState.VALIDATING, version=2)))
    model.flush()
    model.queue_rows_read("task-000", 12_345)
    model.flush()
    index = model.index(0, Column.PROGRESS)
    stage = index.data(TaskRole.STAGE)
    assert isinstance(stage, StageView)
    assert stage.text == "Validating · 12,345 rows read"
    assert stage.fraction is None
    assert model.index(0, Column.ROWS).data() == "12,345"
    # A later store row with a smaller (throttled) count does not shrink the live count.
    model.queue_update(
        update(make_task(0, state=TaskState.VALIDATING, version=3, rows_validated=10_000))
    )
    model.flush()
    assert model.task_at(0).rows_validated == 12_345


def test_hidden_tasks_stay_hidden() -> None:
    model = filled_model(3)
    assert model.hide_task("task-001")
    model.queue_update(update(make_task(1, state=TaskState.FAILED, version=9)))
    model.flush()
    assert model.row_of("task-001") is None
    assert [model.task_at(r).id for r in range(model.rowCount())] == ["task-000", "task-002"]


def test_proxy_filters_and_sort_roles() -> None:
    model = TaskTableModel()
    rows = [
        dataclasses.replace(make_task(0, client="me"), file_name="Sales.csv", rows_validated=900),
        make_task(1, state=TaskState.INVALID, client="other", rows_validated=20),
        make_task(2, state=TaskState.NEEDS_REVIEW, client="me", rows_validated=100),
        make_task(3, state=TaskState.FAILED, client="other"),
    ]
    for task in rows:
        model.queue_update(update(task, "me-user" if task.source_client == "me" else "bob"))
    model.flush()
    proxy = TaskFilterProxy()
    proxy.setSourceModel(model)

    def shown() -> list[str]:
        return [proxy.task_at(r).id for r in range(proxy.rowCount())]  # type: ignore[union-attr]

    proxy.sort(Column.ROWS, Qt.SortOrder.AscendingOrder)
    assert shown() == ["task-003", "task-001", "task-002", "task-000"]  # None sorts first
    proxy.sort(Column.STATE, Qt.SortOrder.AscendingOrder)  # life order, not alphabetical
    assert shown() == ["task-000", "task-002", "task-001", "task-003"]
    proxy.set_state_filter(StateFilter.PROBLEMS)
    assert set(shown()) == {"task-001", "task-003"}
    proxy.set_state_filter(StateFilter.ALL)
    proxy.set_identity("me", "me-user")
    proxy.set_mine_only(True)
    assert set(shown()) == {"task-000", "task-002"}
    proxy.set_mine_only(False)
    proxy.set_search("sales")
    assert shown() == ["task-000"]
    proxy.set_search("bob invalid")  # every word must match somewhere
    assert shown() == ["task-001"]


def test_display_roles() -> None:
    model = filled_model(2)
    assert model.headerData(Column.FILE, Qt.Orientation.Horizontal) == "File"
    assert model.index(0, Column.SIZE).data() == "1000 B"
    assert model.index(1, Column.SIZE).data() == "2.0 KB"
    assert model.index(0, Column.OWNER).data() == "bob"
    assert model.data(QModelIndex()) is None
    assert model.index(0, Column.STATE).data(Qt.ItemDataRole.ForegroundRole) is not None


def test_duration_tick_is_one_signal_over_the_running_rows() -> None:
    model = TaskTableModel()
    for index, state in enumerate(
        [TaskState.SUCCEEDED, TaskState.VALIDATING, TaskState.FAILED, TaskState.UPLOADING]
    ):
        model.queue_update(update(make_task(index, state=state)))
    model.flush()
    seen: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(
        lambda top, bottom, _roles=(): seen.append(
            (top.row(), bottom.row(), top.column(), bottom.column())
        )
    )
    model._tick_durations()
    assert seen == [(1, 3, Column.DURATION, Column.DURATION)]
