"""Run `ingest-desk` as a subprocess against the dev stack, and read what it left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.domain.tasks import Task
from app.services.store import TaskStore
from tests.devstack.stack import DevStack

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Cli:
    """The command line as a user runs it: its own process, settings from the environment."""

    devstack: DevStack
    data_home: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, **more: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "INGEST_DESK_"))}
        env.update(self.devstack.env)
        # Staging files go to a per-session folder; 0 lets Druid's task end without waiting
        # for handoff (the dev stack polls it once a minute) and the pipeline polls SQL instead.
        env.update(XDG_DATA_HOME=str(self.data_home), INGEST_DESK_AWAIT_SEGMENTS_MS="0")
        env.update(self.extra_env)
        env.update(more)
        return env

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "app.cli", *args]

    def run(self, *args: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args), cwd=REPO, env=self.env(**env), capture_output=True, text=True,
            timeout=timeout, check=False,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args), cwd=REPO, env=self.env(**env), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )

    def store(self) -> TaskStore:
        return TaskStore.open(self.devstack.env["INGEST_DESK_DATABASE_URL"])


def wait_for_line(process: subprocess.Popen[str], marker: str, timeout: float = 120) -> None:
    """Read stderr until `marker` (the test-only pause announcement)."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return
    out = process.stdout.read() if process.stdout and process.poll() is not None else ""
    raise AssertionError(f"never saw {marker!r}; stderr: {''.join(seen)[-3000:]} stdout: {out}")


def tasks_for(store: TaskStore, datasource: str) -> list[Task]:
    return store.tasks.list_tasks(datasource=datasource)


def overlord_task_ids(devstack: DevStack, datasource: str) -> list[str]:
    """Supervisor tasks the Overlord knows for the datasource (subtasks left out)."""
    response = httpx.get(
        f"{devstack.druid_url}/druid/indexer/v1/tasks",
        params={"datasource": datasource}, timeout=30,
    )
    response.raise_for_status()
    listed: list[dict[str, Any]] = response.json()
    return sorted({t["id"] for t in listed if t.get("type") == "index_parallel"})


def open_uploads(devstack: DevStack, datasource: str) -> list[str]:
    client = devstack.s3_client()
    prefix = f"{devstack.env['INGEST_DESK_S3_PREFIX']}/{datasource}/"
    answer = client.list_multipart_uploads(Bucket=devstack.env["INGEST_DESK_S3_BUCKET"],
                                           Prefix=prefix)
    return [u["Key"] for u in answer.get("Uploads", [])]


def explain(devstack: DevStack, task: Task | None, result: Any = None) -> str:
    """Everything a failing assertion needs: the task row, the CLI's output, Druid's task log."""
    parts = [f"task: {task}"]
    if result is not None:
        parts.append(f"cli stdout: {result.stdout}\ncli stderr: {result.stderr[-4000:]}")
    if task is not None and task.druid_task_id:
        parts.append(f"druid task log tail: {devstack.task_log(task.druid_task_id)[-4000:]}")
    return "\n".join(parts)
