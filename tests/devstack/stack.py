"""Start, reuse and talk to the dev stack from pytest; the stack itself is scripts/devstack."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.waiting import WaitTimedOut, wait_until

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "devstack"
# A cold start downloads Druid (about a minute here); a warm one takes about twenty seconds.
UP_TIMEOUT_S = 20 * 60


class DevStackError(RuntimeError):
    """The stack could not be started, or Druid answered with an error."""


def parse_exports(text: str) -> dict[str, str]:
    """The variables from `export NAME=value` lines, as the shell would see them."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("export "):
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = shlex.split(value)[0] if value else ""
    return env


def _run(command: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), command], capture_output=True, text=True, timeout=timeout_s, check=False
    )


def is_up() -> bool:
    return _run("status", timeout_s=60).returncode == 0


def up() -> dict[str, str]:
    """Start the stack (a no-op when it runs) and return the settings it exports."""
    result = _run("up", timeout_s=UP_TIMEOUT_S)
    if result.returncode != 0:
        raise DevStackError(f"scripts/devstack up failed:\n{result.stderr[-6000:]}")
    return parse_exports(result.stdout)


def down() -> None:
    _run("down", timeout_s=300)


def state_dir() -> Path:
    override = os.environ.get("DEVSTACK_STATE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "ingest-desk" / "devstack"


def log_tails(lines: int = 40) -> str:
    """The end of every service log, for a failing test's report."""
    parts = []
    for path in sorted((state_dir() / "logs").glob("*.log")):
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        parts.append(f"---- {path.name} (last {len(tail)} lines)\n" + "\n".join(tail))
    return "\n".join(parts)


@dataclass(frozen=True)
class DevStack:
    """A running stack: its exported settings plus a small Druid client for assertions."""

    env: dict[str, str]

    @property
    def druid_url(self) -> str:
        return self.env["INGEST_DESK_DRUID_URL"]

    def s3_client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.env["INGEST_DESK_S3_ENDPOINT_URL"],
            region_name=self.env["AWS_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )

    def sql(self, query: str, timeout_s: float = 60.0) -> list[dict[str, Any]]:
        response = httpx.post(
            f"{self.druid_url}/druid/v2/sql", json={"query": query}, timeout=timeout_s
        )
        if response.status_code != 200:
            raise DevStackError(f"SQL failed ({response.status_code}): {response.text}")
        rows: list[dict[str, Any]] = response.json()
        return rows

    def submit_task(self, spec: dict[str, Any]) -> str:
        response = httpx.post(f"{self.druid_url}/druid/indexer/v1/task", json=spec, timeout=60)
        if response.status_code != 200:
            raise DevStackError(f"task rejected ({response.status_code}): {response.text}")
        task_id: str = response.json()["task"]
        return task_id

    def task_status(self, task_id: str) -> dict[str, Any]:
        response = httpx.get(f"{self.druid_url}/druid/indexer/v1/task/{task_id}/status", timeout=30)
        response.raise_for_status()
        status: dict[str, Any] = response.json()["status"]
        return status

    def wait_for_task(self, task_id: str, timeout_s: float = 300.0) -> dict[str, Any]:
        def ended() -> dict[str, Any] | None:
            status = self.task_status(task_id)
            return status if status["status"] in ("SUCCESS", "FAILED") else None

        try:
            return wait_until(ended, timeout=timeout_s, interval=1.0, what=f"task {task_id} ended")
        except WaitTimedOut:
            raise DevStackError(f"task {task_id} still running after {timeout_s:.0f}s") from None

    def task_log(self, task_id: str) -> str:
        response = httpx.get(f"{self.druid_url}/druid/indexer/v1/task/{task_id}/log", timeout=30)
        return response.text if response.status_code == 200 else f"(no log: {response.status_code})"

    def wait_for_rows(
        self,
        query: str,
        timeout_s: float = 120.0,
        until: Callable[[list[dict[str, Any]]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Rows once the datasource is queryable: segments reach the historical asynchronously,
        one interval at a time, so `until` can wait for the whole answer (the last rows are
        returned at the deadline, for the caller's assertion to show)."""
        last_error = ""
        last: list[dict[str, Any]] = []

        def answered() -> list[dict[str, Any]] | None:
            nonlocal last, last_error
            try:
                rows = self.sql(query)
            except DevStackError as exc:  # the table is unknown until the broker sees a segment
                last_error = str(exc)
                return None
            last = rows
            return rows if rows and (until is None or until(rows)) else None

        try:
            return wait_until(answered, timeout=timeout_s, interval=1.0, what=f"{query} answered")
        except WaitTimedOut:
            if last:
                return last
        raise DevStackError(f"no rows for {query!r} after {timeout_s:.0f}s: {last_error}")

    def drop_datasource(self, datasource: str) -> None:
        # Marks the segments unused so repeated runs do not pile data up in the dev stack.
        httpx.delete(f"{self.druid_url}/druid/coordinator/v1/datasources/{datasource}", timeout=30)
