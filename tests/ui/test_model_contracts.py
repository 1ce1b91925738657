"""Qt's model tester stays attached to the preview, timeline and column-grid models while real
reports, a real task history and a real look at a file go through them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester

from app.domain.tasks import TaskState
from app.domain.validation import ColumnType, ValidationReport
from app.pipeline.look import look_at_file
from app.pipeline.timeline import build_timeline
from app.services.reading import open_source
from app.services.settings import Settings
from app.services.store import TaskStore
from app.services.validation import validate_source
from app.ui.column_grid import ColumnGridModel, GridColumn
from app.ui.preview_model import PreviewModel
from app.ui.timeline_model import TimelineColumn, TimelineModel
from tests.store.store_helpers import draft
from tests.ui.ui_helpers import SAMPLES

S = TaskState


def _report(name: str) -> ValidationReport:
    source = open_source(SAMPLES / name)
    try:
        return validate_source(source).report
    finally:
        source.close()


def test_preview_model_under_the_tester_through_reports(qtmodeltester: ModelTester) -> None:
    model = PreviewModel()
    qtmodeltester.check(model, force_py=True)  # empty, and every reset below as it happens
    assert (model.rowCount(), model.columnCount()) == (0, 0)
    for name in ("orders_with_errors.csv", "stores_workbook.xlsx", "sales_clean.csv"):
        report = _report(name)
        model.set_preview(report.columns, report.preview)
        assert model.rowCount() == len(report.preview) > 0, name
        assert model.columnCount() == len(report.columns), name
        last = model.index(model.rowCount() - 1, model.columnCount() - 1)
        assert last.isValid() and isinstance(last.data(), str)
    # A row shorter than the header is left out rather than read out of range.
    report = _report("orders_with_errors.csv")
    short = dataclasses.replace(report.preview[0], values=report.preview[0].values[:1])
    model.set_preview(report.columns, (short, *report.preview[1:]))
    assert model.rowCount() == len(report.preview) - 1
    assert model.headerData(0, Qt.Orientation.Vertical) == str(report.preview[1].row)
    model.set_preview((), ())
    assert (model.rowCount(), model.columnCount()) == (0, 0)


def test_timeline_model_under_the_tester_with_a_stored_history(
    qtmodeltester: ModelTester, tmp_path: Path
) -> None:
    with TaskStore.open(f"sqlite:///{tmp_path / 'tasks.sqlite3'}") as store:
        task = store.tasks.create(draft("c1"))
        moves = (S.VALIDATING, S.UPLOADING, S.SUBMITTING)
        for before, after in zip((S.QUEUED, *moves), moves, strict=False):
            task = store.tasks.transition(
                task.id, after, expected_state=before, expected_version=task.version,
                by_client="c1",
            )
        running = build_timeline(task.id, store.tasks.history(task.id), store.tasks.now())
        task = store.tasks.transition(
            task.id, S.FAILED, expected_state=S.SUBMITTING, expected_version=task.version,
            by_client="c1", message="S3 said no.",
        )
        ended = build_timeline(task.id, store.tasks.history(task.id), store.tasks.now())

    now = [1000.0]
    model = TimelineModel(clock=lambda: now[0])
    qtmodeltester.check(model, force_py=True)
    assert model.rowCount() == 0 and not model.tick()
    model.set_timeline(running)
    assert model.rowCount() == len(running.stages) == 4
    changed: list[int] = []
    model.dataChanged.connect(lambda first, _last, _roles: changed.append(first.row()))
    now[0] += 30
    assert model.tick() and changed == [3]  # the running stage only
    model.set_timeline(ended)
    assert model.rowCount() == len(ended.stages)
    assert not model.tick()
    outcome = model.index(model.rowCount() - 1, TimelineColumn.OUTCOME).data()
    assert outcome == "failed: S3 said no."
    model.set_timeline(None)
    assert model.rowCount() == 0


def test_column_grid_model_under_the_tester_while_the_user_edits(
    qtmodeltester: ModelTester,
) -> None:
    model = ColumnGridModel()
    qtmodeltester.check(model, force_py=True)
    look = look_at_file(SAMPLES / "orders_with_errors.csv", Settings())
    assert look.problem is None
    model.set_look(look, None)
    assert model.rowCount() == len(look.columns) > 2
    names = [row.source for row in model.rows]
    first, second = names[0], names[1]
    name_cell = model.index(0, GridColumn.NAME)
    assert model.setData(name_cell, "renamed")
    # Retype a column sampled as something other than text, and leave the last one out.
    retyped = next(i for i, row in enumerate(model.rows) if row.sampled is not ColumnType.TEXT)
    assert model.setData(model.index(retyped, GridColumn.TYPE), ColumnType.TEXT.value)
    skipped = len(names) - 1
    assert skipped != retyped
    assert model.setData(
        model.index(skipped, GridColumn.INCLUDE),
        Qt.CheckState.Unchecked,
        Qt.ItemDataRole.CheckStateRole,
    )
    rules = {rule.name: rule for rule in model.rules()}
    assert rules[first].rename == "renamed"
    assert rules[names[retyped]].type is ColumnType.TEXT
    assert rules[names[skipped]].skip
    # A clash is shown on the later of the two name cells, and cleared when the clash goes.
    assert model.setData(name_cell, second)
    assert model.problem(1) is not None and second in (model.problem(1) or "")
    assert model.setData(name_cell, "renamed again")
    assert model.problem(1) is None
    model.set_time_column(first)
    model.set_look(look_at_file(SAMPLES / "stores_workbook.xlsx", Settings()), None)
    assert model.rules() == () and model.rowCount() > 0
