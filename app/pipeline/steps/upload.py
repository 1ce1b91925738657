"""Uploading the staged parts to S3, then recording the spec and the verification plan."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, replace

from app.domain.store import EventKind, TaskPatch
from app.domain.tasks import IngestMode, Task, TaskState, VerifyPlan
from app.domain.transfer import UploadProgress, UploadResult, UploadState
from app.domain.validation import StagingPart, StagingResult
from app.pipeline.moves import TaskMoves
from app.pipeline.remote_connections import Connections
from app.pipeline.staged import pause_at
from app.pipeline.steps.base import Job, StepOutcome, TransferProgress
from app.pipeline.steps.remote_errors import RemoteStep
from app.pipeline.steps.verify import count_rows
from app.services.druid import aligned_interval, build_spec
from app.services.druid.granularity import choose_granularity
from app.services.storage import OpenUpload, object_key, part_size_for

_PROGRESS_WRITE_S = 0.5  # other clients see upload progress through the store; bounded writes
_UPLOAD_TICK_S = 0.25  # the window repaints on a timer; more ticks would be wasted


def druid_attempt(task: Task, retries: int, earlier_ids: bool) -> int:
    """0 for a file's first ingestion (the spec builder's content-derived id); a deliberate
    re-ingestion or retry gets its own deterministic suffix so Druid does not answer "already
    exists" for a task that ran before."""
    if retries == 0 and not earlier_ids:
        return 0
    digest = hashlib.sha256(f"{task.id}:{retries}".encode()).hexdigest()
    return 1 + int(digest[:6], 16)


@dataclass(frozen=True, slots=True)
class _Uploaded:
    uris: tuple[str, ...]
    bytes: int
    last: UploadResult


class UploadStep(RemoteStep):
    """Each part goes up as a resumable multipart upload whose id the task row keeps."""

    name = "upload"

    def _run(self, task: Task, job: Job) -> StepOutcome:
        staging = job.carry.staging
        assert staging is not None, "the stage step runs first"
        sent = _PartSender(self._moves, self._conn, task, staging, job).send_all()
        self._conn.index.record(task.datasource, task.sha256, sent.last, task_id=task.id)
        ended = self._to_submitting(task, staging, sent, job)
        return StepOutcome(ended, f"Uploaded; Druid task {ended.druid_task_id}.", job.carry)

    def _to_submitting(
        self, task: Task, staging: StagingResult, sent: _Uploaded, job: Job
    ) -> Task:
        retries = sum(1 for e in self._store.tasks.history(task.id) if e.kind is EventKind.RETRIED)
        earlier = any(
            t.druid_task_id and t.sha256 == task.sha256 and t.mode is task.mode
            for t in self._store.tasks.list_tasks(datasource=task.datasource)
            if t.id != task.id
        )
        segments = choose_granularity(
            self._conn.druid, task.datasource, staging.min_time_ms or 0,
            staging.max_time_ms or 0, staging.rows, job.options.segment_granularity,
        )
        options = replace(job.options.spec, segment_granularity=segments.granularity)
        # One staging object gives Druid one split: a parallel supervisor would only hold a
        # worker slot while waiting for a subtask slot, and two such supervisors on a small
        # cluster (two slots) wait for each other forever. Sequential mode does the work itself.
        # Several parts are what parallel subtasks are for: one part each, up to the limit.
        if len(sent.uris) == 1:
            options = replace(options, max_concurrent_subtasks=1)
        spec = build_spec(
            task.datasource, staging, list(sent.uris), task.mode, options,
            attempt=druid_attempt(task, retries, earlier),
        )
        interval = spec.interval or aligned_interval(
            staging.min_time_ms or 0, staging.max_time_ms or 0, options.segment_granularity
        )
        baseline = 0
        if task.mode is IngestMode.APPEND:
            baseline = count_rows(self._conn.druid, task.datasource, interval)
        plan = VerifyPlan(interval, baseline, staging.rows)
        # The Druid id, the spec and the plan are recorded before the submit: a rerun (here or
        # on a desk that adopts the task) re-submits the same id, and Druid's "already exists"
        # keeps it to one ingestion.
        current = self._store.tasks.get(task.id)
        return self._moves.move(
            current,
            TaskState.SUBMITTING,
            f"uploaded {', '.join(sent.uris)} ({sent.bytes:,} bytes); Druid task {spec.task_id}; "
            f"segments {segments.reason}",
            # The task row names the first part; the spec (and the history) name them all.
            TaskPatch(
                s3_uri=sent.uris[0], druid_task_id=spec.task_id, progress=1.0,
                verify_plan=plan, druid_spec=spec.body,
            ),
        )


def _upload_to_resume(listed: list[OpenUpload], recorded: str | None) -> OpenUpload | None:
    """Which open upload on a part's key to go on with (the caller aborts the others).

    The key belongs to this task and part alone, so whatever is open on it is this task's own
    earlier attempt: the one the row records, else (a retry clears the row) the latest
    started. The others were started by runs killed before they could record theirs.
    """
    for upload in listed:
        if upload.upload_id == recorded:
            return upload
    latest = sorted(listed, key=lambda u: u.initiated.timestamp() if u.initiated else 0.0)
    return latest[-1] if latest else None


class _PartSender:
    """One run's upload of a task's parts, with progress for this desk and the store."""

    def __init__(
        self,
        moves: TaskMoves,
        connections: Connections,
        task: Task,
        staging: StagingResult,
        job: Job,
    ) -> None:
        self._moves = moves
        self._conn = connections
        self._task = task
        self._staging = staging
        self._job = job
        self._stop = threading.Event()
        self._recorded = task.multipart_upload_id
        self._last_write = self._last_tick = 0.0
        self._done_bytes = 0
        self._part_bytes = 0

    def send_all(self) -> _Uploaded:
        parts = self._staging.files
        suffix = self._staging.format
        extensions = [
            suffix if len(parts) == 1 else f"{number:04d}.{suffix}"
            for number in range(1, len(parts) + 1)
        ]
        self._abort_strays(extensions)
        uris: list[str] = []
        total = 0
        last: UploadResult | None = None
        for part, extension in zip(parts, extensions, strict=True):
            last = self._send(part, extension)
            uris.append(last.uri)
            total += last.bytes
            self._done_bytes += part.bytes
        assert last is not None, "a staging result has at least one part"
        return _Uploaded(tuple(uris), total, last)

    def _abort_strays(self, extensions: list[str]) -> None:
        """Open uploads in the task's folder on keys this run does not write (another staging
        format's, e.g. .gz from before the .zst default, or another split into parts) will never
        be resumed: abort them. Those on this run's keys are left to `_send`."""
        task, uploader, config = self._task, self._conn.uploader, self._conn.s3
        keys = {
            object_key(config.prefix, task.datasource, task.created_at.date(), task.id,
                       task.sha256, extension)
            for extension in extensions
        }
        folder = next(iter(keys)).rsplit("/", 1)[0] + "/"
        for upload in uploader.open_uploads(prefix=folder):
            if upload.key not in keys:
                uploader.abort(upload)

    def _send(self, part: StagingPart, extension: str) -> UploadResult:
        task, uploader, config = self._task, self._conn.uploader, self._conn.s3
        key = object_key(
            config.prefix, task.datasource, task.created_at.date(), task.id, task.sha256,
            extension,
        )
        resume = None
        listed = [u for u in uploader.open_uploads(prefix=key) if u.key == key]
        chosen = _upload_to_resume(listed, self._recorded)
        for upload in listed:
            if upload is not chosen:
                uploader.abort(upload)
        if chosen is not None:
            # ListParts and the file prove which parts S3 holds; the rest are sent.
            resume = UploadState(
                config.bucket, key, chosen.upload_id,
                part_size_for(part.bytes, uploader.options.part_size), part.bytes,
                uploader.options.checksum_algorithm,
            )
        self._part_bytes = part.bytes
        # A part finished by an earlier run is recognised by its hash and not sent again.
        return uploader.upload_file(
            part.path, key, sha256=part.sha256, resume=resume, on_state=self._on_state,
            on_progress=self._on_progress,
            cancel=lambda: self._stop.is_set() or self._job.cancelled(),
        )

    def _on_state(self, state: UploadState) -> None:
        if state.upload_id != self._recorded:
            self._record(TaskPatch(multipart_upload_id=state.upload_id))
            self._recorded = state.upload_id
            pause_at("uploading")

    def _on_progress(self, tick: UploadProgress) -> None:
        now = time.monotonic()
        on_upload = self._job.on_upload
        due = now - self._last_tick >= _UPLOAD_TICK_S or tick.fraction >= 1
        if on_upload is not None and due:
            self._last_tick = now
            on_upload(TransferProgress(self._task.id, self._whole_file(tick)))
        if now - self._last_write >= _PROGRESS_WRITE_S:
            self._last_write = now
            done = self._done_bytes + tick.fraction * self._part_bytes
            self._record(TaskPatch(progress=done / max(1, self._staging.bytes)))

    def _record(self, patch: TaskPatch) -> None:
        if self._moves.record(self._task.id, patch, TaskState.UPLOADING) is None:
            self._stop.set()  # cancelled elsewhere: the uploader aborts between parts

    def _whole_file(self, tick: UploadProgress) -> UploadProgress:
        """One part's tick seen as progress through all the task's parts."""
        total = self._staging.bytes
        sent = self._done_bytes + tick.bytes_sent
        speed = tick.bytes_per_second
        eta = (total - sent) / speed if speed else None
        return UploadProgress(
            sent, total, tick.parts_done, tick.parts_total, speed,
            None if eta is None else max(0.0, eta),
        )
