"""A desk for the command-line tests: moto's S3 server, the fake Overlord over HTTP, a store."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from app.cli import cli
from app.domain.store import EventKind, TaskEvent
from app.domain.tasks import RETRYABLE_STATES, Task, TaskState, is_legal_transition
from app.services.store import TaskStore
from app.services.store.tempcluster import TempPostgres

# Shared rather than copied: moto in its own process, the in-memory keyring and no real AWS
# credentials, one PostgreSQL per session.
from tests.storage.conftest import MotoServer, bucket, isolated_credentials, moto  # noqa: F401
from tests.store.conftest import create_database, pg_server  # noqa: F401

from .overlord import CountingOverlord, ServedOverlord

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Desk:
    """Settings that point `ingest-desk` at the test services, for in-process and subprocess
    runs alike (the fixture also puts them in this process's environment)."""

    env: dict[str, str]
    database_url: str

    def invoke(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    def subprocess_env(self, **more: str) -> dict[str, str]:
        # The subprocess has no in-memory keyring: the null backend stands in for it.
        return {
            **os.environ, **self.env, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", **more,
        }

    def run(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args], cwd=REPO, env=self.subprocess_env(**env),
            capture_output=True, text=True, timeout=timeout, check=False,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args], cwd=REPO, env=self.subprocess_env(**env),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def store(self) -> TaskStore:
        return TaskStore.open(self.database_url)

    def tasks(self, datasource: str) -> list[Task]:
        with self.store() as store:
            return store.tasks.list_tasks(datasource=datasource)

    def history(self, task_id: str) -> list[TaskEvent]:
        with self.store() as store:
            return store.tasks.history(task_id)


def illegal_moves(history: list[TaskEvent]) -> list[str]:
    """Every recorded transition the task state machine does not allow (empty when all are
    legal). A retry is its own kind of event (a terminal task back to the queue), allowed only
    from a retryable state."""
    illegal = []
    for event in history:
        source, target = event.from_state, event.to_state
        if source is None or event.kind is EventKind.CREATED:
            continue
        if event.kind is EventKind.RETRIED:
            legal = source in RETRYABLE_STATES and target is TaskState.QUEUED
        else:
            legal = source is target or is_legal_transition(source, target)
        if not legal:
            illegal.append(f"{event.kind}: {source} -> {target}")
    return illegal


def desk_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, *, s3_endpoint: str = "",
    bucket_name: str = "", druid_url: str = "",
) -> Desk:
    for name in list(os.environ):
        if name.startswith("INGEST_DESK_"):
            monkeypatch.delenv(name)
    env = {
        "INGEST_DESK_SETTINGS_FILE": str(tmp_path / "no-settings.toml"),
        "INGEST_DESK_DATABASE_URL": database_url,
        # Druid's task ends without waiting for handoff; the verify step polls quickly.
        "INGEST_DESK_AWAIT_SEGMENTS_MS": "0",
        "INGEST_DESK_VERIFY_TIMEOUT_S": "20",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    if s3_endpoint:
        env.update(
            INGEST_DESK_S3_ENDPOINT_URL=s3_endpoint, INGEST_DESK_S3_BUCKET=bucket_name,
            INGEST_DESK_S3_PREFIX="desk", INGEST_DESK_S3_REGION="us-east-1",
            INGEST_DESK_S3_PATH_STYLE="true",
        )
    if druid_url:
        env["INGEST_DESK_DRUID_URL"] = druid_url
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[variable] = str(tmp_path / "xdg" / variable.lower())
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Desk(env, database_url)


@pytest.fixture
def overlord() -> Iterator[ServedOverlord]:
    served = ServedOverlord(CountingOverlord()).start()
    yield served
    served.stop()


@pytest.fixture
def fake(overlord: ServedOverlord) -> CountingOverlord:
    assert isinstance(overlord.fake, CountingOverlord)
    return overlord.fake


@pytest.fixture
def desk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto: MotoServer, bucket: str,  # noqa: F811
    overlord: ServedOverlord,
) -> Desk:
    """Embedded SQLite store, moto's S3, the fake Overlord answering over HTTP."""
    return desk_environment(
        monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'tasks.sqlite3'}",
        s3_endpoint=moto.endpoint, bucket_name=bucket, druid_url=overlord.url,
    )


@pytest.fixture
def pg_desk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto: MotoServer, bucket: str,  # noqa: F811
    overlord: ServedOverlord, pg_server: TempPostgres,  # noqa: F811
) -> Desk:
    """The same with the shared PostgreSQL store (a database of its own)."""
    return desk_environment(
        monkeypatch, tmp_path, create_database(pg_server),
        s3_endpoint=moto.endpoint, bucket_name=bucket, druid_url=overlord.url,
    )


def write_csv(path: Path, rows: int = 60, qty: str = "{i}") -> Path:
    lines = ["when,city,qty"] + [
        f"2024-03-{1 + i % 3:02d} 10:{i % 60:02d}:00,city{i % 4},{qty.format(i=i)}"
        for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
