"""Failure paths the pipeline must survive, each forced on purpose: a cancel that aborts an
upload in flight, a Druid that refuses a shutdown or forgets a task, a cancel that loses its
compare-and-set to another desk, another desk's cancel mid-validation, a verification that
never sees the rows, and a validation that crashes. Real PostgreSQL and moto; the fake Overlord
only to inject Druid's faults."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.domain.store import TaskPatch
from app.domain.tasks import Task, TaskState
from app.pipeline.choices import IngestOptions
from app.pipeline.moves import TaskMoves
from app.pipeline.steps import upload
from app.services import staging
from app.services.store import LostRaceError, TaskStore
from tests.druid.fake import sql_rows
from tests.pipeline.test_pipeline_steps import FAST, Desk, ServingDruid, make_desk
from tests.storage.conftest import MotoServer
from tests.store.conftest import pg_server, pg_url  # noqa: F401 - fixtures
from tests.store.store_helpers import draft
from tests.support.waiting import wait_until

pytestmark = pytest.mark.postgres

S = TaskState


@pytest.fixture
def open_desk(
    tmp_path: Path, moto: MotoServer, bucket: str, pg_url: str  # noqa: F811
) -> Iterator[Any]:
    made: list[Desk] = []

    def opened(fake: ServingDruid | None = None) -> Desk:
        desk = make_desk(tmp_path, moto.endpoint, bucket, fake=fake, store_url=pg_url)
        made.append(desk)
        return desk

    yield opened
    for desk in made:
        desk.store.close()


def _in_background(desk: Desk, task: Task, opts: IngestOptions = FAST) -> tuple[
    threading.Thread, list[object]
]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(desk.run(task, opts))
        except BaseException as exc:  # handed to the test to assert on
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    return worker, outcome


def _other_desk(desk: Desk) -> TaskMoves:
    return TaskMoves(desk.store, desk.store.clients.register(user="operator").id)


def _ingesting(desk: Desk, task: Task) -> Task:
    return wait_until(
        lambda: (now := desk.store.tasks.get(task.id)).state is S.INGESTING and now,
        timeout=60, what="the task was ingesting",
    )


# -- cancel while uploading ------------------------------------------------------------------


def test_cancelling_an_uploading_task_aborts_its_s3_upload(
    open_desk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk: Desk = open_desk()
    task = desk.task()
    # The upload is held right after its multipart id is on the task row (fault injection:
    # the upload is "slow"), so the cancel lands while the desk is uploading.
    held, release = threading.Event(), threading.Event()

    def hold(point: str) -> None:
        if point == "uploading":
            held.set()
            assert release.wait(60)

    monkeypatch.setattr(upload, "pause_at", hold)
    worker, outcome = _in_background(desk, task)
    assert held.wait(60)
    uploading = desk.store.tasks.get(task.id)
    assert uploading.state is S.UPLOADING and uploading.multipart_upload_id
    assert [u.upload_id for u in desk.connections.uploader.open_uploads()] == [
        uploading.multipart_upload_id
    ]

    cancelled = _other_desk(desk).cancel(task.id, "Cancelled by the user.", desk.connections)
    # Aborted by the cancel itself, while the uploading desk is still held: a desk that died
    # mid-upload leaves nothing open either.
    assert desk.connections.uploader.open_uploads() == ()
    assert cancelled.task.state is S.CANCELLED
    assert len(cancelled.notes) == 1 and cancelled.notes[0].startswith("Aborted the S3 upload ")
    release.set()
    worker.join(60)

    assert desk.connections.uploader.open_uploads() == ()
    # The desk's own run stopped without undoing the cancel or finishing the object.
    assert outcome and not isinstance(outcome[0], BaseException), outcome
    assert desk.store.tasks.get(task.id).state is S.CANCELLED
    listed = desk.connections.uploader.client.list_objects_v2(
        Bucket=desk.connections.s3.bucket, Prefix=desk.connections.s3.prefix
    )
    assert listed.get("KeyCount", 0) == 0
    assert desk.druid.submits() == 0


# -- Druid refuses a shutdown ------------------------------------------------------------------


def test_druid_refusing_the_shutdown_still_cancels_and_says_so(open_desk: Any) -> None:
    desk: Desk = open_desk(ServingDruid(finish=None))
    task = desk.task()
    worker, _outcome = _in_background(desk, task)
    druid_task_id = _ingesting(desk, task).druid_task_id or ""
    refusal = {"error": "Cannot shutdown task: the Overlord is not the leader"}
    desk.druid.inject(
        f"/druid/indexer/v1/task/{druid_task_id}/shutdown",
        *[httpx.Response(503, json=refusal) for _ in range(10)],
    )

    cancelled = _other_desk(desk).cancel(task.id, "Cancelled by the user.", desk.connections)
    worker.join(60)

    assert cancelled.task.state is S.CANCELLED  # the desk's word stands
    (note,) = cancelled.notes
    assert note.startswith(f"Could not shut down Druid task {druid_task_id}: ")
    assert "Traceback" not in note
    assert desk.druid.tasks[druid_task_id]["statusCode"] == "RUNNING"  # Druid never took it
    assert desk.store.tasks.get(task.id).state is S.CANCELLED


# -- a cancel that loses its compare-and-set ---------------------------------------------------


def _racing(store: TaskStore, other: _OtherDesk) -> None:
    """Before each of our transitions, the other desk moves the row first (while it has moves
    left), so our compare-and-set finds the version it read gone."""
    ours = store.tasks.transition

    def transition(task_id: str, *args: Any, **kwargs: Any) -> Task:
        if other.times:
            other.times -= 1
            other.move_row(task_id)
        return ours(task_id, *args, **kwargs)

    store.tasks.transition = transition  # type: ignore[method-assign]


class _OtherDesk:
    """A second desk on the same database, moving rows from under the first."""

    def __init__(self, url: str, times: int, move: str) -> None:
        self.store = TaskStore.open(url)
        self.client = self.store.clients.register(user="bob").id
        self.times, self.move = times, move
        self.moved: list[tuple[S, S]] = []

    def move_row(self, task_id: str) -> None:
        task = self.store.tasks.get(task_id)
        if self.move == "progress":
            self.store.tasks.update(
                task_id, TaskPatch(progress=0.5), expected_state=task.state,
                owner=task.owner_client or "",
            )
            self.moved.append((task.state, task.state))
            return
        target = S.CANCELLED if self.move == "cancel" else S.VERIFYING
        self.store.tasks.transition(
            task_id, target, expected_state=task.state, expected_version=task.version,
            by_client=self.client, message="bob's move",
        )
        self.moved.append((task.state, target))


def _ingesting_task(store: TaskStore, client: str) -> Task:
    task = store.tasks.create(draft(client))
    for before, after in ((S.QUEUED, S.VALIDATING), (S.VALIDATING, S.UPLOADING),
                          (S.UPLOADING, S.SUBMITTING), (S.SUBMITTING, S.INGESTING)):
        task = store.tasks.transition(
            task.id, after, expected_state=before, expected_version=task.version,
            by_client=client,
        )
    return task


def test_a_cancel_that_loses_the_race_tries_again_from_where_the_other_desk_left_it(
    pg_url: str,  # noqa: F811
) -> None:
    with TaskStore.open(pg_url) as store:
        me = store.clients.register(user="alice").id
        task = _ingesting_task(store, me)
        bob = _OtherDesk(pg_url, times=1, move="verify")
        try:
            _racing(store, bob)
            outcome = TaskMoves(store, me).cancel(task.id)
            assert bob.moved == [(S.INGESTING, S.VERIFYING)]  # bob won the first round
            assert outcome.task.state is S.CANCELLED
            history = [(e.from_state, e.to_state) for e in store.tasks.history(task.id)]
            assert history[-2:] == [(S.INGESTING, S.VERIFYING), (S.VERIFYING, S.CANCELLED)]
            assert store.tasks.history(task.id)[-1].by_client == me
        finally:
            bob.store.close()


def test_a_cancel_that_loses_to_another_desks_cancel_lets_theirs_stand(
    pg_url: str,  # noqa: F811
) -> None:
    with TaskStore.open(pg_url) as store:
        me = store.clients.register(user="alice").id
        task = _ingesting_task(store, me)
        bob = _OtherDesk(pg_url, times=1, move="cancel")
        try:
            _racing(store, bob)
            outcome = TaskMoves(store, me).cancel(task.id)
            assert outcome.task.state is S.CANCELLED
            assert outcome.notes == ("Task is already cancelled.",)
            last = store.tasks.history(task.id)[-1]
            assert last.by_client == bob.client and last.message == "bob's move"
        finally:
            bob.store.close()


def test_a_cancel_that_keeps_losing_gives_up_with_the_row_as_it_is(
    pg_url: str,  # noqa: F811
) -> None:
    with TaskStore.open(pg_url) as store:
        me = store.clients.register(user="alice").id
        task = _ingesting_task(store, me)
        bob = _OtherDesk(pg_url, times=100, move="progress")
        try:
            _racing(store, bob)
            with pytest.raises(LostRaceError):
                TaskMoves(store, me).cancel(task.id)
            assert len(bob.moved) == 5  # one lost round per attempt, then it stops trying
            assert store.tasks.get(task.id).state is S.INGESTING  # nothing half-done
        finally:
            bob.store.close()


# -- Druid forgets a task ----------------------------------------------------------------------


class _ForgetfulDruid(ServingDruid):
    """Takes the task, then loses it: status reads answer 404, the bulk answer leaves it out."""

    def _submit(self, spec: dict[str, Any]) -> httpx.Response:
        answer = super()._submit(spec)
        self.tasks.pop(spec["id"], None)
        return answer


def test_a_task_druid_forgets_fails_with_a_sentence(open_desk: Any) -> None:
    desk: Desk = open_desk(_ForgetfulDruid(finish=None))
    task = desk.task()
    ended = desk.run(task)
    assert ended.state is S.FAILED
    assert ended.druid_task_id
    expected = f"Druid does not know task {ended.druid_task_id}; the task was given up."
    assert ended.error_message == expected
    direct = desk.connections.druid.task_status(ended.druid_task_id)
    assert direct.state.value == "UNKNOWN"  # what the Overlord answers: 404 on the status
    assert any(
        r.url.path.endswith(f"/task/{ended.druid_task_id}/status") for r in desk.druid.requests
    )


# -- verification never sees the rows ----------------------------------------------------------


class _LaggingBroker(ServingDruid):
    """The task report counts every row, but SQL never serves the last one (a segment that
    never loads), or answers only errors."""

    sql_error: bool = False

    def _sql(self, request: httpx.Request) -> httpx.Response:
        answer = super()._sql(request)
        if b"COUNT(*)" not in request.content:
            return answer
        if self.sql_error:
            return httpx.Response(500, json={"error": "Unknown exception", "errorMessage": "x"})
        rows = answer.json()
        if answer.status_code != 200 or not isinstance(rows, list) or len(rows) < 2:
            return answer  # the datasource does not exist yet (the count before the ingest)
        return sql_rows(rows[0], *[[row[0] - 1] for row in rows[1:]])


def test_verification_that_never_sees_the_rows_times_out_with_the_figures(
    open_desk: Any,
) -> None:
    desk: Desk = open_desk(_LaggingBroker())
    task = desk.task()
    ended = desk.run(task, IngestOptions(poll_interval_s=0.01, verify_timeout_s=0.2))
    assert ended.state is S.FAILED
    plan = ended.verify_plan
    assert plan is not None and plan.rows == 120
    assert ended.error_message == (
        f"Druid SQL counts {plan.expected - 1:,} rows in {plan.interval.iso}, expected "
        f"{plan.expected:,} ({plan.baseline:,} before + {plan.rows:,} from the file) after "
        f"0.2 s; rowStats processed {plan.rows:,}."
    )
    assert ended.rows_ingested is None


def test_verification_with_sql_failing_throughout_times_out_and_says_why(open_desk: Any) -> None:
    fake = _LaggingBroker()
    fake.sql_error = True
    desk: Desk = open_desk(fake)
    ended = desk.run(desk.task(), IngestOptions(poll_interval_s=0.01, verify_timeout_s=0.2))
    assert ended.state is S.FAILED
    assert ended.error_message is not None
    assert ended.error_message.startswith("Druid SQL counts no rows (")
    assert "Traceback" not in ended.error_message


# -- another desk cancels mid-validation -------------------------------------------------------


def test_another_desk_cancelling_mid_validation_stops_before_anything_leaves_the_desk(
    open_desk: Any,
) -> None:
    """(tests/ui/test_pipeline_local.py forces this on the embedded store without S3 and
    Druid; here the desk could upload, so it must also not start to.)"""
    desk: Desk = open_desk()
    task = desk.task()
    bob = _other_desk(desk)
    seen: list[S] = []

    def cancel_elsewhere(_progress: object) -> None:
        current = desk.store.tasks.get(task.id)
        seen.append(current.state)
        if current.state is S.VALIDATING:
            bob.cancel(task.id, "Cancelled by bob.", desk.connections)

    result = desk.pipeline.run(task, desk.source, FAST, progress=cancel_elsewhere)
    assert S.VALIDATING in seen  # bob's cancel landed while the desk was validating
    assert result.task.state is S.CANCELLED
    ended = desk.store.tasks.get(task.id)
    assert ended.state is S.CANCELLED and ended.validation_summary == "Cancelled by bob."
    assert [e.by_client for e in desk.store.tasks.history(task.id)][-1] == bob.client_id
    assert desk.connections.uploader.open_uploads() == () and desk.druid.submits() == 0
    listed = desk.connections.uploader.client.list_objects_v2(
        Bucket=desk.connections.s3.bucket, Prefix=desk.connections.s3.prefix
    )
    assert listed.get("KeyCount", 0) == 0


# -- validation crashes ------------------------------------------------------------------------


def test_a_crash_inside_validation_fails_the_task_with_a_plain_message(
    open_desk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the disk went away mid-read")

    monkeypatch.setattr(staging, "validate_and_stage", crash)  # the step imports it per run
    desk: Desk = open_desk()
    task = desk.task()
    with pytest.raises(RuntimeError, match="the disk went away"):
        desk.run(task)  # the caller (a worker, the CLI) still learns it was a crash
    failed = desk.store.tasks.get(task.id)
    message = "Validation failed unexpectedly: RuntimeError: the disk went away mid-read"
    assert failed.state is S.FAILED
    assert failed.error_message == message and failed.validation_summary == message
    assert desk.connections.uploader.open_uploads() == () and desk.druid.submits() == 0
    # Failed is retryable: the task is not lost.
    assert desk.pipeline.moves.retry(task.id).state is S.QUEUED
