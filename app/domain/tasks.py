"""The ingestion task and its state machine: plain values, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from app.domain.druid import Interval


class TaskState(enum.StrEnum):
    """Where a task is in its life; the spine every client agrees on."""

    QUEUED = "queued"
    VALIDATING = "validating"
    # Valid, and waiting for S3 and Druid to be configured on its desk (no person is asked).
    READY = "ready"
    NEEDS_REVIEW = "needs_review"
    INVALID = "invalid"
    UPLOADING = "uploading"
    SUBMITTING = "submitting"
    INGESTING = "ingesting"
    VERIFYING = "verifying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def needs_source_file(self) -> bool:
        """Steps that read the local file belong to the client that holds it."""
        return self in SOURCE_BOUND_STATES

    @property
    def is_waiting(self) -> bool:
        """Nothing happens until someone acts (answers a question, sets up S3 and Druid)."""
        return self in WAITING_STATES


TERMINAL_STATES = frozenset(
    {TaskState.INVALID, TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED}
)
SOURCE_BOUND_STATES = frozenset(
    {TaskState.QUEUED, TaskState.VALIDATING, TaskState.READY, TaskState.UPLOADING}
)
WAITING_STATES = frozenset({TaskState.NEEDS_REVIEW, TaskState.READY})
ADOPTABLE_STATES = frozenset({TaskState.SUBMITTING, TaskState.INGESTING, TaskState.VERIFYING})

_FORWARD: dict[TaskState, frozenset[TaskState]] = {
    TaskState.QUEUED: frozenset({TaskState.VALIDATING}),
    TaskState.VALIDATING: frozenset(
        {TaskState.UPLOADING, TaskState.READY, TaskState.NEEDS_REVIEW, TaskState.INVALID}
    ),
    # Sent once S3 and Druid are set: validated (and staged) again, then uploaded.
    TaskState.READY: frozenset({TaskState.VALIDATING}),
    # A user decision (date order, error threshold) sends the task back through validation
    # or straight on to the upload.
    TaskState.NEEDS_REVIEW: frozenset(
        {TaskState.VALIDATING, TaskState.UPLOADING, TaskState.INVALID}
    ),
    TaskState.UPLOADING: frozenset({TaskState.SUBMITTING}),
    TaskState.SUBMITTING: frozenset({TaskState.INGESTING}),
    TaskState.INGESTING: frozenset({TaskState.VERIFYING}),
    TaskState.VERIFYING: frozenset({TaskState.SUCCEEDED}),
}

# Any non-terminal state may end in failure or cancellation.
LEGAL_TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    state: (
        frozenset()
        if state.is_terminal
        else _FORWARD.get(state, frozenset()) | {TaskState.FAILED, TaskState.CANCELLED}
    )
    for state in TaskState
}

# Retrying starts a fresh attempt from the queue; only finished-but-unsuccessful tasks qualify.
RETRYABLE_STATES = frozenset({TaskState.FAILED, TaskState.CANCELLED, TaskState.INVALID})


def is_legal_transition(source: TaskState, target: TaskState) -> bool:
    return target in LEGAL_TRANSITIONS[source]


class IngestMode(enum.StrEnum):
    """How rows meet what Druid already holds: chosen explicitly by the user."""

    APPEND = "append"
    REPLACE = "replace"


@dataclass(frozen=True, slots=True)
class VerifyPlan:
    """What Druid must hold once the task succeeds: `baseline + rows` rows in `interval`.

    Recorded on the task (typed columns, not message text) on the move to submitting, so any
    desk that adopts the task later verifies it the same way. For a replace the baseline is 0
    (the interval ends up holding exactly the file). For an append it is the count taken just
    before submit: Druid cannot tell which rows of an interval one task wrote, so the increase
    is the best proof available; another append into the same interval at the same moment
    shows as a mismatch, never as a false success. Epochs before 1970 are negative: fine.
    """

    interval: Interval
    baseline: int
    rows: int

    @property
    def expected(self) -> int:
        return self.baseline + self.rows


@dataclass(frozen=True, slots=True)
class Task:
    """One file on its way into one Druid datasource."""

    id: str
    file_name: str
    file_size: int
    sha256: str
    source_client: str
    datasource: str
    mode: IngestMode
    state: TaskState
    version: int
    created_at: datetime
    updated_at: datetime
    sheet: str | None = None
    progress: float = 0.0
    rows_validated: int | None = None
    rows_ingested: int | None = None
    s3_uri: str | None = None
    multipart_upload_id: str | None = None
    druid_task_id: str | None = None
    validation_summary: str | None = None
    error_message: str | None = None
    owner_client: str | None = None
    heartbeat_at: datetime | None = None
    finished_at: datetime | None = None
    verify_plan: VerifyPlan | None = None
    # Where the file was on its desk when added (a retry after a restart reads it again there,
    # after checking its content still hashes to `sha256`).
    source_path: str | None = None
