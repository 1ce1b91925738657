"""A task's life as stages (queued, validating, uploading ...) with start times and durations."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.domain.store import EventKind, TaskEvent
from app.domain.tasks import TaskState
from app.services.store import TaskStore


class StageOutcome(enum.StrEnum):
    """How a stage ended: by moving on, by ending the task, or not yet."""

    DONE = "done"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    INVALID = "invalid"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class TimelineStage:
    """One stretch of time the task spent in one state."""

    state: TaskState
    started: datetime
    ended: datetime | None  # None while the task is still in this stage
    outcome: StageOutcome
    attempt: int  # 1, then one more after each retry
    by_client: str | None  # the client that moved the task into this stage
    # What the transition out of this stage said (a failure's reason, what was uploaded).
    message: str | None = None
    notes: tuple[str, ...] = ()  # things that happened during the stage (an adoption)

    @property
    def duration(self) -> timedelta | None:
        return None if self.ended is None else self.ended - self.started


@dataclass(frozen=True, slots=True)
class Timeline:
    """Every stage of a task in order, read from the shared history (any client's task)."""

    task_id: str
    version: int  # the task version of the newest history event (0 without history)
    stages: tuple[TimelineStage, ...]
    # The store's clock when the history was read: the running stage's elapsed time is measured
    # against it, so a desk whose clock is off from the database still shows the right figure.
    as_of: datetime

    @property
    def running(self) -> TimelineStage | None:
        last = self.stages[-1] if self.stages else None
        return last if last is not None and last.outcome is StageOutcome.RUNNING else None

    def elapsed(self, stage: TimelineStage, since_read: timedelta = timedelta(0)) -> timedelta:
        """A finished stage's duration; for the running one, its time so far (never negative)."""
        if stage.duration is not None:
            return stage.duration
        return max(self.as_of + since_read - stage.started, timedelta(0))


_ENDINGS = {
    TaskState.SUCCEEDED: StageOutcome.SUCCEEDED,
    TaskState.INVALID: StageOutcome.INVALID,
    TaskState.FAILED: StageOutcome.FAILED,
    TaskState.CANCELLED: StageOutcome.CANCELLED,
}


@dataclass
class _Open:
    state: TaskState
    started: datetime
    attempt: int
    by_client: str | None
    notes: list[str] = field(default_factory=list)

    def close(
        self, at: datetime | None, outcome: StageOutcome, message: str | None
    ) -> TimelineStage:
        return TimelineStage(
            self.state, self.started, at, outcome, self.attempt, self.by_client, message,
            tuple(self.notes),
        )


def build_timeline(task_id: str, events: Sequence[TaskEvent], as_of: datetime) -> Timeline:
    """Turn history events (in version order) into stages.

    A transition ends the current stage and, unless it ends the task, opens the next one; a
    retry opens a new attempt; an adoption is a note on the stage it happened in.
    """
    stages: list[TimelineStage] = []
    current: _Open | None = None
    attempt = 0
    for event in sorted(events, key=lambda e: e.version):
        if event.kind is EventKind.ADOPTED:
            if current is not None:
                reason = f": {event.message}" if event.message else ""
                current.notes.append(f"adopted by {event.by_client or 'another client'}{reason}")
            continue
        if current is not None:
            ending = _ENDINGS.get(event.to_state, StageOutcome.DONE)
            stages.append(current.close(event.at, ending, event.message))
            current = None
        if event.kind in (EventKind.CREATED, EventKind.RETRIED):
            attempt += 1
        if not event.to_state.is_terminal:
            current = _Open(event.to_state, event.at, max(attempt, 1), event.by_client)
    if current is not None:
        stages.append(current.close(None, StageOutcome.RUNNING, None))
    version = max((e.version for e in events), default=0)
    return Timeline(task_id, version, tuple(stages), as_of)


def load_timeline(store: TaskStore, task_id: str) -> Timeline:
    """Read a task's shared history (one query) and the store's clock, off the GUI thread."""
    events = store.tasks.history(task_id)
    return build_timeline(task_id, events, store.tasks.now())

