"""The details panel's Druid tab and the "Open in Druid console" action."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QToolBar
from pytestqt.qtbot import QtBot

from app.domain.druid import DruidTaskState, RowStats
from app.domain.tasks import IngestMode, TaskState
from app.pipeline.druid_view import DruidTaskView, SpecSource
from app.services.druid import DruidClient, SpecOptions, build_spec
from app.services.settings import Settings
from app.ui.app import build_window
from app.ui.druid_section import (
    NEEDS_CONNECTION,
    NO_LOG,
    NOT_CONFIGURED,
    NOT_SUBMITTED,
    DruidSection,
)
from app.ui.main_window import MainWindow
from app.ui.running_work import WorkKind
from tests.devstack.conftest import devstack  # noqa: F401 - the real-Druid test below
from tests.devstack.stack import DevStack
from tests.druid.conftest import stage_csv

from .ui_helpers import SAMPLES, make_task, update

# One task slot, no subtasks: the dev stack's three slots are shared by every desk's
# tests, and parallel supervisors waiting for subtask slots can starve each other.
SEQUENTIAL = SpecOptions(await_segments_ms=1000, max_concurrent_subtasks=1)
DRUID_ID = "ingest-desk_orders_append_5f2c9e0d41b7a3c8e6d2f190"
SPEC = json.dumps(
    {"type": "index_parallel", "id": DRUID_ID, "spec": {"dataSchema": {"dataSource": "orders"}}},
    indent=2,
)
FAILURE = (
    "java.lang.RuntimeException: Error occurred while trying to read uri: "
    "s3://ingest-desk-dev/ingest-desk/orders/2024-05-01/orders.ndjson.gz\n"
    "Caused by: com.amazonaws.services.s3.model.AmazonS3Exception: The specified key does not "
    "exist. (Service: Amazon S3; Status Code: 404; Error Code: NoSuchKey)"
)
LOG = (
    "\n".join(
        f"2024-05-01T09:14:{i % 60:02d},{i:03d} INFO [task-runner-0-priority-0] "
        f"org.apache.druid.indexing.common.task.batch.parallel.SinglePhaseSubTask - step {i}"
        for i in range(99)
    )
    + "\n2024-05-01T09:15:02,117 ERROR [task-runner-0-priority-0] "
    + FAILURE.splitlines()[0]
)
FETCHED = datetime(2024, 5, 1, 9, 15, 30, tzinfo=UTC)

WindowFactory = Callable[[Settings], MainWindow]
Screenshot = Callable[[object, str], Path]


def succeeded_view() -> DruidTaskView:
    return DruidTaskView(
        task_id="task-001",
        druid_task_id=DRUID_ID,
        console_url="http://druid:8888/unified-console.html#ingestion",
        state=DruidTaskState.SUCCESS,
        duration_ms=42_000,
        location="10.0.0.7:8091",
        ingestion_state="COMPLETED",
        row_stats=RowStats(processed=600, processed_with_error=0, thrown_away=0, unparseable=0),
        spec_json=SPEC,
        spec_source=SpecSource.OVERLORD,
        fetched_at=FETCHED,
    )


def failed_view(**changes: object) -> DruidTaskView:
    values: dict[str, object] = {
        "task_id": "task-001",
        "druid_task_id": DRUID_ID,
        "state": DruidTaskState.FAILED,
        "duration_ms": 3_019,
        "location": "10.0.0.7:8091",
        "ingestion_state": "BUILD_SEGMENTS",
        "error_message": FAILURE,
        "row_stats": RowStats(processed=0, processed_with_error=2, thrown_away=0, unparseable=1),
        "log_tail": LOG,
        "spec_json": SPEC,
        "spec_source": SpecSource.OVERLORD,
        "fetched_at": FETCHED,
    }
    values.update(changes)
    return DruidTaskView(**values)  # type: ignore[arg-type]


@pytest.fixture
def section(qtbot: QtBot) -> DruidSection:
    widget = DruidSection()
    qtbot.addWidget(widget)
    widget.resize(1180, 280)
    widget.show()
    return widget


@pytest.fixture
def make_window(qtbot: QtBot, database_url: str) -> Iterator[WindowFactory]:
    opened: list[MainWindow] = []

    def make(settings: Settings) -> MainWindow:
        main = build_window(settings, database_url=database_url, poll_interval_s=0.1)
        qtbot.addWidget(main)
        main.resize(1200, 760)
        main.show()
        with qtbot.waitSignal(main.controller.sessionReady, timeout=20_000):
            main.controller.start()
        opened.append(main)
        return main

    yield make
    for main in opened:
        main.close()


def show(window: MainWindow, *tasks: object) -> None:
    for task in tasks:
        window.model.queue_update(update(task))  # type: ignore[arg-type]
    window.model.flush()


# ---- the section on its own ------------------------------------------------------------------


def test_a_succeeded_task(section: DruidSection) -> None:
    section.show_view(succeeded_view())
    assert section.stack.currentIndex() == 1
    assert section.task_id_field.text() == DRUID_ID
    assert section.state_label.text() == "SUCCESS"
    assert "ran 42s" in section.facts_label.text()
    assert "on 10.0.0.7:8091" in section.facts_label.text()
    values = {name: label.text() for name, label in section.stat_values.items()}
    assert values == {
        "processed": "600",
        "processed_with_error": "0",
        "thrown_away": "0",
        "unparseable": "0",
    }
    assert not section.problem_label.isVisible() and not section.error_label.isVisible()
    assert not section.log_box.isVisible()  # a log excerpt only when the task failed
    assert section.spec_caption.text() == "Ingestion spec (as the Overlord stores it)"
    assert json.loads(section.spec_text.toPlainText())["id"] == DRUID_ID
    section.copy_spec_button.click()
    assert QGuiApplication.clipboard().text() == SPEC
    section.copy_id_button.click()
    assert QGuiApplication.clipboard().text() == DRUID_ID


def test_a_failed_task_shows_druids_words_and_its_log(
    section: DruidSection, screenshot: Screenshot
) -> None:
    section.show_view(failed_view())
    assert section.state_label.text() == "FAILED"
    assert section.error_label.isVisible()
    assert "The specified key does not exist" in section.error_label.text()
    assert section.log_box.isVisible()
    assert section.log_text.toPlainText().splitlines()[-1].endswith(FAILURE.splitlines()[0])
    assert section.stat_values["processed_with_error"].text() == "2"
    assert "#d64545" in section.stat_values["processed_with_error"].styleSheet()
    assert "#d64545" not in section.stat_values["processed"].styleSheet()
    path = screenshot(section, "druid-tab-failed-task")
    assert path.stat().st_size > 0


def test_a_failed_task_without_a_log_says_why(section: DruidSection) -> None:
    section.show_view(failed_view(log_tail=None, log_missing=True))
    assert section.log_box.isVisible()
    assert section.log_text.toPlainText() == ""
    assert section.log_text.placeholderText() == NO_LOG


def test_druid_out_of_reach_is_one_sentence_and_the_saved_spec(section: DruidSection) -> None:
    problem = "Druid at http://druid:8888 could not be reached, so its status is not shown."
    section.show_view(
        DruidTaskView(
            task_id="task-001",
            druid_task_id=DRUID_ID,
            spec_json=SPEC,
            spec_source=SpecSource.LOCAL,
            fetched_at=FETCHED,
            problem=problem,
        )
    )
    assert section.problem_label.isVisible() and section.problem_label.text() == problem
    assert section.state_label.text() == ""
    assert not section.stats_box.isVisible() and not section.log_box.isVisible()
    assert section.spec_caption.text() == "Ingestion spec (this desk's saved copy)"


def test_refresh_asks_and_shows_busy(section: DruidSection, qtbot: QtBot) -> None:
    section.show_view(succeeded_view())
    with qtbot.waitSignal(section.refreshRequested, timeout=1000):
        section.refresh_button.click()
    section.set_busy(True)
    assert not section.refresh_button.isEnabled()
    section.set_busy(False)
    assert section.refresh_button.isEnabled()


# ---- in the window -------------------------------------------------------------------------


def test_without_druid_the_tab_says_so(make_window: WindowFactory) -> None:
    window = make_window(Settings())
    show(window, make_task(1, state=TaskState.INGESTING, druid_task_id=DRUID_ID))
    assert window.select_task("task-001")
    assert window.details.druid.message.text() == NOT_CONFIGURED
    assert not window.druid.console_action.isEnabled()


def test_console_action_opens_the_ingestion_view(
    make_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    window = make_window(Settings(druid_url="http://druid.example:8888/"))
    action = window.druid.console_action
    toolbar = window.findChild(QToolBar, "tasksToolbar")
    assert toolbar is not None and action in toolbar.actions()
    assert action.shortcut() == QKeySequence("Ctrl+Shift+D")
    assert "Druid web console" in action.toolTip()
    show(
        window,
        make_task(1, state=TaskState.INGESTING, druid_task_id=DRUID_ID),
        make_task(2, state=TaskState.VALIDATING),
    )
    assert window.select_task("task-002")
    assert not action.isEnabled()
    assert window.details.druid.message.text() == NOT_SUBMITTED

    assert window.select_task("task-001")
    assert action.isEnabled()
    # Druid configured without S3: this desk has no connection to read Druid through.
    assert window.details.druid.message.text() == NEEDS_CONNECTION
    action.trigger()
    assert [url.toString() for url in opened] == [
        "http://druid.example:8888/unified-console.html#ingestion"
    ]
    assert QGuiApplication.clipboard().text() == DRUID_ID
    assert DRUID_ID in window.status.currentMessage()


def test_the_druid_tab_in_the_details_panel(
    make_window: WindowFactory, qtbot: QtBot, screenshot: Screenshot
) -> None:
    window = make_window(Settings(druid_url="http://druid.example:8888"))
    with qtbot.waitSignal(window.controller.taskValidated, timeout=30_000) as done:
        window.controller.add_paths([SAMPLES / "sales_clean.csv"])
    qtbot.waitUntil(lambda: window.controller.workers.active == 0, timeout=10_000)
    validated = done.args[0].task
    # As the feed would bring it once another desk's pipeline submitted it and Druid failed it.
    failed = dataclasses.replace(
        validated,
        state=TaskState.FAILED,
        version=validated.version + 5,
        druid_task_id=DRUID_ID,
        error_message=FAILURE.splitlines()[0],
    )
    show(window, failed)
    assert window.select_task(failed.id)
    details = window.details
    assert details.tabs.indexOf(details.druid) >= 0
    details.tabs.setCurrentWidget(details.druid)
    window.controller.druidViewReady.emit(failed_view(task_id=failed.id))
    assert details.druid.state_label.text() == "FAILED"
    # The splitter and the scroll area lay the newly shown panel out over later event-loop
    # passes; the row counts get their full width once that has settled.
    stats = details.druid.stats_box
    qtbot.waitUntil(lambda: stats.width() == stats.sizeHint().width(), timeout=5_000)
    screenshot(window, "druid-tab-in-window")


@pytest.mark.druid
def test_real_druid_read_on_a_worker(
    make_window: WindowFactory,
    devstack: DevStack,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    staging = stage_csv("when,city\n2024-05-01 09:00:00,Oslo\n", tmp_path / "staged")
    missing = (
        f"s3://{devstack.env['INGEST_DESK_S3_BUCKET']}/ingest-desk/ui/{uuid.uuid4().hex}.ndjson.gz"
    )
    spec = build_spec(
        f"ui_{uuid.uuid4().hex[:8]}",
        staging,
        [missing],
        IngestMode.APPEND,
        SEQUENTIAL,
    )
    with DruidClient(devstack.druid_url, timeout_s=60) as druid:
        druid.submit(spec)
        assert druid.wait(spec.task_id, timeout_s=300, poll_s=0.5).state is DruidTaskState.FAILED
    settings = Settings(
        druid_url=devstack.druid_url, s3_bucket="unused", s3_endpoint_url="http://127.0.0.1:9"
    )
    window = make_window(settings)
    controller, section = window.controller, window.details.druid
    task = make_task(1, state=TaskState.INGESTING, druid_task_id=spec.task_id)
    show(window, task)
    with qtbot.waitSignal(controller.druidViewReady, timeout=60_000) as first:
        assert window.select_task(task.id)
    view = first.args[0]
    assert view.task_id == task.id and view.state is DruidTaskState.FAILED
    assert section.state_label.text() == "FAILED"
    assert "does not exist" in section.error_label.text()
    assert json.loads(section.spec_text.toPlainText())["id"] == spec.task_id

    # One read per task at a time: a second request while one runs is kept and run after it.
    # The first read's finished signal comes before its done: wait until it has let go, or both
    # requests below would fold into the single read that follows it.
    qtbot.waitUntil(
        lambda: not controller.running.running(task.id, WorkKind.DRUID_READ), timeout=10_000
    )
    with qtbot.waitSignals([controller.druidViewReady] * 2, timeout=60_000):
        assert controller.fetch_druid_view(task)
        assert controller.fetch_druid_view(task)
        assert controller.running.task_ids(WorkKind.DRUID_READ) == (task.id,)
    qtbot.waitUntil(lambda: controller.workers.active == 0, timeout=10_000)

    # The task moving on (here: failed) asks again, and so does the Refresh button.
    moved = make_task(1, state=TaskState.FAILED, version=2, druid_task_id=spec.task_id)
    with qtbot.waitSignal(controller.druidViewReady, timeout=60_000):
        show(window, moved)
    with qtbot.waitSignal(controller.druidViewReady, timeout=60_000):
        section.refresh_button.click()
    qtbot.waitUntil(lambda: controller.workers.active == 0, timeout=10_000)
    assert section.refresh_button.isEnabled()
