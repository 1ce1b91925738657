"""Tasks left behind by a desk that is gone, made straight in the store for the follower tests."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update

from app.domain.druid import Interval
from app.domain.store import NewTask, TaskPatch
from app.domain.tasks import IngestMode, Task, TaskState, VerifyPlan
from app.services.store import TaskStore
from app.services.store.models import CLIENTS

_ON_THE_WAY = [
    TaskState.VALIDATING, TaskState.UPLOADING, TaskState.SUBMITTING, TaskState.INGESTING,
    TaskState.VERIFYING,
]


def left_in(
    store: TaskStore,
    owner_id: str,
    state: TaskState,
    *,
    rows: int = 120,
    druid_task_id: str | None = None,
    datasource: str = "sales",
) -> Task:
    """A task its owner moved up to `state` (with the figures each step records), then left."""
    druid_task_id = druid_task_id or f"index_{datasource}_{uuid.uuid4().hex[:12]}"
    task = store.tasks.create(
        NewTask(f"{uuid.uuid4().hex[:6]}.csv", 1000, uuid.uuid4().hex * 2, owner_id, datasource,
                IngestMode.APPEND),
        by_client=owner_id,
    )
    # Rows over 2024-02-01 .. 2024-02-03 (write_source's days), into an empty datasource.
    plan = VerifyPlan(Interval(1_706_745_600_000, 1_707_004_800_000), baseline=0, rows=rows)
    patches = {
        TaskState.UPLOADING: TaskPatch(rows_validated=rows, progress=1.0),
        TaskState.SUBMITTING: TaskPatch(
            druid_task_id=druid_task_id, s3_uri="s3://b/k", verify_plan=plan
        ),
    }
    for target in _ON_THE_WAY[: _ON_THE_WAY.index(state) + 1]:
        task = store.tasks.transition(
            task.id, target, expected_state=task.state, expected_version=task.version,
            by_client=owner_id, patch=patches.get(target),
        )
    return task


def age_heartbeat(store: TaskStore, client_id: str, seconds: int) -> None:
    """As if the client had been killed `seconds` ago (no sign-off, its heartbeat stopped)."""
    stale = store.tasks.now() - timedelta(seconds=seconds)
    with store.engine.begin() as conn:
        conn.execute(update(CLIENTS).where(CLIENTS.c.id == client_id).values(last_heartbeat=stale))
