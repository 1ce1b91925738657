"""The validation report, the user's choices and the file's path kept with the task; the
"ready" state (valid, waiting for S3 and Druid on its desk).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_OLD_STATES = (
    "queued", "validating", "needs_review", "invalid", "uploading", "submitting",
    "ingesting", "verifying", "succeeded", "failed", "cancelled",
)
_NEW_STATES = (*_OLD_STATES[:2], "ready", *_OLD_STATES[2:])
# The moves of the new state, as of this revision (see domain.tasks for the living machine).
_NEW_PAIRS = (
    ("validating", "ready"),
    ("ready", "validating"),
    ("ready", "failed"),
    ("ready", "cancelled"),
)


def _check(states: tuple[str, ...]) -> str:
    return f"state IN {states!r}"


def _swap_sqlite_check(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    # SQLite keeps a table's CHECK constraints only in its schema text; widening an IN list
    # changes nothing on disk, so the text is edited in place (SQLite's own documented way for
    # such changes) instead of copying the table, which would drop its guard triggers and
    # cascade deletes into the history.
    bind = op.get_bind()
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'tasks'"
    ).scalar_one()
    if _check(old) not in sql:
        raise RuntimeError("the tasks table's state check is not the one this migration expects")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'tasks'",
        (sql.replace(_check(old), _check(new)),),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _swap_check(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _swap_sqlite_check(old, new)
        return
    op.drop_constraint("ck_tasks_state", "tasks", type_="check")
    op.create_check_constraint("ck_tasks_state", "tasks", _check(new))


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("source_path", sa.Text))
        batch.add_column(sa.Column("choices", sa.JSON))
        batch.add_column(sa.Column("report", sa.JSON))
    _swap_check(_OLD_STATES, _NEW_STATES)
    transitions = sa.table("task_transitions", sa.column("from_state"), sa.column("to_state"))
    op.bulk_insert(transitions, [{"from_state": a, "to_state": b} for a, b in _NEW_PAIRS])


def downgrade() -> None:
    bind = op.get_bind()
    waiting = bind.exec_driver_sql("SELECT COUNT(*) FROM tasks WHERE state = 'ready'").scalar_one()
    if waiting:
        raise RuntimeError(f"{waiting} task(s) are in 'ready'; cancel or send them first")
    forget = sa.text("DELETE FROM task_transitions WHERE from_state = :a AND to_state = :b")
    for source, target in _NEW_PAIRS:
        bind.execute(forget, {"a": source, "b": target})
    _swap_check(_NEW_STATES, _OLD_STATES)
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("report")
        batch.drop_column("choices")
        batch.drop_column("source_path")
