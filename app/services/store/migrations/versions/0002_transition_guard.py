"""Guard the state machine in the database too: legal moves only, versions only go up.

The app already refuses illegal transitions; this catches anything else that writes the table
(an old client, a hand-written fix) so the history can never show an illegal or backwards move.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The state machine as of this revision (a migration must not follow later code changes).
_FORWARD = {
    "queued": ("validating",),
    "validating": ("uploading", "needs_review", "invalid"),
    "needs_review": ("validating", "uploading", "invalid"),
    "uploading": ("submitting",),
    "submitting": ("ingesting",),
    "ingesting": ("verifying",),
    "verifying": ("succeeded",),
}
_NON_TERMINAL = (
    "queued", "validating", "needs_review", "uploading", "submitting", "ingesting", "verifying",
)
_RETRYABLE = ("failed", "cancelled", "invalid")

PAIRS = sorted(
    {(src, dst) for src, targets in _FORWARD.items() for dst in targets}
    | {(src, end) for src in _NON_TERMINAL for end in ("failed", "cancelled")}
    | {(src, "queued") for src in _RETRYABLE}
)

PG_GUARD = """
CREATE FUNCTION ingest_desk_guard_task_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version <= OLD.version THEN
        RAISE EXCEPTION 'task %: version must increase (% -> %)', OLD.id, OLD.version, NEW.version
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.state <> OLD.state AND NOT EXISTS (
        SELECT 1 FROM task_transitions WHERE from_state = OLD.state AND to_state = NEW.state
    ) THEN
        RAISE EXCEPTION 'task %: illegal transition % -> %', OLD.id, OLD.state, NEW.state
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    table = op.create_table(
        "task_transitions",
        sa.Column("from_state", sa.String(16), primary_key=True),
        sa.Column("to_state", sa.String(16), primary_key=True),
    )
    op.bulk_insert(table, [{"from_state": src, "to_state": dst} for src, dst in PAIRS])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_GUARD)
        op.execute(
            "CREATE TRIGGER tasks_guard BEFORE UPDATE ON tasks FOR EACH ROW "
            "EXECUTE FUNCTION ingest_desk_guard_task_update()"
        )
    else:
        op.execute(
            "CREATE TRIGGER tasks_guard_version BEFORE UPDATE ON tasks "
            "WHEN NEW.version <= OLD.version "
            "BEGIN SELECT RAISE(ABORT, 'task version must increase'); END"
        )
        op.execute(
            "CREATE TRIGGER tasks_guard_state BEFORE UPDATE OF state ON tasks "
            "WHEN NEW.state <> OLD.state AND NOT EXISTS (SELECT 1 FROM task_transitions "
            "WHERE from_state = OLD.state AND to_state = NEW.state) "
            "BEGIN SELECT RAISE(ABORT, 'illegal task transition'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS tasks_guard ON tasks")
        op.execute("DROP FUNCTION IF EXISTS ingest_desk_guard_task_update()")
    else:
        op.execute("DROP TRIGGER IF EXISTS tasks_guard_state")
        op.execute("DROP TRIGGER IF EXISTS tasks_guard_version")
    op.drop_table("task_transitions")
