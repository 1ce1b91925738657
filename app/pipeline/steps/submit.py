"""Submitting the recorded spec to the Overlord; "already exists" counts only for this very spec."""

from __future__ import annotations

import json
from pathlib import Path

from app.domain.druid import DruidTaskState
from app.domain.store import TaskPatch
from app.domain.tasks import Task, TaskState
from app.pipeline.moves import StepFailed, TaskMoves
from app.pipeline.remote_connections import Connections
from app.pipeline.staged import TaskFiles, pause_at
from app.pipeline.steps.base import Job, StepOutcome
from app.pipeline.steps.remote_errors import RemoteStep
from app.services.druid import IngestionSpec
from app.services.store import TaskStore


class SubmitStep(RemoteStep):
    """Submits the spec the task row keeps, so any desk can do it after an adoption."""

    name = "submit"

    def __init__(
        self, store: TaskStore, moves: TaskMoves, connections: Connections, work_dir: Path
    ) -> None:
        super().__init__(store, moves, connections)
        self._work_dir = work_dir

    def _run(self, task: Task, job: Job) -> StepOutcome:
        druid_task_id = task.druid_task_id
        assert druid_task_id is not None, "the id is recorded on the way into submitting"
        # Tasks uploaded before the spec moved into the store kept it on the uploading desk.
        body = self._store.tasks.druid_spec(task.id) or TaskFiles.for_task(
            self._work_dir, task.id
        ).load_spec()
        if body is None:
            return self._without_spec(task, druid_task_id, job)
        sent_spec_id = json.loads(body).get("id")
        if sent_spec_id != druid_task_id:
            raise StepFailed(f"the saved spec is for {sent_spec_id}, not {druid_task_id}")
        spec = IngestionSpec(druid_task_id, task.datasource, task.mode, None, body)
        self._conn.druid.submit(spec)
        pause_at("submitted")
        return self._accepted(task, druid_task_id, job)

    def _without_spec(self, task: Task, druid_task_id: str, job: Job) -> StepOutcome:
        # Without the spec we can only find out whether it went.
        status = self._conn.druid.task_status(druid_task_id)
        if status.state is DruidTaskState.UNKNOWN:
            message = (
                f"Druid never received task {druid_task_id} and its spec was not recorded: "
                "retry the task on the desk that holds the file."
            )
            ended = self._moves.move(
                task, TaskState.FAILED, message, TaskPatch(error_message=message)
            )
            return StepOutcome(ended, message, job.carry)
        return self._accepted(task, druid_task_id, job)

    def _accepted(self, task: Task, druid_task_id: str, job: Job) -> StepOutcome:
        message = f"Druid accepted task {druid_task_id}"
        ended = self._moves.move(task, TaskState.INGESTING, message, TaskPatch(progress=0.0))
        return StepOutcome(ended, f"Submitted as Druid task {druid_task_id}.", job.carry)
