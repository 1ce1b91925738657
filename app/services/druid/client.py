"""A synchronous Druid client: Overlord task API, task reports and logs, `/status`, Druid SQL."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import keyring
from keyring.errors import KeyringError
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from app.domain.druid import (
    DruidColumn,
    DruidStatus,
    DruidTaskState,
    DruidTaskStatus,
    RowStats,
    SqlResult,
    SqlValue,
    TaskReport,
)
from app.services.druid.answers import (
    condense_java_error,
    druid_message,
    last_lines,
    parse_report,
    report_error,
    task_location,
    task_state,
)
from app.services.druid.errors import (
    DruidAuthError,
    DruidCancelNotConfirmedError,
    DruidError,
    DruidExtensionMissingError,
    DruidHttpError,
    DruidNotFoundError,
    DruidSqlError,
    DruidUnavailableError,
    usable_url,
)
from app.services.druid.resubmit import ensure_same_spec
from app.services.druid.spec import IngestionSpec
from app.services.settings import APP_NAME, Settings

KEYRING_SERVICE = APP_NAME
KEYRING_PASSWORD = "druid_password"
S3_EXTENSION = "druid-s3-extensions"
PARQUET_EXTENSION = "druid-parquet-extensions"
TASK_API = "/druid/indexer/v1"
_BULK_CHUNK = 500
# The Overlord and a proxy in front of it answer these while restarting or electing a leader.
_TRANSIENT = frozenset({429, 500, 502, 503, 504})
# A Druid SQL 500 is usually the query's own failure; repeating it only wastes the cluster.
_TRANSIENT_SQL = frozenset({429, 502, 503})

SqlParameter = str | int | float | bool | datetime


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    initial_wait_s: float = 0.5
    max_wait_s: float = 8.0


class _TransientError(Exception):
    def __init__(self, message: str, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response


def _sql_parameter(value: SqlParameter) -> dict[str, object]:
    # bool before int: True is an int to Python but BOOLEAN to Druid.
    if isinstance(value, bool):
        return {"type": "BOOLEAN", "value": value}
    if isinstance(value, int):
        return {"type": "BIGINT", "value": value}
    if isinstance(value, float):
        return {"type": "DOUBLE", "value": value}
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return {"type": "TIMESTAMP", "value": moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]}
    return {"type": "VARCHAR", "value": value}


def _duration(value: object) -> int | None:
    return value if isinstance(value, int) and value >= 0 else None  # -1 while a task runs


def extension_problem(status: DruidStatus, staging_format: str = "ndjson.gz") -> str | None:
    """A sentence for the user when Druid lacks an extension this staging format needs."""
    needed = [S3_EXTENSION] + ([PARQUET_EXTENSION] if staging_format == "parquet" else [])
    missing = [name for name in needed if not status.has_extension(name)]
    if not missing:
        return None
    names = " and ".join(missing)
    load_list = ", ".join(f'"{name}"' for name in missing)
    where = f" at {status.url}" if status.url else ""
    return (
        f"Druid {status.version}{where} has not loaded {names}, which reading {staging_format} "
        f"staging files from S3 needs. Add {load_list} to druid.extensions.loadList on the "
        "Overlord and on every MiddleManager or Indexer, then restart them."
    )


class DruidClient:
    """One Druid cluster, reached through its router (or the Overlord and broker directly)."""

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        verify_tls: bool = True,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = usable_url(base_url).rstrip("/")
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._timeout_s = timeout_s
        self._username = username
        self._password_missing = bool(username) and password is None
        auth = httpx.BasicAuth(username, password or "") if username else None
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            verify=verify_tls,
            timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            transport=transport,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        password: str | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> DruidClient:
        """A client for the configured cluster; the password comes from the OS keyring."""
        if not settings.druid_url:
            raise DruidError("No Druid URL is configured (druid_url or INGEST_DESK_DRUID_URL).")
        if settings.druid_username and password is None:
            try:
                password = keyring.get_password(KEYRING_SERVICE, KEYRING_PASSWORD)
            except KeyringError:
                password = None  # reported as a missing password when Druid answers 401
        return cls(
            settings.druid_url,
            username=settings.druid_username,
            password=password,
            verify_tls=settings.druid_verify_tls,
            timeout_s=settings.druid_timeout_s,
            retry=retry,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DruidClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- transport -------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: str | None = None,
        params: dict[str, str | int] | None = None,
        transient: frozenset[int] = _TRANSIENT,
        attempts: int | None = None,
    ) -> httpx.Response:
        """One request with retries on connection failures, timeouts and `transient` statuses."""
        headers = {"Content-Type": "application/json"} if body is not None else None

        def once() -> httpx.Response:
            try:
                response = self._http.request(method, path, content=body, params=params,
                                              headers=headers)
            except httpx.TimeoutException as exc:
                raise _TransientError(
                    f"timed out after {self._timeout_s:g} s ({type(exc).__name__})"
                ) from exc
            except httpx.TransportError as exc:
                raise _TransientError(f"could not connect: {exc}") from exc
            if response.status_code in transient:
                raise _TransientError(f"HTTP {response.status_code}", response)
            return response

        retrying = Retrying(
            stop=stop_after_attempt(attempts or self._retry.attempts),
            # Exponential with jitter; built from parts that exist in every tenacity >= 8.2.
            wait=wait_exponential(multiplier=self._retry.initial_wait_s, max=self._retry.max_wait_s)
            + wait_random(0, self._retry.initial_wait_s),
            retry=retry_if_exception_type(_TransientError),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(once)
        except _TransientError as exc:
            tries = attempts or self._retry.attempts
            prefix = f"Druid at {self.base_url} did not answer {method} {path} ({tries} tries)"
            if exc.response is not None:
                message, _ = druid_message(exc.response)
                raise DruidUnavailableError(
                    f"{prefix}: HTTP {exc.response.status_code}: {message}",
                    status_code=exc.response.status_code,
                    druid_message=message,
                ) from exc
            raise DruidUnavailableError(f"{prefix}: {exc}") from exc

    def _raise_for(
        self, response: httpx.Response, method: str, path: str, sql: bool = False
    ) -> None:
        if response.is_success:
            return
        message, error_class = druid_message(response)
        code = response.status_code
        if code in (401, 403):
            if self._password_missing:
                message += (
                    f" (no Druid password for user {self._username!r} is stored in the keyring)"
                )
            raise DruidAuthError(code, message, method, path, error_class)
        if code == 404:
            raise DruidNotFoundError(code, message, method, path, error_class)
        if sql:
            raise DruidSqlError(code, message, method, path, error_class)
        raise DruidHttpError(code, message, method, path, error_class)

    def _json(self, method: str, path: str, body: str | None = None) -> Any:
        response = self._send(method, path, body=body)
        self._raise_for(response, method, path)
        return response.json()

    # ---- cluster -----------------------------------------------------------------------------

    def health(self) -> bool:
        """True when the node answers healthy; one quick try, since a doctor wants an answer."""
        response = self._send("GET", "/status/health", attempts=1)
        self._raise_for(response, "GET", "/status/health")
        return response.text.strip() == "true"

    def status(self) -> DruidStatus:
        """Version and loaded extensions, preferring the Overlord's own view through a router's
        management proxy: the router may load different extensions from the ingesting nodes."""
        for path in ("/proxy/overlord/status", "/status"):
            response = self._send("GET", path)
            if response.status_code == 404 and path != "/status":
                continue
            self._raise_for(response, "GET", path)
            body = response.json()
            if not isinstance(body, dict) or "version" not in body:
                continue
            modules = body.get("modules") or []
            artifacts = {str(m.get("artifact")) for m in modules if isinstance(m, dict)}
            return DruidStatus(
                version=str(body.get("version")),
                extensions=tuple(sorted(a for a in artifacts if a and a != "None")),
                url=self.base_url,
            )
        raise DruidError(f"{self.base_url}/status did not answer with Druid's status document")

    def properties(self) -> dict[str, str]:
        """The node's runtime properties (GET /status/properties), e.g. its null handling."""
        body = self._json("GET", "/status/properties")
        return {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}

    def require_extensions(self, staging_format: str = "ndjson.gz") -> DruidStatus:
        status = self.status()
        problem = extension_problem(status, staging_format)
        if problem:
            missing = S3_EXTENSION if not status.has_extension(S3_EXTENSION) else PARQUET_EXTENSION
            raise DruidExtensionMissingError(missing, problem)
        return status

    # ---- tasks --------------------------------------------------------------------------------

    def submit(self, spec: IngestionSpec) -> str:
        """Submit and return the task id; "already exists" counts only when Druid holds this
        very spec under our id (a submit whose answer was lost), else DruidTaskIdTakenError."""
        path = f"{TASK_API}/task"
        response = self._send("POST", path, body=spec.body)
        if response.status_code in (400, 409):
            message, _ = druid_message(response)
            if "already exists" in message.lower():
                ensure_same_spec(spec, self.task_spec(spec.task_id))
                return spec.task_id
        self._raise_for(response, "POST", path)
        task_id = response.json().get("task")
        return str(task_id) if task_id else spec.task_id

    def task_status(self, task_id: str) -> DruidTaskStatus:
        path = f"{TASK_API}/task/{quote(task_id, safe='')}/status"
        response = self._send("GET", path)
        if response.status_code == 404:
            return DruidTaskStatus(id=task_id, state=DruidTaskState.UNKNOWN)
        self._raise_for(response, "GET", path)
        status = response.json().get("status")
        if not isinstance(status, dict):
            return DruidTaskStatus(id=task_id, state=DruidTaskState.UNKNOWN)
        return DruidTaskStatus(
            id=task_id,
            state=task_state(status.get("statusCode"), status.get("runnerStatusCode")),
            error_message=status.get("errorMsg"),
            duration_ms=_duration(status.get("duration")),
            datasource=status.get("dataSource"),
            location=task_location(status.get("location")),
        )

    def task_spec(self, task_id: str) -> str | None:
        """The task's payload as the Overlord stored it (the spec it runs), as indented JSON;
        None when the Overlord does not know the id."""
        path = f"{TASK_API}/task/{quote(task_id, safe='')}"
        response = self._send("GET", path)
        if response.status_code == 404:
            return None
        self._raise_for(response, "GET", path)
        payload = response.json().get("payload")
        if not isinstance(payload, dict):
            return None
        return json.dumps(payload, indent=2)

    def bulk_status(self, task_ids: Sequence[str]) -> tuple[DruidTaskStatus, ...]:
        """Statuses in the order asked; ids the Overlord does not know come back UNKNOWN."""
        found: dict[str, DruidTaskStatus] = {}
        for start in range(0, len(task_ids), _BULK_CHUNK):
            chunk = list(task_ids[start : start + _BULK_CHUNK])
            answer = self._json("POST", f"{TASK_API}/taskStatus", json.dumps(chunk))
            for task_id, status in (answer or {}).items():
                if not isinstance(status, dict):
                    continue
                found[task_id] = DruidTaskStatus(
                    id=task_id,
                    state=task_state(status.get("status") or status.get("statusCode")),
                    error_message=status.get("errorMsg"),
                    duration_ms=_duration(status.get("duration")),
                    datasource=status.get("dataSource"),
                    location=task_location(status.get("location")),
                )
        return tuple(
            found.get(tid, DruidTaskStatus(id=tid, state=DruidTaskState.UNKNOWN))
            for tid in task_ids
        )

    def wait(self, task_id: str, timeout_s: float = 600.0, poll_s: float = 1.0) -> DruidTaskStatus:
        """Poll one task until it ends (tests and the CLI; the app polls in bulk)."""
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.task_status(task_id)
            if status.state.is_terminal or time.monotonic() >= deadline:
                return status
            self._sleep(poll_s)

    def cancel(
        self, task_id: str, confirm_timeout_s: float = 30.0, poll_s: float = 0.5
    ) -> DruidTaskStatus:
        """Ask the Overlord to shut the task down and return its final status once a status read
        confirms it ended (a shut-down task ends FAILED; one that finished first keeps SUCCESS)."""
        path = f"{TASK_API}/task/{quote(task_id, safe='')}/shutdown"
        response = self._send("POST", path)
        if response.status_code != 404:
            # 404: nothing is running under that id any more; the status read below says why.
            self._raise_for(response, "POST", path)
        deadline = time.monotonic() + confirm_timeout_s
        while True:
            status = self.task_status(task_id)
            if status.state.is_terminal or status.state is DruidTaskState.UNKNOWN:
                return status
            if time.monotonic() >= deadline:
                raise DruidCancelNotConfirmedError(
                    f"Druid accepted the shutdown of {task_id}, but it is still {status.state} "
                    f"after {confirm_timeout_s:g} s."
                )
            self._sleep(poll_s)

    def report(self, task_id: str) -> TaskReport:
        """The ingestionStatsAndErrors report (live while running, from task logs afterwards)."""
        path = f"{TASK_API}/task/{quote(task_id, safe='')}/reports"
        body = self._json("GET", path)
        return parse_report(task_id, body)

    def reports(self, task_id: str) -> RowStats:
        return self.report(task_id).row_stats

    def failure_reason(self, task_id: str) -> str | None:
        """Why a task failed, in Druid's words without stack frames. A parallel supervisor only
        says "Failed in phase[...]", so the reason is read from its failed subtasks' reports."""
        reason = self._report_error(task_id)
        status = self.task_status(task_id)
        if reason is None or reason.startswith("Failed in phase"):
            for subtask in self._failed_subtasks(task_id, status.datasource):
                detail = self._report_error(subtask)
                if detail:
                    return condense_java_error(detail)
        return condense_java_error(reason or status.error_message or "") or None

    def _report_error(self, task_id: str) -> str | None:
        path = f"{TASK_API}/task/{quote(task_id, safe='')}/reports"
        response = self._send("GET", path)
        if response.status_code == 404:
            return None
        self._raise_for(response, "GET", path)
        return report_error(response.json())

    def _failed_subtasks(self, task_id: str, datasource: str | None) -> list[str]:
        if not datasource:
            return []
        params: dict[str, str | int] = {"state": "complete", "datasource": datasource, "max": 200}
        response = self._send("GET", f"{TASK_API}/tasks", params=params)
        self._raise_for(response, "GET", f"{TASK_API}/tasks")
        return [
            str(task["id"])
            for task in response.json()
            if isinstance(task, dict)
            and task.get("groupId") == task_id
            and task.get("id") != task_id
            and task.get("statusCode") == "FAILED"
        ]

    def log_excerpt(self, task_id: str, max_bytes: int = 16_384) -> str | None:
        """The end of the task log, or None when Druid keeps no log for it."""
        path = f"{TASK_API}/task/{quote(task_id, safe='')}/log"
        response = self._send("GET", path, params={"offset": -abs(max_bytes)})
        if response.status_code == 404:
            return None
        self._raise_for(response, "GET", path)
        return response.text

    def log_tail(self, task_id: str, lines: int = 100, max_bytes: int = 65_536) -> str | None:
        """The last `lines` lines of the task log (read from its last `max_bytes`), or None when
        Druid keeps no log for it (an Indexer, unlike a MiddleManager, writes none per task)."""
        text = self.log_excerpt(task_id, max_bytes)
        if text is None:
            return None
        return last_lines(text, lines, cut=len(text.encode()) >= max_bytes)

    # ---- SQL ------------------------------------------------------------------------------------

    def sql(self, query: str, parameters: Sequence[SqlParameter] = ()) -> SqlResult:
        """Run a Druid SQL query with `?` placeholders bound to `parameters`, in UTC."""
        path = "/druid/v2/sql"
        body = json.dumps(
            {
                "query": query,
                "parameters": [_sql_parameter(value) for value in parameters],
                "resultFormat": "array",
                "header": True,
                "context": {"sqlTimeZone": "Etc/UTC"},
            }
        )
        response = self._send("POST", path, body=body, transient=_TRANSIENT_SQL)
        self._raise_for(response, "POST", path, sql=True)
        rows = response.json()
        if not isinstance(rows, list) or not rows:
            raise DruidSqlError(response.status_code, "no header row in the answer", "POST", path)
        header = tuple(str(name) for name in rows[0])
        values: tuple[tuple[SqlValue, ...], ...] = tuple(tuple(row) for row in rows[1:])
        return SqlResult(columns=header, rows=values)

    def datasources(self) -> tuple[str, ...]:
        result = self.sql(
            "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES "
            "WHERE TABLE_SCHEMA = 'druid' ORDER BY TABLE_NAME"
        )
        return tuple(str(name) for name in result.column("TABLE_NAME"))

    def columns(self, datasource: str) -> tuple[DruidColumn, ...]:
        """The datasource's columns in order; empty when Druid has no such (queryable) table."""
        result = self.sql(
            "SELECT COLUMN_NAME, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS "
            "WHERE TABLE_SCHEMA = 'druid' AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            [datasource],
        )
        return tuple(DruidColumn(name=str(n), sql_type=str(t)) for n, t in result.rows)
