"""The command line's verdicts against the real Druid of the dev stack: `doctor`, exit 3 for an
already-ingested file, `--allow-duplicate`, `tasks --json` and `show` (DEVSTACK=1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from app.domain.tasks import TaskState
from app.services.store import TaskStore
from tests.devstack.stack import DevStack
from tests.pipeline.cli_helpers import Cli, explain, overlord_task_ids, tasks_for

pytestmark = pytest.mark.druid


def write_csv(path: Path, rows: int) -> Path:
    lines = ["when,city,qty"] + [
        f"2024-05-{1 + i % 2:02d} 09:{i % 60:02d}:00,city{i % 3},{i}" for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_doctor_finds_every_service_of_the_dev_stack(cli: Cli) -> None:
    cli.run("db", "upgrade")
    result = cli.run("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    verdicts = [line.split()[:2] for line in result.stdout.splitlines()]
    for service in ("database", "s3", "druid"):
        assert ["ok", service] in verdicts, result.stdout


def test_an_ingested_file_is_refused_with_exit_3_then_allowed(
    cli: Cli, store: TaskStore, datasource: Callable[[str], str], tmp_path: Path,
    devstack: DevStack,
) -> None:
    name = datasource("dup")
    source = write_csv(tmp_path / "dup.csv", 40)
    first = cli.run("ingest", str(source), "--datasource", name, "--wait")
    assert first.returncode == 0, explain(devstack, tasks_for(store, name)[0], first)

    again = cli.run("ingest", str(source), "--datasource", name, "--wait")
    assert again.returncode == 3, again.stdout + again.stderr
    assert "--allow-duplicate" in again.stderr
    assert len(tasks_for(store, name)) == 1
    assert len(overlord_task_ids(devstack, name)) == 1

    allowed = cli.run("ingest", str(source), "--datasource", name, "--wait", "--allow-duplicate")
    tasks = tasks_for(store, name)
    assert allowed.returncode == 0, explain(devstack, tasks[0], allowed)
    assert [t.state for t in tasks] == [TaskState.SUCCEEDED, TaskState.SUCCEEDED]
    assert overlord_task_ids(devstack, name) == sorted(t.druid_task_id or "" for t in tasks)

    listed = [json.loads(line) for line in cli.run("tasks", "--json").stdout.splitlines()]
    mine = [row for row in listed if row["datasource"] == name]
    assert {row["id"] for row in mine} == {t.id for t in tasks}
    shown = json.loads(cli.run("show", tasks[0].id, "--json").stdout)
    assert shown["state"] == "succeeded" and shown["druid_task_id"] == tasks[0].druid_task_id
