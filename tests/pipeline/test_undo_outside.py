"""What a cancel undoes outside the desk (pipeline/steps/undo.py): the open multipart upload in
moto's S3, the Druid task on the fake Overlord, and a plain sentence when either cannot be."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from app.domain.store import NewTask
from app.domain.tasks import IngestMode, Task, TaskState
from app.pipeline.remote_connections import Connections
from app.pipeline.steps.undo import undo_outside
from app.services.druid import RetryPolicy
from app.services.storage import S3Uploader, make_client, object_key
from app.services.store import TaskStore
from tests.druid.fake import FakeDruid
from tests.storage.conftest import MotoServer, options, s3_config


@pytest.fixture
def fake() -> FakeDruid:
    return FakeDruid(running_reads_after_shutdown=0)


@pytest.fixture
def connections(moto: MotoServer, bucket: str, fake: FakeDruid) -> Connections:
    config = s3_config(moto.endpoint, bucket)
    return Connections(config, S3Uploader(make_client(config), config, options()), fake.client())


@pytest.fixture
def task(tmp_path: Path) -> Iterator[Task]:
    with TaskStore.open(f"sqlite:///{tmp_path / 'tasks.sqlite3'}") as store:
        client = store.clients.register()
        yield store.tasks.create(
            NewTask("s.csv", 10, "a" * 64, client.id, "sales", IngestMode.APPEND)
        )


def open_upload(connections: Connections, key: str) -> str:
    client = connections.uploader.client
    answer = client.create_multipart_upload(Bucket=connections.s3.bucket, Key=key)
    return str(answer["UploadId"])


def task_key(connections: Connections, task: Task) -> str:
    """Where the upload step puts the task's staged file."""
    return object_key(connections.s3.prefix, task.datasource, task.created_at.date(), task.id,
                      task.sha256, "ndjson.gz")


def test_an_uploading_task_has_its_open_upload_aborted(
    connections: Connections, task: Task
) -> None:
    key = task_key(connections, task)
    upload_id = open_upload(connections, key)
    uploading = replace(task, state=TaskState.UPLOADING, multipart_upload_id=upload_id)
    assert undo_outside(connections, uploading) == (f"Aborted the S3 upload {key}.",)
    assert connections.uploader.open_uploads() == ()


def test_an_upload_already_gone_is_said_so(connections: Connections, task: Task) -> None:
    other = open_upload(connections, f"{connections.s3.prefix}/sales/other.csv.gz")
    uploading = replace(task, state=TaskState.UPLOADING, multipart_upload_id="no-such-upload")
    assert undo_outside(connections, uploading) == ("No S3 upload was left open.",)
    assert [u.upload_id for u in connections.uploader.open_uploads()] == [other]  # untouched


def test_an_unreachable_s3_gives_a_sentence_not_an_exception(
    moto: MotoServer, fake: FakeDruid, task: Task
) -> None:
    config = s3_config("http://127.0.0.1:9", "nowhere", connect_timeout_s=0.5)
    dead = Connections(config, S3Uploader(make_client(config), config, options()), fake.client())
    uploading = replace(task, state=TaskState.UPLOADING, multipart_upload_id="u1")
    (note,) = undo_outside(dead, uploading)
    assert note.startswith("Could not ") and "S3 upload" in note, note


def test_an_uploaded_task_leaves_s3_alone(connections: Connections, task: Task) -> None:
    key = task_key(connections, task)
    upload_id = open_upload(connections, key)
    done = replace(task, state=TaskState.UPLOADING, multipart_upload_id=upload_id,
                   s3_uri=f"s3://{connections.s3.bucket}/{key}")
    assert undo_outside(connections, done) == ()
    assert len(connections.uploader.open_uploads()) == 1


@pytest.mark.parametrize(
    ("druid_state", "sentence"),
    [
        ("RUNNING", "Druid task d1 was shut down (FAILED)."),
        ("SUCCESS", "Druid task d1 had already succeeded: its rows are in Druid."),
        (None, "Druid does not know task d1: nothing was running."),
    ],
)
def test_an_ingesting_task_has_its_druid_task_shut_down(
    connections: Connections, fake: FakeDruid, task: Task, druid_state: str | None,
    sentence: str,
) -> None:
    if druid_state is not None:
        fake.add_task("d1", druid_state)
    ingesting = replace(task, state=TaskState.INGESTING, druid_task_id="d1")
    assert undo_outside(connections, ingesting) == (sentence,)
    assert "POST /druid/indexer/v1/task/d1/shutdown" in fake.paths()


def test_a_druid_that_refuses_the_shutdown_gives_a_sentence(
    moto: MotoServer, bucket: str, fake: FakeDruid, task: Task
) -> None:
    fake.add_task("d1")
    fake.inject("/druid/indexer/v1/task/d1/shutdown", httpx.Response(403, text="Forbidden"))
    config = s3_config(moto.endpoint, bucket)
    connections = Connections(
        config, S3Uploader(make_client(config), config, options()),
        fake.client(retry=RetryPolicy(attempts=1)),
    )
    submitting = replace(task, state=TaskState.SUBMITTING, druid_task_id="d1")
    (note,) = undo_outside(connections, submitting)
    assert note.startswith("Could not shut down Druid task d1: ")
    assert fake.tasks["d1"]["statusCode"] == "RUNNING"


def test_a_finished_task_undoes_nothing(connections: Connections, fake: FakeDruid,
                                        task: Task) -> None:
    fake.add_task("d1", "SUCCESS")
    verifying = replace(task, state=TaskState.VERIFYING, druid_task_id="d1")
    assert undo_outside(connections, verifying) == ()
    assert fake.paths() == []
