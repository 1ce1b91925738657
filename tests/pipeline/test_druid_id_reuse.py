"""A Druid task id met again: a genuine re-submit of the same spec goes on; the id reused for other
data (the task store lost its rows, the file was added again) fails at once, with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.domain.tasks import TaskState
from app.pipeline.choices import IngestOptions
from app.services.storage import parse_s3_uri
from tests.pipeline.test_pipeline_steps import (
    Killed,
    ServingDruid,
    kill_at,
    make_desk,
    states,
)
from tests.storage.conftest import MotoServer

# Long enough that a task which waited for its verify timeout could not pass unnoticed.
PATIENT = IngestOptions(poll_interval_s=0.01, verify_timeout_s=600, allow_duplicate=True)


def test_a_kill_after_submit_resumes_against_druids_own_copy_of_the_spec(
    tmp_path: Path, moto: MotoServer, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    druid = ServingDruid(round_trip=True)  # GET /task/{id} answers in Druid's notation
    desk = make_desk(tmp_path, moto.endpoint, bucket, fake=druid)
    task = desk.task()
    kill_at(monkeypatch, "submitted")
    with pytest.raises(Killed):
        desk.run(task)
    monkeypatch.undo()
    ended = desk.run(task)
    assert ended.state is TaskState.SUCCEEDED, ended.error_message
    assert druid.submits() == 2 and list(druid.tasks) == [ended.druid_task_id]
    desk.store.close()


def test_a_druid_id_reused_for_other_data_fails_at_once(
    tmp_path: Path, moto: MotoServer, bucket: str
) -> None:
    druid = ServingDruid(round_trip=True)
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    before = make_desk(tmp_path / "before", moto.endpoint, bucket, fake=druid)
    first = before.run(before.task())
    assert first.state is TaskState.SUCCEEDED, first.error_message
    # The task store is lost: an empty one, and the same file added again (allowed as a
    # duplicate), so its first Druid id comes round again with a new staging key.
    after = make_desk(tmp_path / "after", moto.endpoint, bucket, fake=druid)
    again = after.run(after.task(), PATIENT)
    assert again.druid_task_id == first.druid_task_id
    assert again.state is TaskState.FAILED
    assert states(after.store, again)[-2:] == [TaskState.SUBMITTING, TaskState.FAILED]
    message = again.error_message or ""
    assert f"Druid already has a task {first.druid_task_id} with a different spec" in message
    assert parse_s3_uri(first.s3_uri or "")[1] in message
    assert parse_s3_uri(again.s3_uri or "")[1] in message
    assert druid.tasks[first.druid_task_id]["statusCode"] == "SUCCESS"  # left as it was
    assert druid.rows == {"sales": 120}  # nothing ingested twice
    before.store.close()
    after.store.close()
