"""What a cancelled task left outside the desk: an open multipart upload, a running Druid task."""

from __future__ import annotations

from app.domain.druid import DruidTaskState
from app.domain.tasks import Task, TaskState
from app.pipeline.remote_connections import Connections
from app.services.druid import DruidError
from app.services.storage import StorageError


def undo_outside(connections: Connections, task: Task) -> tuple[str, ...]:
    """`task` as it was just before the cancel; one sentence per thing undone (or not)."""
    notes: list[str] = []
    if task.multipart_upload_id and task.state is TaskState.UPLOADING and task.s3_uri is None:
        notes.append(_abort_upload(connections, task.multipart_upload_id))
    if task.druid_task_id and task.state in (TaskState.SUBMITTING, TaskState.INGESTING):
        notes.append(_shutdown(connections, task.druid_task_id))
    return tuple(notes)


def _abort_upload(connections: Connections, upload_id: str) -> str:
    uploader = connections.uploader
    try:
        for upload in uploader.open_uploads():
            if upload.upload_id == upload_id:
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
