"""Alembic environment: runs on the connection the app hands over, or on sqlalchemy.url."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy import Connection, create_engine, text

from app.services.store.models import Base

# Two clients starting at once must not both run the same migration; PostgreSQL serialises them
# on this transaction-scoped advisory lock (released at commit).
MIGRATION_LOCK_KEY = 0x1D6E_57DB_0001


def _run(connection: Connection) -> None:
    # schema.py reports "upgraded" only when this run applied something: a client that waited
    # on the lock while another migrated finds nothing left to do.
    applied: list[object] = context.config.attributes.setdefault("applied_steps", [])

    def record(
        ctx: MigrationContext,
        step: MigrationInfo,
        heads: Collection[Any],
        run_args: Mapping[str, Any],
    ) -> None:
        applied.append(step)

    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        on_version_apply=record,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            lock = text("SELECT pg_advisory_xact_lock(:key)")
            connection.execute(lock, {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


def run_migrations_online() -> None:
    supplied = context.config.attributes.get("connection")
    if supplied is not None:
        _run(supplied)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline SQL-script migrations are unsupported; use `ingest-desk db upgrade`")
run_migrations_online()
