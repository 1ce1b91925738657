"""What a cancelled task left outside the desk: an open multipart upload, a running Druid task."""

from __future__ import annotations

from app.domain.druid import DruidTaskState
from app.domain.tasks import Task, TaskState
from app.pipeline.open_uploads import abort_task_uploads
from app.pipeline.remote_connections import Connections
from app.services.druid import DruidError


def undo_outside(connections: Connections, task: Task) -> tuple[str, ...]:
    """`task` as it was just before the cancel; one sentence per thing undone (or not)."""
    notes: list[str] = []
    if upload_may_be_open(task):
        notes.extend(abort_task_uploads(connections.uploader, task))
    if task.druid_task_id and task.state in (TaskState.SUBMITTING, TaskState.INGESTING):
        notes.append(_shutdown(connections, task.druid_task_id))
    return tuple(notes)


def upload_may_be_open(task: Task) -> bool:
    """Whether the task may have left a multipart upload open: it started one (a retry keeps
    the failed attempt's id, for the resume) and never finished it."""
    return task.multipart_upload_id is not None and task.s3_uri is None


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
