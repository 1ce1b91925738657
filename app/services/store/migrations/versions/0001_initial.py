"""Initial task store: tasks, task events, dataset templates, clients, change notification.

Revision ID: 0001
Revises:
Create Date: 2026-05-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATES = (
    "queued", "validating", "needs_review", "invalid", "uploading", "submitting",
    "ingesting", "verifying", "succeeded", "failed", "cancelled",
)
CHANNEL = "ingest_desk_task_changes"
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)

# The payload stays tiny (well under pg_notify's 8000-byte limit): listeners re-read the row.
NOTIFY_FUNCTION = f"""
CREATE FUNCTION ingest_desk_notify_task_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}',
        json_build_object('id', NEW.id, 'v', NEW.version, 's', NEW.state)::text);
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("file_size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source_client", sa.String(64), nullable=False),
        sa.Column("sheet", sa.Text),
        sa.Column("datasource", sa.Text, nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("progress", sa.Float, nullable=False, server_default="0"),
        sa.Column("rows_validated", sa.BigInteger),
        sa.Column("rows_ingested", sa.BigInteger),
        sa.Column("s3_uri", sa.Text),
        sa.Column("multipart_upload_id", sa.Text),
        sa.Column("druid_task_id", sa.Text),
        sa.Column("validation_summary", sa.Text),
        sa.Column("error_message", sa.Text),
        sa.Column("owner_client", sa.String(64)),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.Column("finished_at", When),
        sa.CheckConstraint(f"state IN {STATES!r}", name="ck_tasks_state"),
        sa.CheckConstraint("version >= 1", name="ck_tasks_version"),
    )
    op.create_index("ix_tasks_state", "tasks", ["state"])
    op.create_index("ix_tasks_owner_client", "tasks", ["owner_client"])
    op.create_table(
        "task_events",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column(
            "task_id", sa.String(64), sa.ForeignKey("tasks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("by_client", sa.String(64)),
        sa.Column("message", sa.Text),
        sa.UniqueConstraint("task_id", "version", name="uq_task_events_version"),
    )
    # Queryable copies of a template's headline choices; `columns` and `unique_keys` hold the rest.
    op.create_table(
        "dataset_templates",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("datasource", sa.Text),
        sa.Column("columns", sa.JSON, nullable=False),
        sa.Column("unique_keys", sa.JSON, nullable=False),
        sa.Column("timestamp_column", sa.Text),
        sa.Column("date_order", sa.String(16)),
        sa.Column("timezone", sa.Text),
        sa.Column("mode", sa.String(16)),
        sa.Column("sheet", sa.Text),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("saved_at", When, nullable=False),
        sa.Column("saved_by", sa.String(64)),
        sa.UniqueConstraint("name", "version", name="uq_templates_version"),
    )
    op.create_table(
        "clients",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user", sa.Text, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("app_version", sa.String(32), nullable=False),
        sa.Column("started_at", When, nullable=False),
        sa.Column("last_heartbeat", When),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute(
            "CREATE TRIGGER tasks_notify_insert AFTER INSERT ON tasks FOR EACH ROW "
            "EXECUTE FUNCTION ingest_desk_notify_task_change()"
        )
        # Only writes that move the version are changes worth telling every client about.
        op.execute(
            "CREATE TRIGGER tasks_notify_update AFTER UPDATE ON tasks FOR EACH ROW "
            "WHEN (OLD.version IS DISTINCT FROM NEW.version) "
            "EXECUTE FUNCTION ingest_desk_notify_task_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS tasks_notify_update ON tasks")
        op.execute("DROP TRIGGER IF EXISTS tasks_notify_insert ON tasks")
        op.execute("DROP FUNCTION IF EXISTS ingest_desk_notify_task_change()")
    op.drop_table("clients")
    op.drop_table("dataset_templates")
    op.drop_table("task_events")
    op.drop_index("ix_tasks_owner_client", table_name="tasks")
    op.drop_index("ix_tasks_state", table_name="tasks")
    op.drop_table("tasks")
