"""The staged file for an upload that starts without one in hand (a resumed or adopted task)."""

from __future__ import annotations

from dataclasses import replace

from app.domain.tasks import Task
from app.domain.validation import StagingResult
from app.pipeline import choices as chosen
from app.pipeline.moves import StepFailed, StepStopped
from app.pipeline.staged import StagingArea, TaskFiles
from app.pipeline.steps.base import Job, Pool, StepOutcome
from app.services.settings import Settings


class StageStep:
    """The staging file an earlier run left (its record checked against the disk), or the same
    file made again from the source: staging is deterministic, so the upload resumes exactly."""

    name = "stage"
    pool = Pool.CPU

    def __init__(self, settings: Settings, staging: StagingArea) -> None:
        self._settings = settings
        self._staging = staging

    def run(self, task: Task, job: Job) -> StepOutcome:
        files = self._staging.files(task.id)
        # Private before it is used: an older version left the folder 0755 and its files 0644.
        files.prepare()
        staging = files.load_staging()
        if staging is None:
            staging = self._restage(task, job, files)
        files.seal()
        return StepOutcome(task, "Staged.", replace(job.carry, staging=staging))

    def _restage(self, task: Task, job: Job, files: TaskFiles) -> StagingResult:
        # Polars and PyArrow load with the first file, not with the window.
        from app.services.reading import open_source  # noqa: PLC0415
        from app.services.staging import StagingOptions, validate_and_stage  # noqa: PLC0415
        from app.services.validation import ScanCancelledError  # noqa: PLC0415

        assert job.path is not None, "the runner only stages where the file is"
        # Without the run's options, the same defaults the validation step used when it staged.
        own = chosen.task_choices(task)
        read = job.options.read or chosen.read_options(own, self._settings)
        validate = job.options.validate or chosen.validate_options(own, self._settings)
        source = open_source(job.path, read)
        try:
            _outcome, staging = validate_and_stage(
                source, validate, files.folder, task.id,
                StagingOptions.from_settings(self._settings), cancelled=job.cancelled,
            )
        except ScanCancelledError as stop:
            raise StepStopped("stopped while staging the file again") from stop
        finally:
            source.close()
        if staging is None:
            raise StepFailed(f"{job.path.name} no longer validates; it cannot be uploaded.")
        files.save_staging(staging)
        self._staging.tidy_quietly()
        return staging
