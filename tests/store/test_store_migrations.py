"""Migrations on both back ends, the embedded default, `db upgrade`, the newer-schema refusal."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError

from app.cli import cli
from app.domain.tasks import LEGAL_TRANSITIONS, RETRYABLE_STATES, TaskState
from app.services.settings import Settings
from app.services.store import (
    DatabaseNewerError,
    SchemaOutOfDateError,
    SchemaStatus,
    SchemaUpgradeNotPermittedError,
    TaskStore,
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    open_store,
    upgrade,
)
from app.services.store.engine import libpq_conninfo, make_engine
from app.services.store.models import TASK_TRANSITIONS, Base
from app.services.store.tempcluster import TempPostgres
from tests.store.store_helpers import draft
from tests.store.store_workers import open_store_process

TABLES = {"tasks", "task_events", "dataset_templates", "clients", "task_transitions"}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert _tables(store_url) == TABLES
        downgrade(engine, "0001")
        assert current_revision(engine) == "0001"
        assert _tables(store_url) == TABLES - {"task_transitions"}
        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert _tables(store_url) == set()
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert _tables(store_url) == TABLES
        assert ensure_schema(engine) is SchemaStatus.UP_TO_DATE
    finally:
        engine.dispose()


def test_models_match_migrations(store_url: str) -> None:
    """The ORM models and the migrations describe the same schema (autogenerate sees no diff)."""
    engine = make_engine(store_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_trigger_removed_on_downgrade(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        upgrade(engine)
        downgrade(engine, "base")
        with engine.connect() as conn:
            count = conn.execute(
                text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'ingest_desk_%'")
            ).scalar_one()
        assert count == 0
    finally:
        engine.dispose()


def _stamp_future(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    finally:
        engine.dispose()


def test_refuses_database_newer_than_app(store_url: str) -> None:
    _stamp_future(store_url)
    with pytest.raises(DatabaseNewerError, match="newer than this app") as caught:
        TaskStore.open(store_url)
    assert caught.value.db_revision == "ffff_from_the_future"
    engine = make_engine(store_url)
    try:
        with pytest.raises(DatabaseNewerError):
            upgrade(engine)
        # Nothing was touched by the refusal.
        assert current_revision(engine) == "ffff_from_the_future"
    finally:
        engine.dispose()


def test_db_upgrade_command(store_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["db", "current", "--database-url", store_url])
    assert result.exit_code == 0, result.output
    assert "database: empty" in result.output
    result = runner.invoke(cli, ["db", "upgrade", "--database-url", store_url])
    assert result.exit_code == 0, result.output
    assert f"upgraded empty -> {head_revision()}" in result.output
    result = runner.invoke(cli, ["db", "upgrade", "--database-url", store_url])
    assert result.exit_code == 0 and "already at" in result.output
    result = runner.invoke(cli, ["db", "downgrade", "base", "--yes", "--database-url", store_url])
    assert result.exit_code == 0 and "now at empty" in result.output


def test_db_upgrade_command_refuses_newer_database(store_url: str) -> None:
    _stamp_future(store_url)
    result = CliRunner().invoke(cli, ["db", "upgrade", "--database-url", store_url])
    assert result.exit_code == 4  # the database cannot be used: a setup problem
    assert result.stderr.startswith("ingest-desk: The task database is newer than this app")
    assert "Update Ingest Desk" in result.stderr


def test_schema_out_of_date_without_upgrade(store_url: str) -> None:
    with pytest.raises(SchemaOutOfDateError, match="db upgrade"):
        TaskStore.open(store_url, allow_upgrade=False)


def test_upgrade_without_rights_explains(pg_server: TempPostgres, pg_url: str) -> None:
    # A business user's login: may connect, may not create tables (PostgreSQL 15's default).
    database = pg_url.rsplit("/", 1)[1]
    role = f"clerk_{database}"
    with psycopg.connect(libpq_conninfo(pg_url), autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"')
    clerk_url = pg_url.replace("postgres@", f"{role}@")
    with pytest.raises(SchemaUpgradeNotPermittedError, match="administrator") as caught:
        TaskStore.open(clerk_url)
    assert "permission denied" in str(caught.value)
    result = CliRunner().invoke(cli, ["db", "upgrade", "--database-url", clerk_url])
    assert result.exit_code == 4 and "db upgrade" in result.stderr


def test_db_command_explains_unreachable_server(pg_server: TempPostgres) -> None:
    url = pg_server.url_for("postgres").replace(f":{pg_server.port}/", ":1/")
    result = CliRunner().invoke(cli, ["db", "current", "--database-url", url])
    assert result.exit_code == 4
    assert result.stderr == (
        "ingest-desk: Cannot reach the task database postgresql+psycopg://postgres@127.0.0.1:1/"
        "postgres: the server refused the connection (nothing is listening on that port). "
        "Hint: Check the host "
        "and port, and that PostgreSQL is running there.\n"
    )


def test_embedded_default_uses_platform_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "app.services.settings.data_dir", lambda: tmp_path / "data" / "ingest-desk"
    )
    monkeypatch.delenv("INGEST_DESK_DATABASE_URL", raising=False)
    settings = Settings(database_url=None)
    assert settings.embedded
    with open_store(settings) as store:
        assert not store.is_shared
        assert store.schema_status is SchemaStatus.UPGRADED
    assert (tmp_path / "data" / "ingest-desk" / "tasks.sqlite3").exists()
    with open_store(settings) as store:
        assert store.schema_status is SchemaStatus.UP_TO_DATE


def test_database_guard_matches_domain_state_machine(store: TaskStore) -> None:
    """The guard table the trigger consults is exactly the app's state machine (no drift)."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(TASK_TRANSITIONS.c.from_state, TASK_TRANSITIONS.c.to_state))
        in_db = {(src, dst) for src, dst in rows}
    in_app = {(s.value, t.value) for s, targets in LEGAL_TRANSITIONS.items() for t in targets}
    in_app |= {(s.value, TaskState.QUEUED.value) for s in RETRYABLE_STATES}
    assert in_db == in_app


def test_database_rejects_illegal_or_backwards_writes_from_outside_the_app(
    store: TaskStore,
) -> None:
    task = store.tasks.create(draft("c1"))
    with store.engine.connect() as conn:
        for statement in (
            "UPDATE tasks SET state = 'succeeded', version = version + 1 WHERE id = :id",
            "UPDATE tasks SET progress = 0.5 WHERE id = :id",  # no version bump
            "UPDATE tasks SET version = 0 WHERE id = :id",
        ):
            with pytest.raises(DBAPIError), conn.begin():
                conn.execute(text(statement), {"id": task.id})
        with conn.begin():
            conn.execute(
                text("UPDATE tasks SET state = 'validating', version = 2 WHERE id = :id"),
                {"id": task.id},
            )
    assert store.tasks.get(task.id).state is TaskState.VALIDATING


@pytest.mark.postgres
def test_apps_starting_together_upgrade_once(pg_url: str) -> None:
    """Three app processes open an empty database at once: one migrates, the others wait."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    processes = [
        ctx.Process(target=open_store_process, args=(pg_url, barrier, results))
        for _ in range(3)
    ]
    for process in processes:
        process.start()
    outcomes = sorted(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(30)
    assert outcomes == [("ok", "up_to_date"), ("ok", "up_to_date"), ("ok", "upgraded")]


def test_threads_starting_together_upgrade_once(store_url: str) -> None:
    """The same within one process (Alembic's globals are not thread-safe)."""
    pg_url = store_url
    start = threading.Barrier(4)
    statuses: list[SchemaStatus | None] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        start.wait()
        try:
            with TaskStore.open(pg_url) as store:
                statuses.append(store.schema_status)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(statuses) == [SchemaStatus.UP_TO_DATE] * 3 + [SchemaStatus.UPGRADED]
    engine = make_engine(pg_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
