"""Facts a later step or another desk needs, as typed columns: the verification plan, the spec.

Until now the plan rode in a history message (parsed back with a pattern that missed negative
epochs, so data before 1970 went unverified) and the spec stayed on the uploading desk's disk.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_PLAN_COLUMNS = ("verify_start_ms", "verify_end_ms", "verify_baseline", "verify_rows")


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        for name in _PLAN_COLUMNS:
            batch.add_column(sa.Column(name, sa.BigInteger))
        batch.add_column(sa.Column("druid_spec", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("druid_spec")
        for name in reversed(_PLAN_COLUMNS):
            batch.drop_column(name)
