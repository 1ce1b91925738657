"""Drive one task from its source file to rows confirmed in Druid; each step resumes if killed."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.domain.store import EventKind, TaskPatch
from app.domain.tasks import IngestMode, Task, TaskState
from app.domain.transfer import UploadProgress, UploadState
from app.domain.validation import StagingResult, ValidationReport
from app.pipeline.choices import read_options, task_choices, validate_options
from app.pipeline.remote import RemoteSteps, StepStopped, VerifyPlan, count_rows, plan_for
from app.pipeline.staged import TaskFiles, default_work_dir, pause_at
from app.pipeline.validation_step import CancelCheck, ProgressCallback, ValidationStep
from app.services.druid import (
    DruidClient,
    DruidError,
    SpecOptions,
    aligned_interval,
    build_spec,
    detect_drift,
)
from app.services.reading import ReadOptions
from app.services.settings import Settings
from app.services.storage import (
    S3Config,
    S3Uploader,
    StorageError,
    UploadCancelledError,
    UploadIndex,
    UploadOptions,
    make_client,
    object_key,
    part_size_for,
)
from app.services.store import LostRaceError, TaskStore
from app.services.validation import ValidateOptions

log = logging.getLogger(__name__)

UploadCallback = Callable[[UploadProgress], None]

_PROGRESS_WRITE_S = 0.5  # other clients see upload progress through the store; bounded writes
# Past the upload: the content is on its way into Druid (a second task would add it twice).
_IN_DRUID = frozenset({TaskState.SUBMITTING, TaskState.INGESTING, TaskState.VERIFYING})
_UPLOAD_TICK_S = 0.25  # the window repaints on a timer; more ticks would be wasted
_MAX_STEPS = 20  # a task has at most eight states to pass; more means two clients fight over it


@dataclass(frozen=True, slots=True)
class IngestOptions:
    read: ReadOptions | None = None
    validate: ValidateOptions | None = None
    allow_duplicate: bool = False
    allow_drift: bool = False
    # False stops once Druid accepted the task: ingesting and verifying are adoptable by any
    # desk, and a later `ingest --wait` of the same file picks them up.
    wait: bool = True
    # True returns as soon as the file is validated and staged (the task is then uploading):
    # the window validates on a few CPU-bound workers and carries on on I/O-bound ones.
    stop_when_staged: bool = False
    spec: SpecOptions = field(default_factory=SpecOptions)
    upload: UploadOptions = field(default_factory=UploadOptions)
    poll_interval_s: float = 1.0
    ingest_timeout_s: float = 3600.0
    verify_timeout_s: float = 300.0


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """Where the run left the task, in one sentence for the user."""

    task: Task
    message: str
    report: ValidationReport | None = None
    staging: StagingResult | None = None


class Connections:
    """The S3 and Druid clients one desk uses for every task."""

    def __init__(self, s3: S3Config, uploader: S3Uploader, druid: DruidClient) -> None:
        self.s3 = s3
        self.uploader = uploader
        self.index = UploadIndex(uploader.client, s3)
        self.druid = druid

    @classmethod
    def from_settings(
        cls, settings: Settings, upload: UploadOptions | None = None
    ) -> Connections:
        config = S3Config.from_settings(settings)
        uploader = S3Uploader(make_client(config), config, upload)
        return cls(config, uploader, DruidClient.from_settings(settings))

    def close(self) -> None:
        self.druid.close()


def druid_attempt(task: Task, retries: int, earlier_ids: bool) -> int:
    """0 for a file's first ingestion (the spec builder's content-derived id); a deliberate
    re-ingestion or retry gets its own deterministic suffix so Druid does not answer "already
    exists" for a task that ran before."""
    if retries == 0 and not earlier_ids:
        return 0
    digest = hashlib.sha256(f"{task.id}:{retries}".encode()).hexdigest()
    return 1 + int(digest[:6], 16)


class IngestPipeline:
    """One desk's driver: takes a task from whatever state it is in to the end (or a pause)."""

    def __init__(
        self,
        store: TaskStore,
        client_id: str,
        settings: Settings,
        connections: Connections,
        *,
        work_dir: Path | None = None,
    ) -> None:
        self._store = store
        self._client_id = client_id
        self._settings = settings
        self._conn = connections
        self._work_dir = work_dir or default_work_dir()
        self._validation = ValidationStep(store, client_id, settings)

    # -- checks ---------------------------------------------------------------------------

    def find_duplicate(
        self, datasource: str, sha256: str, task_id: str | None = None
    ) -> str | None:
        """A sentence when this content already went (or is going) into `datasource`, else None."""
        for other in self._store.tasks.list_tasks(states=_IN_DRUID, datasource=datasource):
            if other.sha256 == sha256 and other.id != task_id:
                return (
                    f"This file is being ingested into {datasource} right now by task "
                    f"{other.id[:8]} ({other.file_name}, {other.state})."
                )
        for other in self._store.tasks.list_tasks(
            states={TaskState.SUCCEEDED}, datasource=datasource
        ):
            if other.sha256 == sha256 and other.id != task_id:
                when = other.finished_at.strftime("%Y-%m-%d %H:%M") if other.finished_at else "?"
                return (
                    f"This file was already ingested into {datasource} by task {other.id[:8]} "
                    f"({other.file_name}, {when} UTC)."
                )
        previous = self._conn.index.find(datasource, sha256)
        if previous is None or (previous.task_id is not None and previous.task_id == task_id):
            return None
        known = self._store.tasks.find(previous.task_id) if previous.task_id else None
        if known is not None:
            return None  # the store knows that upload's task, and it did not succeed
        return (
            f"This file was already uploaded for {datasource} ({previous.uri or 'details lost'}) "
            "by a desk using another task database."
        )

    # -- the driver -----------------------------------------------------------------------

    def run(
        self,
        task: Task,
        path: Path | None,
        options: IngestOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancelled: CancelCheck | None = None,
        on_upload: UploadCallback | None = None,
    ) -> IngestOutcome:
        """`on_upload` hears this desk's upload (bytes, speed, ETA) a few times a second."""
        options = options or IngestOptions()
        is_cancelled = cancelled or (lambda: False)
        remote = RemoteSteps(
            self._store,
            self._client_id,
            self._conn.druid,
            poll_interval_s=options.poll_interval_s,
            ingest_timeout_s=options.ingest_timeout_s,
            verify_timeout_s=options.verify_timeout_s,
        )
        report: ValidationReport | None = None
        staging: StagingResult | None = None
        for _ in range(_MAX_STEPS):
            task = self._store.tasks.get(task.id)
            state = task.state
            if state.is_terminal:
                return IngestOutcome(task, _final_message(task), report, staging)
            if is_cancelled():
                return IngestOutcome(self._cancelled(task), "Cancelled.", report, staging)
            source_bound = state.needs_source_file or state is TaskState.NEEDS_REVIEW
            if source_bound and path is None:
                return IngestOutcome(
                    task, "Only the desk holding the source file can go on.", report, staging
                )
            try:
                if state in (TaskState.QUEUED, TaskState.VALIDATING, TaskState.NEEDS_REVIEW):
                    assert path is not None
                    # Asked before reading the file: an unreachable S3 fails the task here, with
                    # S3's own explanation, instead of after a long validation.
                    duplicate = None
                    if not options.allow_duplicate:
                        duplicate = self.find_duplicate(task.datasource, task.sha256, task.id)
                    gate = _Gate(self, task, options, duplicate)
                    result, _bad = self._validation.run(
                        task,
                        path,
                        progress=progress,
                        cancelled=is_cancelled,
                        read_options=options.read,
                        validate_options=options.validate,
                        stage_dir=TaskFiles.for_task(self._work_dir, task.id).folder,
                        gate=gate,
                    )
                    report, staging = result.report, result.staging
                    if gate.error is not None:
                        raise gate.error
                    if result.task.state is not TaskState.UPLOADING:
                        return IngestOutcome(result.task, result.message, report, staging)
                    assert staging is not None
                    TaskFiles.for_task(self._work_dir, task.id).save_staging(staging)
                    if options.stop_when_staged:
                        return IngestOutcome(result.task, result.message, report, staging)
                elif state is TaskState.UPLOADING:
                    assert path is not None
                    staging = staging or self._restage(task, path, options)
                    self._upload(task, staging, options, is_cancelled, on_upload)
                elif state is TaskState.SUBMITTING:
                    remote.submit(task, TaskFiles.for_task(self._work_dir, task.id).load_spec())
                elif state is TaskState.INGESTING:
                    if not options.wait:
                        return IngestOutcome(
                            task, f"Submitted as Druid task {task.druid_task_id}.", report, staging
                        )
                    remote.follow(task, is_cancelled)
                else:  # verifying
                    plan = plan_for(self._store, task)
                    expected = plan.rows if plan else (task.rows_validated or 0)
                    remote.verify(task, plan, expected, is_cancelled)
            except (StepStopped, LostRaceError) as stop:
                log.info("task %s: step stopped: %s", task.id, stop)
                if is_cancelled():
                    return IngestOutcome(self._cancelled(task), "Cancelled.", report, staging)
            except UploadCancelledError:
                return IngestOutcome(self._cancelled(task), "Cancelled.", report, staging)
            except StorageError as exc:
                return IngestOutcome(self._fail(task, exc.user_message), exc.user_message)
            except DruidError as exc:
                return IngestOutcome(self._fail(task, str(exc)), str(exc), report, staging)
        task = self._store.tasks.get(task.id)
        return IngestOutcome(task, f"Stopped in {task.state}: other clients keep moving it.")

    # -- steps ----------------------------------------------------------------------------

    def _restage(self, task: Task, path: Path, options: IngestOptions) -> StagingResult:
        """The staged file from an earlier run, or the same file made again (deterministic)."""
        # Polars and PyArrow load with the first file: a desk's session builds this pipeline.
        from app.services.reading import open_source  # noqa: PLC0415
        from app.services.staging import StagingOptions, validate_and_stage  # noqa: PLC0415

        files = TaskFiles.for_task(self._work_dir, task.id)
        found = files.load_staging()
        if found is not None:
            return found
        settings = self._settings
        # Without the run's options, the same defaults the validation step used when it staged.
        own = task_choices(task)
        read = options.read or read_options(own, settings)
        validate = options.validate or validate_options(own, settings)
        source = open_source(path, read)
        try:
            _outcome, staging = validate_and_stage(
                source, validate, files.folder, task.id, StagingOptions.from_settings(settings)
            )
        finally:
            source.close()
        if staging is None:
            raise StorageError(f"{path.name} no longer validates; it cannot be uploaded.")
        files.save_staging(staging)
        return staging

    def _upload(
        self,
        task: Task,
        staging: StagingResult,
        options: IngestOptions,
        cancelled: CancelCheck,
        on_upload: UploadCallback | None = None,
    ) -> Task:
        uploader = self._conn.uploader
        config = self._conn.s3
        parts = staging.files
        stop = threading.Event()
        recorded = task.multipart_upload_id
        last_write = last_tick = 0.0
        done_bytes = 0

        def on_state(state: UploadState) -> None:
            nonlocal recorded
            if state.upload_id != recorded:
                self._record(task, TaskPatch(multipart_upload_id=state.upload_id), stop)
                recorded = state.upload_id
                pause_at("uploading")

        def on_progress(tick: UploadProgress) -> None:
            nonlocal last_write, last_tick
            now = time.monotonic()
            if on_upload is not None and (now - last_tick >= _UPLOAD_TICK_S or tick.fraction >= 1):
                last_tick = now
                on_upload(_whole_file(tick, done_bytes, staging.bytes))
            if now - last_write >= _PROGRESS_WRITE_S:
                last_write = now
                fraction = (done_bytes + tick.fraction * part.bytes) / max(1, staging.bytes)
                self._record(task, TaskPatch(progress=fraction), stop)

        uris: list[str] = []
        total_bytes = 0
        for index, part in enumerate(parts):
            extension = staging.format if len(parts) == 1 else f"{index + 1:04d}.{staging.format}"
            key = object_key(
                config.prefix, task.datasource, task.created_at.date(), task.id, task.sha256,
                extension,
            )
            # The row keeps one upload id: the part that was in flight. Other open uploads on
            # this key were started by a run killed before it could record theirs: orphans.
            resume = None
            for upload in uploader.open_uploads(prefix=key):
                if upload.key != key:
                    continue
                if upload.upload_id == task.multipart_upload_id:
                    # Rebuilt from the row: ListParts and the file prove which parts S3 holds.
                    resume = UploadState(
                        config.bucket, key, upload.upload_id,
                        part_size_for(part.bytes, uploader.options.part_size), part.bytes,
                        uploader.options.checksum_algorithm,
                    )
                else:
                    uploader.abort(upload)
            # A part finished by an earlier run is recognised by its hash and not sent again.
            result = uploader.upload_file(
                part.path, key, sha256=part.sha256, resume=resume, on_state=on_state,
                on_progress=on_progress, cancel=lambda: stop.is_set() or cancelled(),
            )
            uris.append(result.uri)
            total_bytes += result.bytes
            done_bytes += part.bytes
        self._conn.index.record(task.datasource, task.sha256, result, task_id=task.id)
        retries = sum(1 for e in self._store.tasks.history(task.id) if e.kind is EventKind.RETRIED)
        earlier = any(
            t.druid_task_id and t.sha256 == task.sha256 and t.mode is task.mode
            for t in self._store.tasks.list_tasks(datasource=task.datasource)
            if t.id != task.id
        )
        # One staging object gives Druid one split: a parallel supervisor would only hold a
        # worker slot while waiting for a subtask slot, and two such supervisors on a small
        # cluster (two slots) wait for each other forever. Sequential mode does the work itself.
        # Several parts are what parallel subtasks are for: one part each, up to the limit.
        spec_options = (
            replace(options.spec, max_concurrent_subtasks=1) if len(uris) == 1 else options.spec
        )
        spec = build_spec(
            task.datasource, staging, uris, task.mode, spec_options,
            attempt=druid_attempt(task, retries, earlier),
        )
        interval = spec.interval or aligned_interval(
            staging.min_time_ms or 0, staging.max_time_ms or 0, options.spec.segment_granularity
        )
        baseline = 0
        if task.mode is IngestMode.APPEND:
            baseline = count_rows(self._conn.druid, task.datasource, interval)
        plan = VerifyPlan(interval, baseline, staging.rows)
        TaskFiles.for_task(self._work_dir, task.id).save_spec(spec.body)
        # The Druid id is recorded before the submit, so a rerun re-submits the same id and
        # Druid's "already exists" keeps it to one ingestion.
        current = self._store.tasks.get(task.id)
        return self._store.tasks.transition(
            task.id,
            TaskState.SUBMITTING,
            expected_state=TaskState.UPLOADING,
            expected_version=current.version,
            by_client=self._client_id,
            message=f"uploaded {', '.join(uris)} ({total_bytes:,} bytes); Druid task "
            f"{spec.task_id}; {plan.message()}",
            # The task row names the first part; the spec (and the history) name them all.
            patch=TaskPatch(s3_uri=uris[0], druid_task_id=spec.task_id, progress=1.0),
        )

    def _record(self, task: Task, patch: TaskPatch, stop: threading.Event) -> None:
        try:
            self._store.tasks.update(
                task.id, patch, expected_state=TaskState.UPLOADING, owner=self._client_id
            )
        except LostRaceError:
            stop.set()  # cancelled elsewhere: the uploader aborts between parts

    def _cancelled(self, task: Task) -> Task:
        from app.pipeline.control import cancel_task  # noqa: PLC0415 - control imports us

        return cancel_task(
            self._store, self._client_id, task.id, self._conn, "Cancelled by the user."
        ).task

    def _fail(self, task: Task, message: str) -> Task:
        latest = self._store.tasks.get(task.id)
        if latest.state.is_terminal:
            return latest
        try:
            return self._store.tasks.transition(
                task.id,
                TaskState.FAILED,
                expected_state=latest.state,
                expected_version=latest.version,
                by_client=self._client_id,
                message=message,
                patch=TaskPatch(error_message=message),
            )
        except LostRaceError as race:
            return race.current or latest


class _Gate:
    """Before a valid, staged file leaves the desk: an earlier ingestion, a changed column type."""

    def __init__(
        self,
        pipeline: IngestPipeline,
        task: Task,
        options: IngestOptions,
        duplicate: str | None,
    ) -> None:
        self._druid = pipeline._conn.druid
        self._task = task
        self._options = options
        self._duplicate = duplicate
        # Druid unreachable while checking: held here and raised by the driver once the
        # validation step has returned, so the task fails with Druid's words, not "unexpectedly".
        self.error: DruidError | None = None

    def __call__(self, report: ValidationReport, staging: StagingResult) -> str | None:
        task, options = self._task, self._options
        if self._duplicate:
            return f"{self._duplicate} Confirm to ingest it again."
        if task.mode is IngestMode.APPEND and not options.allow_drift:
            try:
                drift = detect_drift(self._druid, task.datasource, staging)
            except DruidError as exc:
                self.error = exc
                return f"Could not compare with the datasource's columns: {exc}"
            if drift.type_changed:
                changes = "; ".join(
                    f"{c.column} is {c.existing} in Druid but {c.incoming} in this file"
                    for c in drift.type_changed
                )
                return f"Column types changed: {changes}. Confirm to append anyway."
        pause_at("validating")
        return None


def _whole_file(tick: UploadProgress, done_bytes: int, total_bytes: int) -> UploadProgress:
    """One part's tick seen as progress through all the task's parts."""
    sent = done_bytes + tick.bytes_sent
    speed = tick.bytes_per_second
    eta = (total_bytes - sent) / speed if speed else None
    return UploadProgress(
        sent, total_bytes, tick.parts_done, tick.parts_total, speed,
        None if eta is None else max(0.0, eta),
    )


def _final_message(task: Task) -> str:
    if task.state is TaskState.SUCCEEDED:
        return task.validation_summary or "Succeeded."
    return task.error_message or task.validation_summary or str(task.state)
