"""Tasks that wait: "Ready to upload" is not "Needs review", the table says what a person is
asked, waiting time is not counted as work, and the filter finds each."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pytestqt.qtbot import QtBot

from app.domain.tasks import TaskState
from app.ui.task_filter import StateFilter, TaskFilterProxy
from app.ui.task_format import duration_seconds, stage_view
from app.ui.task_model import TaskRole, TaskTableModel
from app.ui.transfer_rate import TransferTracker

from .ui_helpers import T0, make_task, update


def test_a_valid_file_waiting_for_s3_and_druid_reads_as_ready() -> None:
    task = make_task(1, state=TaskState.READY, rows_validated=200)
    assert stage_view(task).text == "Ready · 200 rows · waiting for S3 and Druid"


def test_needs_review_says_what_the_question_is() -> None:
    asked = {
        "Needs a decision: Are dates like 03/04/2024 day first or month first?":
            "Are dates like 03/04/2024 day first or month first?",
        "This file was already ingested into sales by task 1234abcd (a.csv, 2024-05-01 09:00 "
        "UTC). Confirm to ingest it again.": "ingest this file again?",
        "Column types changed: qty is LONG in Druid but VARCHAR in this file. Confirm to append "
        "anyway.": "column types changed: append anyway?",
    }
    for summary, question in asked.items():
        task = make_task(2, state=TaskState.NEEDS_REVIEW, validation_summary=summary)
        assert stage_view(task).text == f"Needs review · {question}"


def test_waiting_time_is_not_counted_as_the_desks_work() -> None:
    later = datetime(2030, 1, 1, tzinfo=UTC)
    for state in (TaskState.READY, TaskState.NEEDS_REVIEW):
        waiting = make_task(3, state=state, updated_at=T0 + timedelta(minutes=3, seconds=7))
        assert duration_seconds(waiting, later) == 4.0 + 3.0  # created at T0 + 3 min
    working = make_task(3, state=TaskState.VALIDATING)
    assert duration_seconds(working, T0 + timedelta(minutes=5)) == 120.0


def test_the_state_filter_tells_ready_from_needs_review(qtbot: QtBot, qtmodeltester) -> None:
    model = TaskTableModel()
    proxy = TaskFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    for index, state in enumerate(
        (TaskState.READY, TaskState.NEEDS_REVIEW, TaskState.VALIDATING, TaskState.SUCCEEDED)
    ):
        model.queue_update(update(make_task(index, state=state)))
    model.flush()

    def shown(choice: StateFilter) -> set[TaskState]:
        proxy.set_state_filter(choice)
        return {proxy.index(r, 0).data(TaskRole.TASK).state for r in range(proxy.rowCount())}

    assert shown(StateFilter.READY) == {TaskState.READY}
    assert shown(StateFilter.NEEDS_REVIEW) == {TaskState.NEEDS_REVIEW}
    assert shown(StateFilter.ACTIVE) == {TaskState.VALIDATING}


def test_ingesting_shows_druids_pace_from_its_live_progress() -> None:
    tracker = TransferTracker()
    task = make_task(4, state=TaskState.INGESTING, rows_validated=10_000)
    for at, fraction in ((100.0, 0.1), (102.0, 0.3), (104.0, 0.5)):
        tracker.observe(replace(task, progress=fraction), at)
    moving = replace(task, progress=0.5)
    assert stage_view(moving, tracker.view(moving)).text == (
        "Ingesting · 50% · 5,000 of 10,000 rows in Druid · 1,000 rows/s · 5s left"
    )
    tracker.observe(replace(task, state=TaskState.VERIFYING), 105.0)
    assert tracker.view(moving) is None  # forgotten once Druid is done
