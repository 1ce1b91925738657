"""The details panel: first rows with types and evidence, rows per day, and the task timeline."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from pytestqt.qtbot import QtBot

from app.domain.store import EventKind, TaskEvent
from app.domain.tasks import TaskState
from app.domain.validation import DayCount, ValidationReport
from app.pipeline.session import DeskSession
from app.pipeline.timeline import StageOutcome, Timeline, build_timeline
from app.services.reading import open_source
from app.services.settings import Settings
from app.services.validation import validate_source
from app.ui.day_chart import DayChart
from app.ui.details_panel import DetailsPanel
from app.ui.main_window import MainWindow
from app.ui.preview_model import PreviewModel
from app.ui.timeline_model import TimelineColumn, TimelineModel
from tests.ui.ui_helpers import SAMPLES, T0, make_task

Screenshot = Callable[[MainWindow, str], Path]
S = TaskState


def _report(name: str) -> ValidationReport:
    source = open_source(SAMPLES / name)
    try:
        return validate_source(source).report
    finally:
        source.close()


def _event(version: int, kind: EventKind, to: TaskState, seconds: int, **extra: object):
    before = {2: S.QUEUED, 3: S.VALIDATING, 4: S.UPLOADING}.get(version)
    values: dict[object, object] = {
        "id": version, "task_id": "task-001", "version": version, "kind": kind,
        "from_state": before if kind is EventKind.TRANSITION else None, "to_state": to,
        "at": T0 + timedelta(seconds=seconds), "by_client": "client-a", "message": None,
    }
    values.update(extra)
    return TaskEvent(**values)  # type: ignore[arg-type]


def _timeline(running: bool, as_of_s: int = 100) -> Timeline:
    events = [
        _event(1, EventKind.CREATED, S.QUEUED, 0),
        _event(2, EventKind.TRANSITION, S.VALIDATING, 3),
        _event(3, EventKind.TRANSITION, S.UPLOADING, 65, message="200 rows valid"),
    ]
    if not running:
        events.append(_event(4, EventKind.TRANSITION, S.FAILED, 90, message="S3 said no."))
    return build_timeline("task-001", events, T0 + timedelta(seconds=as_of_s))


# -- first rows --------------------------------------------------------------------------------


def test_preview_headers_show_type_and_evidence(qtmodeltester) -> None:
    report = _report("orders_with_errors.csv")
    model = PreviewModel()
    model.set_preview(report.columns, report.preview)
    qtmodeltester.check(model)

    assert model.rowCount() == 20 and model.columnCount() == len(report.columns)
    names = [c.name for c in report.columns]
    quantity = names.index("quantity")
    header = model.headerData(quantity, Qt.Orientation.Horizontal)
    assert header == "quantity\ninteger"
    tip = model.headerData(quantity, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert tip == (
        "quantity: integer: 59 of 60 values are whole numbers; 1 does not fit "
        "(row 25: 'three')"
    )
    # Rows are numbered as the file numbers them, and cells are the text as written.
    assert model.headerData(0, Qt.Orientation.Vertical) == "2"
    first = report.preview[0]
    assert [model.index(0, c).data() for c in range(len(names))] == [
        "" if v is None else str(v) for v in first.values
    ]
    assert model.index(0, names.index("order_date")).data() == "13/01/2024"


def test_preview_of_a_workbook_writes_numbers_as_typed(qtmodeltester) -> None:
    report = _report("stores_workbook.xlsx")
    model = PreviewModel()
    model.set_preview(report.columns, report.preview)
    qtmodeltester.check(model)
    column = [c.name for c in report.columns].index("visitors")
    assert model.index(0, column).data() == "168"
    align = model.index(0, column).data(Qt.ItemDataRole.TextAlignmentRole)
    assert align == int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


# -- timeline ----------------------------------------------------------------------------------


def test_timeline_model_rows_and_running_stage_tick(qtbot: QtBot, qtmodeltester) -> None:
    now = [1000.0]
    model = TimelineModel(clock=lambda: now[0])
    model.set_timeline(_timeline(running=True))
    qtmodeltester.check(model)

    def cell(row: int, column: TimelineColumn) -> object:
        return model.index(row, column).data()

    assert [cell(r, TimelineColumn.STAGE) for r in range(3)] == [
        "Queued", "Validating", "Uploading",
    ]
    assert [cell(r, TimelineColumn.DURATION) for r in range(3)] == ["3.0s", "1m 02s", "35s"]
    assert cell(2, TimelineColumn.OUTCOME) == "running"
    tip = model.index(1, TimelineColumn.OUTCOME).data(Qt.ItemDataRole.ToolTipRole)
    assert "200 rows valid" in tip

    changed: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(
        lambda a, b, _roles: changed.append((a.row(), a.column(), b.row(), b.column()))
    )
    now[0] += 30
    assert model.tick()
    # Only the running stage's duration cell moves.
    assert changed == [(2, TimelineColumn.DURATION, 2, TimelineColumn.DURATION)]
    assert cell(2, TimelineColumn.DURATION) == "1m 05s"

    model.set_timeline(_timeline(running=False))
    qtmodeltester.check(model)
    assert not model.tick()
    assert cell(2, TimelineColumn.OUTCOME) == "failed: S3 said no."
    assert cell(2, TimelineColumn.DURATION) == "25s"
    red = model.index(2, TimelineColumn.OUTCOME).data(Qt.ItemDataRole.ForegroundRole)
    assert isinstance(red, QColor) and red.red() > red.green()


def test_panel_asks_for_the_timeline_on_new_stages_only(qtbot: QtBot) -> None:
    panel = DetailsPanel()
    qtbot.addWidget(panel)
    asked: list[str] = []
    panel.timelineWanted.connect(asked.append)
    task = make_task(1, state=S.VALIDATING, version=2)

    panel.show_task(task, None, can_export=False)
    assert asked == ["task-001"]
    # A progress report bumps the version but starts no stage: no history read.
    panel.show_task(dataclasses.replace(task, version=3, progress=0.4), None, can_export=False)
    assert asked == ["task-001"]
    uploading = dataclasses.replace(task, state=S.UPLOADING, version=4)
    panel.show_task(uploading, None, can_export=False)
    assert asked == ["task-001", "task-001"]

    # Without this desk's report only the tabs that work for any client's task are shown.
    assert panel.no_report.isVisibleTo(panel)
    assert not panel.tabs.isTabVisible(0) and panel.tabs.currentWidget() is panel.timeline_view

    newer = _timeline(running=True)
    panel.show_timeline(newer)
    assert panel.timeline_model.rowCount() == 3
    older = dataclasses.replace(newer, version=1, stages=newer.stages[:1])
    panel.show_timeline(older)  # a slower, older read arriving late is ignored
    assert panel.timeline_model.rowCount() == 3
    panel.show_timeline(dataclasses.replace(newer, task_id="task-002"))  # another task's
    assert panel.timeline_model.timeline is newer

    panel.show_task(make_task(2), None, can_export=False)
    assert asked[-1] == "task-002" and panel.timeline_model.rowCount() == 0


# -- rows per day ------------------------------------------------------------------------------


def _days() -> list[DayCount]:
    start = date(2024, 3, 1)
    counts = [4, 6, 5, 0, 0, 30, 5, 4]  # two days without rows, then a spike
    return [DayCount(start + timedelta(days=i), n) for i, n in enumerate(counts) if n]


def test_day_chart_bars_gaps_tooltips_and_palette(qtbot: QtBot, screenshot) -> None:
    chart = DayChart()
    qtbot.addWidget(chart)
    chart.resize(400, 120)
    chart.set_days(_days())
    chart.show()
    qtbot.waitExposed(chart)
    screenshot(chart, "13-day-chart-gap-and-spike")

    assert chart.span == 8
    assert chart.missing_days() == [date(2024, 3, 4), date(2024, 3, 5)]
    assert chart.accessibleName() == "Rows per day"
    assert chart.accessibleDescription() == (
        "54 rows over 8 days, 2024-03-01 to 2024-03-08; 2 days without rows; "
        "busiest day 2024-03-06 with 30 rows."
    )
    spike = chart.bar_rect(date(2024, 3, 6))
    small = chart.bar_rect(date(2024, 3, 1))
    assert spike.height() == pytest.approx(small.height() * 30 / 4, rel=0.01)
    assert chart.bar_rect(date(2024, 3, 4)).height() == 0
    center = spike.center()
    assert chart.day_at(center.x()) == date(2024, 3, 6)
    assert chart.tooltip_for(date(2024, 3, 6)) == "Wed 2024-03-06: 30 rows"
    assert chart.tooltip_for(date(2024, 3, 4)) == "Mon 2024-03-04: no rows"

    def bar_color() -> QColor:
        image = chart.grab().toImage()
        ratio = image.devicePixelRatio()
        return image.pixelColor(QPoint(int(center.x() * ratio), int(center.y() * ratio)))

    palette = chart.palette()
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#00aa44"))
    chart.setPalette(palette)
    assert bar_color() == QColor("#00aa44")
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#aa2200"))
    chart.setPalette(palette)
    assert bar_color() == QColor("#aa2200")

    chart.set_days([])
    assert chart.span == 0 and chart.day_at(center.x()) is None
    assert "no time column" in chart.accessibleDescription()


# -- the panel in the window ------------------------------------------------------------------


def test_validated_task_shows_chart_first_rows_and_timeline(
    qtbot: QtBot, window: MainWindow, screenshot: Screenshot
) -> None:
    window.controller.add_paths([SAMPLES / "sales_clean.csv"])
    qtbot.waitUntil(
        lambda: window.model.rowCount() == 1
        and window.model.task_at(0).state is S.READY
        and window.controller.workers.active == 0,
        timeout=30_000,
    )
    task = window.model.task_at(0)
    details = window.details
    with qtbot.waitSignal(window.controller.timelineReady, timeout=10_000):
        assert window.select_task(task.id)
    qtbot.waitUntil(lambda: window.controller.workers.active == 0, timeout=10_000)

    timeline = details.timeline_model.timeline
    assert timeline is not None and timeline.task_id == task.id
    assert [s.state for s in timeline.stages] == [S.QUEUED, S.VALIDATING, S.READY]
    assert timeline.stages[-1].outcome is StageOutcome.RUNNING
    last = details.timeline_model.index(2, TimelineColumn.OUTCOME)
    assert last.data() == "waiting for S3 and Druid"
    assert all(s.duration is not None for s in timeline.stages[:-1])

    assert details.day_chart.isVisible() and details.day_chart.span == 50
    assert details.preview_model.rowCount() == 20
    assert details.preview_model.headerData(0, Qt.Orientation.Horizontal) == (
        "order_date\ntimestamp"
    )
    screenshot(window, "10-details-rows-per-day")
    details.tabs.setCurrentWidget(details.preview_view)
    screenshot(window, "11-details-first-rows")
    details.tabs.setCurrentWidget(details.timeline_view)
    screenshot(window, "12-details-timeline")


def test_another_clients_task_has_its_timeline_and_stored_report(
    qtbot: QtBot, window: MainWindow, settings: Settings, database_url: str
) -> None:
    other = DeskSession.open(settings, database_url=database_url)
    try:
        task = other.pipeline.enqueue(SAMPLES / "stores_workbook.xlsx").task
        other.pipeline.run(task.id)
        qtbot.waitUntil(
            lambda: (shown := window.model.task_by_id(task.id)) is not None
            and shown.state is S.READY,
            timeout=10_000,
        )
        details = window.details

        def shown() -> bool:
            timeline = details.timeline_model.timeline
            return timeline is not None and timeline.task_id == task.id

        assert window.select_task(task.id)
        qtbot.waitUntil(shown, timeout=10_000)
        qtbot.waitUntil(lambda: window.controller.workers.active == 0, timeout=10_000)
        timeline = details.timeline_model.timeline
        assert timeline is not None
        assert [s.state for s in timeline.stages] == [S.QUEUED, S.VALIDATING, S.READY]
        # The report that desk stored with the task: columns, first rows, days.
        stored = other.pipeline.report(task.id)
        assert stored is not None
        qtbot.waitUntil(lambda: details.columns_model.rowCount() == len(stored.columns),
                        timeout=10_000)
        assert details.tabs.isTabVisible(details.tabs.indexOf(details.preview_view))
        assert details.preview_model.rowCount() == len(stored.preview) > 0
        assert [details.columns_model.row_values(r)[0] for r in range(len(stored.columns))] == [
            c.name for c in stored.columns
        ]
        assert details.day_chart.isVisible() == bool(stored.rows_per_day)
    finally:
        other.close()
