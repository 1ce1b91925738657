"""Every state move of a task, with the compare-and-set race handling written once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.domain.store import TaskPatch
from app.domain.tasks import RETRYABLE_STATES, Task, TaskState
from app.services.store import LostRaceError, TaskStore

if TYPE_CHECKING:
    # The clients pull in boto3 and httpx, which a desk without S3 and Druid never loads.
    from app.pipeline.remote_connections import Connections

log = logging.getLogger(__name__)

# A cancel retries this often when other writers keep moving the row under it.
_CANCEL_ATTEMPTS = 5


class StepStopped(Exception):
    """The task left the state a step works on (cancelled, or moved on by another client)."""


class StepCancelled(Exception):
    """The user's cancel reached a step mid-way (an upload stopped between parts)."""


class StepFailed(Exception):
    """S3 or Druid said no: the task fails with this sentence (the service's own words)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """The cancelled task and what was undone outside (the S3 upload, the Druid task)."""

    task: Task
    notes: tuple[str, ...]


class TaskMoves:
    """One client's moves on the shared task rows.

    Two kinds of lost race: a step that finds its task moved stops (`move` raises StepStopped);
    an ending that finds another client's ending first lets theirs stand (`settle`, `fail`).
    """

    def __init__(self, store: TaskStore, client_id: str) -> None:
        self._store = store
        self._client_id = client_id

    @property
    def client_id(self) -> str:
        return self._client_id

    def move(
        self, task: Task, target: TaskState, message: str, patch: TaskPatch | None = None
    ) -> Task:
        """From the state and version `task` shows; StepStopped when the row moved meanwhile."""
        try:
            return self._transition(task.id, target, task.state, task.version, message, patch)
        except LostRaceError as race:
            raise StepStopped(str(race)) from race

    def settle(
        self,
        task_id: str,
        target: TaskState,
        *,
        expected: TaskState,
        version: int,
        message: str,
        patch: TaskPatch | None = None,
    ) -> Task:
        """Like `move`, but a lost race returns the row as the other client left it."""
        try:
            return self._transition(task_id, target, expected, version, message, patch)
        except LostRaceError as race:
            if race.current is None:
                raise
            return race.current

    def record(self, task_id: str, patch: TaskPatch, state: TaskState) -> Task | None:
        """Progress or resume details while the task is in `state` and ours; None when it is
        not any more (cancelled elsewhere: the caller stops)."""
        try:
            return self._store.tasks.update(
                task_id, patch, expected_state=state, owner=self._client_id
            )
        except LostRaceError:
            return None

    def fail(self, task_id: str, message: str, *, summary: bool = False) -> Task:
        """End a task in failed with `message`, unless it already ended (that ending stands)."""
        latest = self._store.tasks.get(task_id)
        if latest.state.is_terminal:
            return latest
        patch = TaskPatch(error_message=message, validation_summary=message if summary else None)
        return self.settle(
            task_id, TaskState.FAILED, expected=latest.state, version=latest.version,
            message=message, patch=patch,
        )

    def cancel(
        self,
        task_id: str,
        message: str = "Cancelled by the user.",
        connections: Connections | None = None,
    ) -> CancelOutcome:
        """Mark the task cancelled first (so a running worker's next write loses the race and
        stops), then undo what it left outside: the open multipart upload, the Druid task."""
        task = self._store.tasks.get(task_id)
        for _ in range(_CANCEL_ATTEMPTS):
            if task.state.is_terminal:
                # A failed upload waits open for a retry; cancelling the task gives it up.
                notes = (f"Task is already {task.state}.", *self.release(task, connections))
                return CancelOutcome(task, notes)
            try:
                cancelled = self._transition(
                    task.id, TaskState.CANCELLED, task.state, task.version, message,
                    TaskPatch(validation_summary=message),
                )
                break
            except LostRaceError as race:
                task = race.current or self._store.tasks.get(task_id)
        else:
            raise LostRaceError(task_id, "a state to cancel from", task)
        if connections is None:
            return CancelOutcome(cancelled, ("S3 and Druid are not configured: nothing to undo.",))
        from app.pipeline.steps.undo import undo_outside  # noqa: PLC0415 - see TYPE_CHECKING

        return CancelOutcome(cancelled, undo_outside(connections, task))

    def release(self, task: Task, connections: Connections | None) -> tuple[str, ...]:
        """Abort the multipart upload an ended task left open for a retry (the user cancelled
        or removed the task, so no retry will come); one sentence per upload, or none."""
        from app.pipeline.steps.undo import upload_may_be_open  # noqa: PLC0415

        if connections is None or not task.state.is_terminal or not upload_may_be_open(task):
            return ()
        from app.pipeline.open_uploads import abort_task_uploads  # noqa: PLC0415

        return abort_task_uploads(connections.uploader, task)

    def retry(self, task_id: str, message: str = "retried by the user") -> Task:
        """Back to the queue for a fresh attempt (failed, cancelled or invalid tasks only)."""
        task = self._store.tasks.get(task_id)
        if task.state not in RETRYABLE_STATES:
            raise ValueError(
                f"Task {task_id[:8]} is {task.state}; only failed, cancelled or invalid tasks "
                "can be retried."
            )
        return self._store.tasks.retry(
            task_id, expected_state=task.state, expected_version=task.version,
            by_client=self._client_id, message=message,
        )

    def _transition(
        self,
        task_id: str,
        target: TaskState,
        expected: TaskState,
        version: int,
        message: str,
        patch: TaskPatch | None,
    ) -> Task:
        return self._store.tasks.transition(
            task_id, target, expected_state=expected, expected_version=version,
            by_client=self._client_id, message=message, patch=patch,
        )
