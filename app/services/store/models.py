"""SQLAlchemy models of the task store; the schema itself changes only through the migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.domain.tasks import TaskState

NOTIFY_CHANNEL = "ingest_desk_task_changes"
STATE_VALUES = tuple(state.value for state in TaskState)
# SQLite only auto-increments an INTEGER PRIMARY KEY, so the 64-bit id narrows there.
AutoId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out, including on SQLite which stores naive text."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class TaskRow(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(f"state IN {STATE_VALUES!r}", name="ck_tasks_state"),
        CheckConstraint("version >= 1", name="ck_tasks_version"),
        Index("ix_tasks_state", "state"),
        Index("ix_tasks_owner_client", "owner_client"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_name: Mapped[str] = mapped_column(Text)
    file_size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    source_client: Mapped[str] = mapped_column(String(64))
    sheet: Mapped[str | None] = mapped_column(Text)
    datasource: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    rows_validated: Mapped[int | None] = mapped_column(BigInteger)
    rows_ingested: Mapped[int | None] = mapped_column(BigInteger)
    s3_uri: Mapped[str | None] = mapped_column(Text)
    multipart_upload_id: Mapped[str | None] = mapped_column(Text)
    druid_task_id: Mapped[str | None] = mapped_column(Text)
    validation_summary: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    owner_client: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The verification plan (migration 0003): typed columns, so epochs before 1970 and any
    # desk that adopts the task read it exactly.
    verify_start_ms: Mapped[int | None] = mapped_column(BigInteger)
    verify_end_ms: Mapped[int | None] = mapped_column(BigInteger)
    verify_baseline: Mapped[int | None] = mapped_column(BigInteger)
    verify_rows: Mapped[int | None] = mapped_column(BigInteger)
    druid_spec: Mapped[str | None] = mapped_column(Text)
    # Migration 0004: read on demand (never in Task values), except the path.
    source_path: Mapped[str | None] = mapped_column(Text)
    choices: Mapped[Any] = mapped_column(JSON, nullable=True)
    report: Mapped[Any] = mapped_column(JSON, nullable=True)


class TaskEventRow(Base):
    __tablename__ = "task_events"
    # One event per task version: a second writer claiming the same version cannot commit.
    __table_args__ = (UniqueConstraint("task_id", "version", name="uq_task_events_version"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("tasks.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by_client: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)


class DatasetTemplateRow(Base):
    __tablename__ = "dataset_templates"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_templates_version"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    datasource: Mapped[str | None] = mapped_column(Text)
    columns: Mapped[Any] = mapped_column(JSON)
    unique_keys: Mapped[Any] = mapped_column(JSON)
    timestamp_column: Mapped[str | None] = mapped_column(Text)
    date_order: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(Text)
    mode: Mapped[str | None] = mapped_column(String(16))
    sheet: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[Any] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    saved_by: Mapped[str | None] = mapped_column(String(64))


class ClientRow(Base):
    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(Text)
    app_version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_heartbeat: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TaskTransitionRow(Base):
    """The legal moves, read by the database's own guard trigger (see migration 0002)."""

    __tablename__ = "task_transitions"

    from_state: Mapped[str] = mapped_column(String(16), primary_key=True)
    to_state: Mapped[str] = mapped_column(String(16), primary_key=True)


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


TASKS = _table(TaskRow)
TASK_EVENTS = _table(TaskEventRow)
DATASET_TEMPLATES = _table(DatasetTemplateRow)
CLIENTS = _table(ClientRow)
TASK_TRANSITIONS = _table(TaskTransitionRow)
