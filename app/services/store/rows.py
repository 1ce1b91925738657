"""How task rows and history rows map to the domain's values, and the statements that read them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, and_, bindparam, select
from sqlalchemy.sql import Select

from app.domain.druid import Interval
from app.domain.store import EventKind, TaskEvent, TaskPatch
from app.domain.tasks import IngestMode, Task, TaskState, VerifyPlan
from app.services.store.models import CLIENTS, TASK_EVENTS, TASKS

# Large facts stay out of Task values (a table model holds 100,000 of them); read on demand.
_ON_DEMAND = frozenset({"druid_spec", "report", "choices"})
_TASK_COLUMNS = tuple(column for column in TASKS.c if column.name not in _ON_DEMAND)
PLAN_FIELDS = ("verify_start_ms", "verify_end_ms", "verify_baseline", "verify_rows")


def task_select() -> Select[Any]:
    # The owner's client heartbeat rides along so the UI can tell "owned" from "owner gone".
    return select(*_TASK_COLUMNS, CLIENTS.c.last_heartbeat.label("heartbeat_at")).select_from(
        TASKS.outerjoin(CLIENTS, CLIENTS.c.id == TASKS.c.owner_client)
    )


def to_task(row: RowMapping) -> Task:
    return Task(
        id=row["id"],
        file_name=row["file_name"],
        file_size=row["file_size"],
        sha256=row["sha256"],
        source_client=row["source_client"],
        datasource=row["datasource"],
        mode=IngestMode(row["mode"]),
        state=TaskState(row["state"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        sheet=row["sheet"],
        progress=row["progress"],
        rows_validated=row["rows_validated"],
        rows_ingested=row["rows_ingested"],
        s3_uri=row["s3_uri"],
        multipart_upload_id=row["multipart_upload_id"],
        druid_task_id=row["druid_task_id"],
        validation_summary=row["validation_summary"],
        error_message=row["error_message"],
        owner_client=row["owner_client"],
        heartbeat_at=row["heartbeat_at"],
        finished_at=row["finished_at"],
        verify_plan=_to_plan(row),
        source_path=row["source_path"],
    )


def _to_plan(row: RowMapping) -> VerifyPlan | None:
    start, end, baseline, rows = (row[name] for name in PLAN_FIELDS)
    if start is None or end is None or baseline is None or rows is None:
        return None
    return VerifyPlan(Interval(start, end), baseline, rows)


def _changes_select() -> Select[Any]:
    events = TASK_EVENTS.alias("ev")
    return (
        task_select()
        .add_columns(*(column.label(f"ev_{column.name}") for column in events.c))
        .outerjoin(
            events,
            and_(
                events.c.task_id == TASKS.c.id,
                events.c.version > bindparam("floor"),
                events.c.version <= TASKS.c.version,
            ),
        )
        .where(TASKS.c.id.in_(bindparam("ids", expanding=True)))
        .order_by(TASKS.c.id, events.c.version)
    )


# Built once: every listener runs these on each notification, twenty clients at a time, so
# skipping statement construction is a measurable share of the commit-to-callback latency.
CHANGES = _changes_select()
VERSIONS = select(TASKS.c.id, TASKS.c.version)


def to_event(row: RowMapping, prefix: str = "") -> TaskEvent:
    from_state = row[f"{prefix}from_state"]
    return TaskEvent(
        id=row[f"{prefix}id"],
        task_id=row[f"{prefix}task_id"],
        version=row[f"{prefix}version"],
        kind=EventKind(row[f"{prefix}kind"]),
        from_state=TaskState(from_state) if from_state else None,
        to_state=TaskState(row[f"{prefix}to_state"]),
        at=row[f"{prefix}at"],
        by_client=row[f"{prefix}by_client"],
        message=row[f"{prefix}message"],
    )


def patch_values(patch: TaskPatch | None) -> dict[str, Any]:
    if patch is None:
        return {}
    values = {
        name: getattr(patch, name)
        for name in TaskPatch.__slots__
        if getattr(patch, name) is not None and name != "verify_plan"
    }
    plan = patch.verify_plan
    if plan is not None:
        values.update(
            verify_start_ms=plan.interval.start_ms,
            verify_end_ms=plan.interval.end_ms,
            verify_baseline=plan.baseline,
            verify_rows=plan.rows,
        )
    return values


