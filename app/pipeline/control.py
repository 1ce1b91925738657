"""Operator actions on any task: cancel (aborting its upload or Druid task), retry, find, resume."""

from __future__ import annotations

import getpass
import logging
import socket
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from app.domain.druid import DruidTaskState
from app.domain.store import ClientInfo, TaskPatch
from app.domain.tasks import RETRYABLE_STATES, IngestMode, Task, TaskState
from app.services.druid import DruidError
from app.services.storage import OpenUpload, StorageError, parse_s3_uri
from app.services.store import ClientNotFoundError, LostRaceError, TaskStore

if TYPE_CHECKING:
    from app.pipeline.ingest import Connections

log = logging.getLogger(__name__)

_CLI_NAMESPACE = uuid.UUID("8d3f6a52-3c1e-4b8e-9a43-2f5a0f6c1d77")


def command_line_client(store: TaskStore) -> ClientInfo:
    """The command line's client identity: the same for every run by this user on this host, so
    a rerun after a kill owns (and can resume) the tasks the killed run created."""
    user, host = getpass.getuser(), socket.gethostname()
    client_id = str(uuid.uuid5(_CLI_NAMESPACE, f"cli:{user}@{host}"))
    try:
        store.clients.heartbeat(client_id)
        return store.clients.get(client_id)
    except ClientNotFoundError:
        pass
    try:
        return store.clients.register(user=user, host=host, client_id=client_id)
    except IntegrityError:
        return store.clients.get(client_id)  # a concurrent run registered it first


def find_resumable(
    store: TaskStore, datasource: str, sha256: str, mode: IngestMode, client_id: str
) -> Task | None:
    """The unfinished task this client made for this content, datasource and mode, if an
    earlier run left one (killed, or stopped after submit without --wait)."""
    for task in store.tasks.list_tasks(datasource=datasource):
        if (
            task.sha256 == sha256
            and task.mode is mode
            and task.source_client == client_id
            and not task.state.is_terminal
        ):
            return task
    return None


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    task: Task
    notes: tuple[str, ...]


def cancel_task(
    store: TaskStore,
    client_id: str,
    task_id: str,
    connections: Connections | None,
    message: str = "Cancelled by the user.",
) -> CancelOutcome:
    """Mark the task cancelled first (so a running worker's next write loses the race and stops),
    then undo what it left outside: the open multipart upload, the running Druid task."""
    notes: list[str] = []
    task = store.tasks.get(task_id)
    for _ in range(5):
        if task.state.is_terminal:
            return CancelOutcome(task, (f"Task is already {task.state}.",))
        try:
            cancelled = store.tasks.transition(
                task.id,
                TaskState.CANCELLED,
                expected_state=task.state,
                expected_version=task.version,
                by_client=client_id,
                message=message,
                patch=TaskPatch(validation_summary=message),
            )
            break
        except LostRaceError as race:
            task = race.current or store.tasks.get(task_id)
    else:
        raise LostRaceError(task_id, "a state to cancel from", task)
    if connections is None:
        return CancelOutcome(cancelled, ("S3 and Druid are not configured: nothing to undo.",))
    if task.multipart_upload_id and task.state is TaskState.UPLOADING and task.s3_uri is None:
        notes.append(_abort_upload(connections, task))
    if task.druid_task_id and task.state in (TaskState.SUBMITTING, TaskState.INGESTING):
        notes.append(_shutdown(connections, task.druid_task_id))
    return CancelOutcome(cancelled, tuple(notes))


def _abort_upload(connections: Connections, task: Task) -> str:
    assert task.multipart_upload_id is not None
    uploader = connections.uploader
    try:
        for upload in uploader.open_uploads():
            if upload.upload_id == task.multipart_upload_id:
                uploader.abort(upload)
                return f"Aborted the S3 upload {upload.key}."
    except StorageError as exc:
        return f"Could not abort the S3 upload: {exc.user_message}"
    return "No S3 upload was left open."


def _shutdown(connections: Connections, druid_task_id: str) -> str:
    try:
        status = connections.druid.cancel(druid_task_id)
    except DruidError as exc:
        return f"Could not shut down Druid task {druid_task_id}: {exc}"
    if status.state is DruidTaskState.SUCCESS:
        return f"Druid task {druid_task_id} had already succeeded: its rows are in Druid."
    if status.state is DruidTaskState.UNKNOWN:
        return f"Druid does not know task {druid_task_id}: nothing was running."
    return f"Druid task {druid_task_id} was shut down ({status.state})."


def retry_task(store: TaskStore, client_id: str, task_id: str) -> Task:
    """Back to the queue for a fresh attempt (failed, cancelled or invalid tasks only)."""
    task = store.tasks.get(task_id)
    if task.state not in RETRYABLE_STATES:
        raise ValueError(
            f"Task {task_id[:8]} is {task.state}; only failed, cancelled or invalid tasks can be "
            "retried."
        )
    return store.tasks.retry(
        task_id,
        expected_state=task.state,
        expected_version=task.version,
        by_client=client_id,
        message="retried from the command line",
    )


def find_task(store: TaskStore, prefix: str) -> Task:
    """A task by its id or a unique prefix of it (the CLI shows eight characters)."""
    exact = store.tasks.find(prefix)
    if exact is not None:
        return exact
    matches = [t for t in store.tasks.list_tasks() if t.id.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise LookupError(f"No task id starts with {prefix!r}.")
    raise LookupError(f"{len(matches)} tasks start with {prefix!r}; give more characters.")


def open_uploads_for(connections: Connections, task: Task) -> tuple[OpenUpload, ...]:
    """Multipart uploads still open under the task's object key (tests and `doctor`)."""
    if task.s3_uri is None:
        return ()
    _bucket, key = parse_s3_uri(task.s3_uri)
    return connections.uploader.open_uploads(prefix=key)
