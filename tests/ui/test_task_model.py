"""The task table model and its filter proxy: Qt's model tester, narrow updates, throttling."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QTableView
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.domain.tasks import TaskState
from app.ui.task_filter import StateFilter, TaskFilterProxy
from app.ui.task_format import StageView
from app.ui.task_model import (
    BULK_INSERT,
    Column,
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
    tasks = [model.task_at(row) for row in range(model.rowCount())]
    assert len(tasks) == 12
    problems = {t.id for t in tasks if t.state in (TaskState.INVALID, TaskState.FAILED)}
    assert problems and len(problems) < 12
    proxy.set_state_filter(StateFilter.PROBLEMS)
    assert _shown(proxy) == problems
    # Search narrows within the state filter: a problem task's own name, then a name that is
    # only among the hidden tasks.
    problem = min(problems)
    proxy.set_search(f"file_{problem.removeprefix('task-')}")
    assert _shown(proxy) == {problem}
    healthy = min({t.id for t in tasks} - problems)
    proxy.set_search(f"file_{healthy.removeprefix('task-')}")
    assert _shown(proxy) == set()
    proxy.set_state_filter(StateFilter.ALL)
    assert _shown(proxy) == {healthy}
    proxy.set_search("")
    assert _shown(proxy) == {t.id for t in tasks}
    # "Mine" is what this client added, or what this user holds (odd tasks: client-a, alice).
    proxy.set_identity("client-a", "nobody")
    proxy.set_mine_only(True)
    odd = {t.id for t in tasks if int(t.id.removeprefix("task-")) % 2}
    assert _shown(proxy) == odd
    proxy.set_identity("client-z", "bob")
    assert _shown(proxy) == {t.id for t in tasks} - odd
    proxy.set_identity("client-z", "alice")
    assert _shown(proxy) == odd
    # A new task of this user's appears in the filtered view as it arrives.
    model.queue_update(update(make_task(50, client="client-q"), "alice"))
    model.flush()
    assert _shown(proxy) == odd | {"task-050"}
    proxy.set_mine_only(False)
    assert len(_shown(proxy)) == 13


def _shown(proxy: TaskFilterProxy) -> set[str]:
    """The ids of the rows the proxy lets through."""
    shown = [proxy.task_at(row) for row in range(proxy.rowCount())]
    return {task.id for task in shown if task is not None}


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
    # The timer's flush is what delivers them (a generous deadline: how soon is not the point).
    with qtbot.waitSignal(model.rowsInserted, timeout=10_000):
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



def test_local_read_shows_rows_and_mb_per_second_once_it_has_moved(
    qtmodeltester: ModelTester,
) -> None:
    """This desk's worker reports every batch; the row takes a sample per flush (the model's
    timer), and after a second of samples the row says how fast the file is read."""
    now = [1000.0]
    model = TaskTableModel(clock=lambda: now[0])
    size = 400 * 2**20  # a 400 MiB CSV
    model.queue_update(update(make_task(0, state=TaskState.VALIDATING, file_size=size)))
    model.flush()
    qtmodeltester.check(model, force_py=True)
    changed: list[int] = []
    model.dataChanged.connect(lambda top_left, _bottom_right: changed.append(top_left.row()))
    index = model.index(0, Column.PROGRESS)
    for flush in range(1, 9):  # two seconds of flushes, a quarter second apart
        now[0] += 0.25
        for batch in range(1, 11):  # ten batches between flushes: one repaint, one sample
            rows = (flush - 1) * 250_000 + batch * 25_000
            model.queue_rows_read("task-000", rows, rows / 10_000_000)  # 10 M rows in all
        model.flush()
        if flush == 1:
            # One sample: no pace yet, only what has been read (the count in its own column).
            assert index.data() == "Validating · 2%"
            assert model.index(0, Column.ROWS).data() == "250,000"
    assert changed == [0] * 8
    # 1,750,000 rows in 1.75 s; 17.5 % of 400 MiB in 1.75 s is 40 MiB a second.
    assert index.data() == "Validating · 20% · 1.0M rows/s · 40.0 MB/s · 8s left"
    assert model.index(0, Column.ROWS).data() == "2,000,000"
    stage = index.data(TaskRole.STAGE)
    assert isinstance(stage, StageView)
    assert stage.text == index.data()
    assert stage.fraction == 0.2
    # The other desks' copy (the store's throttled row) does not pull the live figures back.
    model.queue_update(
        update(make_task(0, state=TaskState.VALIDATING, version=2, file_size=size,
                         rows_validated=1_500_000, progress=0.15))
    )
    model.flush()
    assert (model.task_at(0).rows_validated, model.task_at(0).progress) == (2_000_000, 0.2)
    assert "1.0M rows/s" in index.data()

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


def test_duration_tick_repaints_without_refiltering(qtmodeltester: ModelTester) -> None:
    model = TaskTableModel()
    for index, state in enumerate(
        [TaskState.SUCCEEDED, TaskState.VALIDATING, TaskState.FAILED, TaskState.UPLOADING]
    ):
        model.queue_update(update(make_task(index, state=state)))
    model.flush()
    ticks: list[tuple[int, int]] = []
    model.durationsTicked.connect(lambda first, last: ticks.append((first, last)))
    proxy = CountingProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy, force_py=True)
    seen: list[tuple[int, int, int, int]] = []
    proxy.dataChanged.connect(
        lambda top, bottom, _roles=(): seen.append(
            (top.row(), bottom.row(), top.column(), bottom.column())
        )
    )
    proxy.calls = 0
    model._tick_durations()
    assert ticks == [(1, 3)]  # one signal over the span of running rows
    assert seen == [(1, 3, Column.DURATION, Column.DURATION)]
    # A dataChanged from the model would have run the Python filter on every row it spans.
    assert proxy.calls == 0


class CountingProxy(TaskFilterProxy):
    calls = 0

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:  # type: ignore[override]
        self.calls += 1
        return super().filterAcceptsRow(source_row, source_parent)


def ids(model: TaskTableModel) -> list[str]:
    return [model.task_at(row).id for row in range(model.rowCount())]


def test_model_sorts_itself_and_the_proxy_forwards(qtmodeltester: ModelTester) -> None:
    model = filled_model(6)
    proxy = TaskFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy, force_py=True)
    proxy.sort(Column.SIZE, Qt.SortOrder.DescendingOrder)
    assert model.sort_column is Column.SIZE
    assert model.sort_order is Qt.SortOrder.DescendingOrder
    assert ids(model) == [f"task-{i:03d}" for i in (5, 4, 3, 2, 1, 0)]
    # The proxy keeps the source order: it only filters.
    shown = [proxy.task_at(row) for row in range(proxy.rowCount())]
    assert [t.id for t in shown if t is not None] == ids(model)
    proxy.sort(Column.FILE, Qt.SortOrder.AscendingOrder)
    assert ids(model) == [f"task-{i:03d}" for i in range(6)]
    proxy.sort(-1, Qt.SortOrder.AscendingOrder)  # no column: creation order
    assert model.sort_column is None
    assert ids(model) == [f"task-{i:03d}" for i in range(6)]


def test_new_rows_go_in_at_their_place_one_insert_per_run(
    qtmodeltester: ModelTester,
) -> None:
    model = TaskTableModel()
    for index in (0, 2, 4, 6):
        model.queue_update(update(make_task(index)))
    model.flush()
    model.sort(Column.CREATED, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(model, force_py=True)
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    for index in (7, 8, 3, 5):  # two newest on top (one run), two between older ones
        model.queue_update(update(make_task(index)))
    model.flush()
    assert ids(model) == [f"task-{i:03d}" for i in (8, 7, 6, 5, 4, 3, 2, 0)]
    # Bottom-up, so each position is still right when its run goes in: [6, 4, 2, 0] gets 3
    # before 2, then 5 before 4, then 8 and 7 on top together.
    assert inserted == [(2, 2), (1, 1), (0, 1)]


def test_a_changed_row_moves_and_its_selection_follows(qtmodeltester: ModelTester) -> None:
    model = TaskTableModel()
    for index in range(4):
        model.queue_update(update(make_task(index, rows_validated=index * 10)))
    model.flush()
    model.sort(Column.ROWS, Qt.SortOrder.AscendingOrder)
    qtmodeltester.check(model, force_py=True)
    selected = QPersistentModelIndex(model.index(0, Column.FILE))  # task-000, 0 rows
    assert model.task_at(selected.row()).id == "task-000"
    model.queue_update(update(make_task(0, version=2, rows_validated=25)))
    model.flush()
    assert ids(model) == ["task-001", "task-002", "task-000", "task-003"]
    assert selected.row() == 2 and selected.column() == Column.FILE
    # Rows read by our own worker move the row too.
    model.queue_update(
        update(make_task(1, state=TaskState.VALIDATING, version=2, rows_validated=10))
    )
    model.flush()
    model.queue_rows_read("task-001", 99)
    model.flush()
    assert ids(model)[-1] == "task-001"


def test_a_large_batch_is_one_insert() -> None:
    model = filled_model(3)
    model.sort(Column.CREATED, Qt.SortOrder.DescendingOrder)
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    count = BULK_INSERT + 10
    for index in range(10, 10 + count):
        model.queue_update(update(make_task(index)))
    model.flush()
    assert inserted == [(3, 3 + count - 1)]
    assert ids(model)[0] == f"task-{9 + count:03d}"  # then re-sorted: the newest on top
    assert ids(model)[-1] == "task-000"


def test_header_click_and_restored_header_sort_the_source(qtbot: QtBot) -> None:
    model = filled_model(4)
    proxy = TaskFilterProxy()
    proxy.setSourceModel(model)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.sortByColumn(Column.SIZE, Qt.SortOrder.DescendingOrder)
    assert model.sort_column is Column.SIZE
    assert view.horizontalHeader().sortIndicatorSection() == Column.SIZE
    state = view.horizontalHeader().saveState()
    view.sortByColumn(Column.FILE, Qt.SortOrder.AscendingOrder)
    assert ids(model)[0] == "task-000"
    view.horizontalHeader().restoreState(state)
    header = view.horizontalHeader()
    view.sortByColumn(header.sortIndicatorSection(), header.sortIndicatorOrder())
    assert model.sort_column is Column.SIZE
    assert ids(model)[0] == "task-003"


def test_search_matches_the_precomputed_text_and_sees_changes() -> None:
    model = filled_model(3)
    proxy = TaskFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_search("file_001")
    assert proxy.rowCount() == 1
    model.queue_update(
        update(make_task(2, version=2, validation_summary="Needs a decision: file_001 twin"))
    )
    model.flush()  # the changed row is re-filtered with its new text
    assert proxy.rowCount() == 2
