"""Values the shared task store exchanges with its callers: drafts, patches, events, clients."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.domain.rules import Template
from app.domain.tasks import ADOPTABLE_STATES, IngestMode, Task, TaskState, VerifyPlan


@dataclass(frozen=True, slots=True)
class NewTask:
    """What a client knows about a file when it drops it on the window."""

    file_name: str
    file_size: int
    sha256: str
    source_client: str
    datasource: str
    mode: IngestMode
    sheet: str | None = None
    # None lets the store choose; a caller-chosen id makes re-creating the task idempotent.
    id: str | None = None
    source_path: str | None = None
    # IngestChoices as JSON (app.pipeline.choices.choices_to_dict).
    choices: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class TaskPatch:
    """Fields to change alongside a transition or progress report; None leaves a field as it is."""

    progress: float | None = None
    rows_validated: int | None = None
    rows_ingested: int | None = None
    s3_uri: str | None = None
    multipart_upload_id: str | None = None
    druid_task_id: str | None = None
    validation_summary: str | None = None
    error_message: str | None = None
    verify_plan: VerifyPlan | None = None
    # The submitted spec: kept in the store (not on one desk's disk) so any desk that adopts
    # the task can submit it; never read into Task values (100,000 rows in a table model).
    druid_spec: str | None = None
    # The bounded validation report as JSON (app.services.store.report_codec); like the spec,
    # read on demand, never carried in Task values.
    report: dict[str, Any] | None = None
    choices: dict[str, Any] | None = None


class EventKind(enum.StrEnum):
    """Why a history row exists."""

    CREATED = "created"
    TRANSITION = "transition"
    ADOPTED = "adopted"
    RETRIED = "retried"


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """One row of a task's append-only history; `version` is the task version it produced."""

    id: int
    task_id: str
    version: int
    kind: EventKind
    from_state: TaskState | None
    to_state: TaskState
    at: datetime
    by_client: str | None
    message: str | None


class ChangeSource(enum.StrEnum):
    """How a change reached a subscriber: live notification, catch-up after a gap, or polling."""

    NOTIFY = "notify"
    RESYNC = "resync"
    POLL = "poll"


@dataclass(frozen=True, slots=True)
class TaskChange:
    """The task as it now is, plus every history event since the subscriber's previous view.

    Several row writes may be folded into one change (progress ticks), but no history event is
    ever skipped: `events` holds all of them in version order.
    """

    task: Task
    events: tuple[TaskEvent, ...]
    source: ChangeSource


class FeedStatus(enum.StrEnum):
    """Whether a change feed is currently delivering live changes (the UI's "live" indicator)."""

    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """One running copy of the app (or the CLI) that has registered with the store."""

    id: str
    user: str
    host: str
    app_version: str
    started_at: datetime
    last_heartbeat: datetime | None  # None once the client has signed off cleanly


class OwnerStatus(enum.StrEnum):
    """Who is looking after a task right now, as the UI explains it."""

    FINISHED = "finished"
    OWNED = "owned"
    WAITING_FOR_SOURCE_CLIENT = "waiting_for_source_client"
    ADOPTABLE = "adoptable"


def owner_status(task: Task, now: datetime, lease: timedelta) -> OwnerStatus:
    """Classify a task given its owner's last heartbeat (carried on the task as heartbeat_at)."""
    if task.state.is_terminal:
        return OwnerStatus.FINISHED
    alive = task.heartbeat_at is not None and now - task.heartbeat_at <= lease
    if alive and task.owner_client is not None:
        return OwnerStatus.OWNED
    if task.state in ADOPTABLE_STATES:
        return OwnerStatus.ADOPTABLE
    # Validating and uploading read the local file, so only the client holding it can go on.
    return OwnerStatus.WAITING_FOR_SOURCE_CLIENT


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    """One saved version of a shared validation template, with who saved it and when."""

    template: Template
    saved_at: datetime
    saved_by: str | None
