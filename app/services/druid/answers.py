"""Read Druid's answers: its error texts, task states and ingestion task reports."""

from __future__ import annotations

import json

import httpx

from app.domain.druid import DruidTaskState, RowStats, TaskReport
from app.services.druid.errors import DruidReportError

MESSAGE_LIMIT = 4000


def druid_message(response: httpx.Response) -> tuple[str, str | None]:
    """Druid's error text as it wrote it, and the Java error class when SQL names one."""
    text = response.text.strip()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        error, detail = body.get("error"), body.get("errorMessage")
        error_class = body.get("errorClass")
        klass = error_class if isinstance(error_class, str) else None
        if isinstance(detail, str) and detail:
            if isinstance(error, str) and error and error not in detail:
                return f"{error}: {detail}"[:MESSAGE_LIMIT], klass
            return detail[:MESSAGE_LIMIT], klass
        if isinstance(error, str) and error:
            return error[:MESSAGE_LIMIT], klass
    return (text[:MESSAGE_LIMIT] or response.reason_phrase or "(empty response)"), None


def task_state(code: object, runner_code: object = None) -> DruidTaskState:
    try:
        state = DruidTaskState(str(code))
    except ValueError:
        return DruidTaskState.UNKNOWN
    if state is DruidTaskState.RUNNING and runner_code in ("WAITING", "PENDING"):
        return DruidTaskState(str(runner_code))
    return state


def task_location(value: object) -> str | None:
    """Where a task status says the task runs, as host:port."""
    # Before a worker takes the task Druid answers {"host": null, "port": -1, "tlsPort": -1}.
    if not isinstance(value, dict) or not value.get("host"):
        return None
    port = value.get("port")
    if not isinstance(port, int) or port < 0:
        port = value.get("tlsPort")
    if isinstance(port, int) and port >= 0:
        return f"{value['host']}:{port}"
    return str(value["host"])


def last_lines(text: str, lines: int, cut: bool) -> str:
    """The last `lines` lines of a log tail; `cut` when the tail was read from a byte offset."""
    kept = text.splitlines()
    # A tail read by byte offset usually starts mid-line; that fragment would only mislead.
    if cut and len(kept) > 1:
        kept = kept[1:]
    return "\n".join(kept[-lines:])


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0


def parse_report(task_id: str, body: object) -> TaskReport:
    """Read the shape Druid 25 writes:
    {"ingestionStatsAndErrors": {"payload": {"ingestionState", "rowStats": {"buildSegments":
    {processed, processedWithError, thrownAway, unparseable}}, "unparseableEvents", "errorMsg",
    "segmentAvailabilityConfirmed"}}}, with rowStats nested under "totals" in parallel mode."""
    try:
        payload = body["ingestionStatsAndErrors"]["payload"]  # type: ignore[index]
        row_stats = payload.get("rowStats") or {}
    except (KeyError, TypeError, AttributeError) as exc:
        raise DruidReportError(f"task {task_id} has no ingestionStatsAndErrors report") from exc
    # Parallel mode nests the sum of its subtasks under "totals"; sequential mode does not.
    totals = row_stats.get("totals")
    build = (totals if isinstance(totals, dict) else row_stats).get("buildSegments")
    if not isinstance(build, dict):
        raise DruidReportError(f"task {task_id}'s report has no buildSegments rowStats yet")
    events = payload.get("unparseableEvents") or {}
    parse_errors: list[str] = []
    for phase in events.values() if isinstance(events, dict) else ():
        for event in phase if isinstance(phase, list) else ():
            details = event.get("details") if isinstance(event, dict) else event
            parse_errors.append(str(details)[:MESSAGE_LIMIT])
    confirmed = payload.get("segmentAvailabilityConfirmed")
    error = payload.get("errorMsg")
    return TaskReport(
        task_id=task_id,
        ingestion_state=payload.get("ingestionState"),
        row_stats=RowStats(
            processed=_int(build.get("processed")),
            processed_with_error=_int(build.get("processedWithError")),
            thrown_away=_int(build.get("thrownAway")),
            unparseable=_int(build.get("unparseable")),
            parse_errors=tuple(parse_errors),
            segment_availability_confirmed=confirmed if isinstance(confirmed, bool) else None,
        ),
        error_message=error if isinstance(error, str) and error else None,
    )


def condense_java_error(text: str) -> str:
    """Druid's error text without Java stack frames: the message and its "Caused by:" lines,
    which usually name the real problem (e.g. S3's NoSuchKey), kept word for word."""
    kept = [
        line
        for line in text.splitlines()
        if line.strip() and not line.startswith(("\tat ", "\t...")) and not line.startswith("at ")
    ]
    return "\n".join(kept)[:MESSAGE_LIMIT]


def report_error(body: object) -> str | None:
    """The errorMsg of a task report, leniently: failed tasks' reports may lack rowStats."""
    try:
        error = body["ingestionStatsAndErrors"]["payload"]["errorMsg"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    return error if isinstance(error, str) and error else None
