"""The follower against the real dev stack: a task `ingest-desk ingest` (no --wait) left
ingesting is adopted by another desk, followed in Druid and verified with Druid SQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from app.domain.tasks import TaskState
from app.pipeline.choices import IngestOptions
from app.pipeline.follower import Follower
from app.pipeline.remote_connections import Connections
from app.pipeline.runner import Runner
from app.services.settings import load_settings
from app.services.store import TaskStore
from tests.devstack.stack import DevStack
from tests.pipeline.cli_helpers import Cli, explain
from tests.pipeline.follow_helpers import age_heartbeat
from tests.pipeline.test_e2e_druid import write_csv
from tests.store.conftest import pg_server, pg_url  # noqa: F401

pytestmark = [pytest.mark.druid, pytest.mark.postgres]


def test_a_task_the_cli_left_ingesting_is_adopted_and_verified_in_druid(
    devstack: DevStack,
    pg_url: str,  # noqa: F811 - a database of its own: the follower adopts whatever it finds
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"follow_{uuid.uuid4().hex[:8]}"
    source = write_csv(tmp_path / "orders.csv", 400)
    cli = Cli(devstack, tmp_path / "cli-data", extra_env={"INGEST_DESK_DATABASE_URL": pg_url})
    try:
        result = cli.run("ingest", str(source), "--datasource", name, timeout=300)
        assert result.returncode == 0, result.stderr
        with TaskStore.open(pg_url) as store:
            (task,) = store.tasks.list_tasks(datasource=name)
            assert task.state is TaskState.INGESTING, explain(devstack, task, result)
            assert task.owner_client is not None
            age_heartbeat(store, task.owner_client, 120)  # the CLI never signs off

            for key, value in devstack.env.items():
                monkeypatch.setenv(key, value)
            monkeypatch.setenv("INGEST_DESK_SETTINGS_FILE", str(tmp_path / "none.toml"))
            settings = load_settings(database_url=pg_url)
            connections = Connections.from_settings(settings)
            desk = store.clients.register(user="bob")
            pipeline = Runner(
                store, desk.id, settings, connections, work_dir=tmp_path / "bob"
            )
            follower = Follower(
                store, desk.id, pipeline,
                options=IngestOptions(poll_interval_s=0.5, verify_timeout_s=120),
            )
            try:
                tick = follower.tick()
                assert tick.leader and [t.id for t in tick.adopted] == [task.id]
                outcome = follower.run(tick.adopted[0])
            finally:
                follower.close()
                connections.close()
            ended = outcome.task
            assert ended.state is TaskState.SUCCEEDED, explain(devstack, ended)
            assert ended.rows_ingested == 400
            assert ended.owner_client == desk.id
            counted = devstack.sql(f'SELECT COUNT(*) AS n FROM "{name}"')
            assert counted == [{"n": 400}]
    finally:
        devstack.drop_datasource(name)
