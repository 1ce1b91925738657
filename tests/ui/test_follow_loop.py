"""The follow loop in a live Qt event loop: tasks a closed desk left after the upload are picked
up on workers, finish in the table, and closing the window only stops following them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.domain.tasks import TaskState
from app.pipeline.follower import FollowTick
from app.pipeline.remote_connections import Connections
from app.pipeline.session import DeskSession, TaskUpdate
from app.services.settings import Settings
from app.services.storage import S3Uploader, make_client
from app.ui.follow_loop import FollowLoop, FollowResult
from app.ui.main_window import MainWindow
from app.ui.running_work import RunningWork, WorkKind
from app.ui.task_model import Column, TaskTableModel
from app.ui.workers import Worker, WorkerPool
from tests.druid.fake import druid_report
from tests.pipeline.follow_helpers import left_in
from tests.pipeline.test_pipeline_steps import ServingDruid
from tests.storage.conftest import options, s3_config


@pytest.fixture
def druid() -> ServingDruid:
    return ServingDruid(finish=None)


@pytest.fixture
def session(tmp_path: Path, druid: ServingDruid) -> Iterator[DeskSession]:
    """A desk whose runner talks to the fake Druid (S3 is not needed after the upload, so its
    endpoint is never called)."""
    config = s3_config("http://127.0.0.1:9", "unused")
    connections = Connections(
        config, S3Uploader(make_client(config), config, options()), druid.client()
    )
    opened = DeskSession.open(
        Settings(), database_url=f"sqlite:///{tmp_path / 'tasks.sqlite3'}", poll_interval_s=0.1,
        connections=connections, work_dir=tmp_path / "work",
    )
    yield opened
    opened.close()


@pytest.fixture
def model(qtbot: QtBot) -> TaskTableModel:
    return TaskTableModel()


def _abandoned(session: DeskSession, druid: ServingDruid, *, done: bool) -> str:
    """A task a signed-off desk left ingesting; Druid has it running, or finished (120 rows)."""
    gone = session.store.clients.register(user="ann")
    task = left_in(session.store, gone.id, TaskState.INGESTING)
    assert task.druid_task_id is not None
    druid.add_task(task.druid_task_id, "SUCCESS" if done else "RUNNING")
    druid.reports[task.druid_task_id] = druid_report(task.druid_task_id, 120, parallel=False)
    if done:
        druid.rows[task.datasource] = 120  # what Druid SQL counts once the segments load
    session.store.clients.sign_off(gone.id)
    return task.id


def test_the_loop_adopts_a_left_task_and_the_table_shows_it_succeed(
    qtbot: QtBot, session: DeskSession, druid: ServingDruid, model: TaskTableModel
) -> None:
    task_id = _abandoned(session, druid, done=True)
    workers = WorkerPool()
    loop = FollowLoop(workers, model, RunningWork(), interval_ms=50)
    with qtbot.waitSignal(loop.runFinished, timeout=20_000) as finished:
        assert loop.start(session)
    result = finished.args[0]
    assert isinstance(result, FollowResult)
    assert result.update.task.id == task_id
    assert result.update.task.state is TaskState.SUCCEEDED, result.message
    assert result.update.owner == "ann"  # the source desk's user, as the feed shows it
    qtbot.waitUntil(lambda: getattr(model.task_by_id(task_id), "state", None)
                    is TaskState.SUCCEEDED, timeout=5_000)
    assert session.store.tasks.get(task_id).owner_client == session.client.id
    loop.stop()
    assert not loop.is_running
    assert workers.wait(10_000)


def test_tasks_the_controller_runs_are_not_started_again(
    qtbot: QtBot, session: DeskSession, druid: ServingDruid, model: TaskTableModel
) -> None:
    task_id = _abandoned(session, druid, done=True)
    workers = WorkerPool()
    running = RunningWork()
    busy: Worker[None, None] = Worker("the controller's run", lambda _ctx: None)
    running.add(task_id, WorkKind.RUN, busy)  # the controller runs it (never submitted here)
    loop = FollowLoop(workers, model, running, interval_ms=60_000)
    with qtbot.waitSignal(loop.ticked, timeout=20_000) as ticked:
        loop.start(session)
    tick = ticked.args[0]
    assert isinstance(tick, FollowTick) and tick.leader
    assert [t.id for t in tick.adopted] == [task_id]
    assert not loop.follows(task_id)  # adopted, but the controller already runs it
    loop.stop()
    assert workers.wait(10_000)
    assert session.store.tasks.get(task_id).state is TaskState.INGESTING


def test_stopping_hands_a_running_task_back_without_cancelling_it(
    qtbot: QtBot, session: DeskSession, druid: ServingDruid, model: TaskTableModel
) -> None:
    task_id = _abandoned(session, druid, done=False)
    druid_task_id = session.store.tasks.get(task_id).druid_task_id or ""
    workers = WorkerPool()
    loop = FollowLoop(workers, model, RunningWork(), interval_ms=60_000)
    loop.start(session)
    qtbot.waitUntil(lambda: loop.follows(task_id), timeout=20_000)
    # Following: the desk's poller has asked Druid for the task's status at least once.
    qtbot.waitUntil(
        lambda: any(
            r.url.path.endswith("/taskStatus") and druid_task_id in r.content.decode()
            for r in list(druid.requests)
        ),
        timeout=20_000,
    )
    loop.stop()
    assert workers.wait(10_000)
    qtbot.waitUntil(lambda: not loop.follows(task_id), timeout=5_000)
    left = session.store.tasks.get(task_id)
    assert left.state is TaskState.INGESTING  # not cancelled: another desk may adopt it
    assert druid.tasks[druid_task_id]["statusCode"] == "RUNNING"  # Druid's task not shut down


def test_without_s3_and_druid_the_loop_stays_off(window: MainWindow) -> None:
    controller = window.controller
    assert controller.session is not None and not controller.uploads()
    assert not controller.follow_loop.is_running
    assert not controller.follow_loop.start(controller.session)


def test_the_users_cancel_of_a_followed_task_shuts_its_druid_task_down(
    qtbot: QtBot, session: DeskSession, druid: ServingDruid, model: TaskTableModel
) -> None:
    task_id = _abandoned(session, druid, done=False)
    druid_task_id = session.store.tasks.get(task_id).druid_task_id or ""
    workers = WorkerPool()
    running = RunningWork()
    loop = FollowLoop(workers, model, running, interval_ms=60_000)
    assert not running.cancel_by_user(task_id)  # not followed (yet): cancelled another way
    loop.start(session)
    qtbot.waitUntil(lambda: loop.follows(task_id), timeout=20_000)
    with qtbot.waitSignal(loop.runFinished, timeout=20_000) as finished:
        assert running.cancel_by_user(task_id)
    assert finished.args[0].update.task.state is TaskState.CANCELLED
    assert druid.tasks[druid_task_id]["statusCode"] == "FAILED"  # shut down
    loop.stop()
    assert workers.wait(10_000)


def test_the_table_shows_druids_rows_processed_while_a_task_ingests(
    qtbot: QtBot, session: DeskSession, druid: ServingDruid, model: TaskTableModel
) -> None:
    task_id = _abandoned(session, druid, done=False)
    druid_task_id = session.store.tasks.get(task_id).druid_task_id or ""
    # Druid's live report while the task runs: half of the 120 validated rows so far.
    druid.reports[druid_task_id] = druid_report(druid_task_id, 60, parallel=False)
    workers = WorkerPool()
    loop = FollowLoop(workers, model, RunningWork(), interval_ms=60_000)
    loop.start(session)

    def shown() -> str:
        # What the live feed would bring: the row as the store has it now.
        model.queue_update(TaskUpdate(session.store.tasks.get(task_id), "ann"))
        model.flush()
        row = model.row_of(task_id)
        return "" if row is None else str(model.index(row, Column.PROGRESS).data())

    qtbot.waitUntil(lambda: shown() == "Ingesting · 50% · 60 of 120 rows in Druid", timeout=20_000)
    druid.reports[druid_task_id] = druid_report(druid_task_id, 120, parallel=False)
    druid.rows[session.store.tasks.get(task_id).datasource] = 120
    druid.tasks[druid_task_id]["statusCode"] = "SUCCESS"
    qtbot.waitUntil(lambda: shown().startswith("Succeeded"), timeout=20_000)
    loop.stop()
    assert workers.wait(10_000)
