"""Open S3 multipart uploads under the staging prefix: whose task each serves, and aborting them."""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.domain.tasks import Task, TaskState
from app.services.settings import Settings
from app.services.storage import (
    OpenUpload,
    S3Config,
    S3Uploader,
    StorageError,
    make_client,
    object_key,
)
from app.services.storage.keys import normalise_prefix
from app.services.store import StoreError, TaskStore

log = logging.getLogger(__name__)

# Until its upload completes (s3_uri set), a task in these states may still send or resume parts.
_MAY_UPLOAD = frozenset(
    {TaskState.QUEUED, TaskState.VALIDATING, TaskState.NEEDS_REVIEW, TaskState.UPLOADING}
)


class UploadFate(enum.StrEnum):
    """What becomes of an open upload: only an abandoned one is aborted by a sweep."""

    IN_PROGRESS = "in progress"  # its task is on its way to (or in) the upload step
    RESUMABLE = "resumable"  # its task failed recently: a retry or a rerun resumes it
    UNKNOWN = "unknown"  # no task in this store knows it (another store sharing the prefix?)
    ABANDONED = "abandoned"  # nobody will resume it: aborting it only stops S3 billing its parts


@dataclass(frozen=True, slots=True)
class StagingUpload:
    """One open multipart upload under the prefix, and the task its key names."""

    key: str
    upload_id: str
    initiated: datetime | None
    task_id: str | None
    task_state: TaskState | None
    fate: UploadFate
    reason: str

    @property
    def open_upload(self) -> OpenUpload:
        return OpenUpload(self.key, self.upload_id, self.initiated)


@dataclass(frozen=True, slots=True)
class AbortedUpload:
    upload: StagingUpload
    problem: str | None = None  # why S3 refused the abort; None when it is gone


@dataclass(frozen=True, slots=True)
class UploadSurvey:
    """`doctor`'s look at the open uploads: a one-line verdict, a hint, one line per upload."""

    ok: bool
    message: str
    hint: str = ""
    lines: tuple[str, ...] = ()


def task_upload_folder(prefix: str, task: Task) -> str:
    """The folder all of a task's staging objects go to (see `object_key`), with a slash."""
    key = object_key(prefix, task.datasource, task.created_at.date(), task.id, task.sha256, "x")
    return key.rsplit("/", 1)[0] + "/"


def task_id_in(key: str, prefix: str) -> str | None:
    """The task id `object_key` put in `key` (`{prefix}/{datasource}/{day}/{task}/{file}`)."""
    head = normalise_prefix(prefix)
    if head and not key.startswith(f"{head}/"):
        return None
    segments = key[len(head) + 1 if head else 0 :].split("/")
    return segments[2] if len(segments) == 4 and segments[2] else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _ago(age: timedelta) -> str:
    return f"{age.days} day(s) ago" if age.days else "less than a day ago"


def fate_of(
    upload: OpenUpload, task: Task | None, now: datetime, keep_failed: timedelta
) -> tuple[UploadFate, str]:
    """Whether anyone will resume `upload`, and why (the rule the sweep and `doctor` share)."""
    now = _aware(now)
    if task is None:
        age = now - _aware(upload.initiated) if upload.initiated else None
        if age is not None and age > keep_failed:
            return UploadFate.ABANDONED, f"no task knows it; started {_ago(age)}"
        return UploadFate.UNKNOWN, "no task in this store knows it; kept until it is older"
    name = f"task {task.id[:8]}"
    if task.s3_uri is None and task.state in _MAY_UPLOAD:
        return UploadFate.IN_PROGRESS, f"{name} is {task.state}"
    if task.s3_uri is None and task.state is TaskState.FAILED:
        age = now - _aware(task.updated_at)
        if age <= keep_failed:
            return UploadFate.RESUMABLE, f"{name} failed {_ago(age)}: a retry resumes it"
        kept = f"longer than the {keep_failed.days} day(s) kept"
        return UploadFate.ABANDONED, f"{name} failed {_ago(age)}, {kept}"
    return UploadFate.ABANDONED, f"{name} is {task.state}: nothing will resume it"


def list_open_uploads(
    store: TaskStore | None, uploader: S3Uploader, keep_failed: timedelta
) -> tuple[StagingUpload, ...]:
    """Every open upload under the configured prefix, with its task's state and fate
    (`store` None: no task store to ask, so every upload is judged by its age alone)."""
    prefix = uploader.config.prefix
    head = normalise_prefix(prefix)
    listed = uploader.open_uploads(prefix=f"{head}/" if head else "")
    now = store.tasks.now() if store is not None else datetime.now(UTC)
    found: list[StagingUpload] = []
    tasks: dict[str, Task | None] = {}
    for upload in listed:
        task_id = task_id_in(upload.key, prefix)
        if task_id is not None and task_id not in tasks and store is not None:
            tasks[task_id] = store.tasks.find(task_id)
        task = tasks.get(task_id) if task_id is not None else None
        fate, reason = fate_of(upload, task, now, keep_failed)
        found.append(
            StagingUpload(
                upload.key, upload.upload_id, upload.initiated, task_id,
                task.state if task is not None else None, fate, reason,
            )
        )
    return tuple(found)


def abort_uploads(
    uploader: S3Uploader, uploads: Iterable[StagingUpload]
) -> tuple[AbortedUpload, ...]:
    done: list[AbortedUpload] = []
    for upload in uploads:
        try:
            uploader.abort(upload.open_upload)
        except StorageError as exc:
            done.append(AbortedUpload(upload, exc.user_message))
        else:
            done.append(AbortedUpload(upload))
    return tuple(done)


def abort_abandoned(
    store: TaskStore | None, uploader: S3Uploader, keep_failed: timedelta
) -> tuple[AbortedUpload, ...]:
    """Abort the open uploads nobody will resume; the others stay."""
    listed = list_open_uploads(store, uploader, keep_failed)
    return abort_uploads(uploader, [u for u in listed if u.fate is UploadFate.ABANDONED])


def abort_task_uploads(uploader: S3Uploader, task: Task) -> tuple[str, ...]:
    """Abort every open upload in the task's folder (a cancelled or removed task's);
    one sentence per upload, or one saying there was none."""
    try:
        listed = uploader.open_uploads(prefix=task_upload_folder(uploader.config.prefix, task))
    except StorageError as exc:
        return (f"Could not look for the task's open S3 upload: {exc.user_message}",)
    notes: list[str] = []
    for upload in listed:
        try:
            uploader.abort(upload)
        except StorageError as exc:
            notes.append(f"Could not abort the S3 upload {upload.key}: {exc.user_message}")
        else:
            notes.append(f"Aborted the S3 upload {upload.key}.")
    return tuple(notes) or ("No S3 upload was left open.",)


def sweep_in_background(
    store: TaskStore, uploader: S3Uploader, keep_failed: timedelta
) -> threading.Thread:
    """Abort abandoned uploads without holding up the desk or command that opens a session."""

    def sweep() -> None:
        try:
            aborted = abort_abandoned(store, uploader, keep_failed)
        except Exception as exc:  # noqa: BLE001 - a chore's failure must not end in a traceback
            # Not a task: the next session (or `doctor --abort-uploads`) tries again. The
            # session may also have closed the store under it.
            log.warning("could not sweep abandoned S3 uploads: %s", exc)
            return
        for item in aborted:
            log.info("abandoned S3 upload %s: %s", item.upload.key, item.problem or "aborted")

    thread = threading.Thread(target=sweep, name="upload-sweep", daemon=True)
    thread.start()
    return thread


def survey_uploads(settings: Settings, *, abort: bool = False) -> UploadSurvey:
    """`doctor`'s view: every open upload under the prefix with its fate; with `abort`, the
    abandoned ones aborted. Never raises for S3 or the store: says what went wrong."""
    if not settings.s3_bucket:
        return UploadSurvey(True, "No S3 bucket is configured: no uploads to look at.")
    keep = timedelta(days=settings.keep_failed_uploads_days)
    store = None
    try:
        store = _open_store(settings)
        config = S3Config.from_settings(settings)
        uploader = S3Uploader(make_client(config), config)
        listed = list_open_uploads(store, uploader, keep)
        abandoned = [u for u in listed if u.fate is UploadFate.ABANDONED]
        aborted = abort_uploads(uploader, abandoned) if abort else ()
    except StorageError as exc:
        return UploadSurvey(False, f"Cannot list open uploads: {exc}", exc.hint)
    except StoreError as exc:
        return UploadSurvey(False, f"Cannot read the uploads' tasks: {exc}")
    except Exception as exc:  # noqa: BLE001 - doctor reports every failure and goes on
        return UploadSurvey(False, f"Cannot look at the open uploads: {exc}")
    finally:
        if store is not None:
            store.close()
    return _survey(config, listed, aborted, abort)


def _open_store(settings: Settings) -> TaskStore | None:
    url = settings.effective_database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return None  # no embedded store yet: no tasks, and doctor must not create one
    return TaskStore.open(url, allow_upgrade=False)


def _survey(
    config: S3Config, listed: tuple[StagingUpload, ...], aborted: tuple[AbortedUpload, ...],
    abort: bool,
) -> UploadSurvey:
    where = f"s3://{config.bucket}/{normalise_prefix(config.prefix)}"
    if not listed:
        return UploadSurvey(True, f"No multipart upload is open under {where}.")
    outcome = {item.upload.upload_id: item.problem or "aborted" for item in aborted}
    lines = tuple(
        f"{u.key} [{u.fate}] {u.reason}"
        + (f" -> {outcome[u.upload_id]}" if u.upload_id in outcome else "")
        for u in listed
    )
    counts = {fate: sum(1 for u in listed if u.fate is fate) for fate in UploadFate}
    tally = ", ".join(f"{n} {fate}" for fate, n in counts.items() if n)
    done = sum(1 for problem in outcome.values() if problem == "aborted")
    message = f"{len(listed)} multipart upload(s) open under {where}: {tally}"
    message += f"; {done} aborted" if abort else ""
    left = counts[UploadFate.ABANDONED] - done
    if not left:
        return UploadSurvey(True, message, lines=lines)
    hint = "Run `ingest-desk doctor --abort-uploads` to abort the abandoned ones."
    if abort:
        hint = "S3 refused some aborts; check the credentials' s3:AbortMultipartUpload right."
    return UploadSurvey(False, message, hint, lines)
