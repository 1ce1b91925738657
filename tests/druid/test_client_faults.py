"""The Druid client under injected faults: retries, timeouts, auth, Druid's words passed through."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from app.domain.druid import DruidTaskState
from app.domain.tasks import IngestMode
from app.domain.validation import ColumnType, StagingResult
from app.services.druid import (
    KEYRING_PASSWORD,
    KEYRING_SERVICE,
    DruidAuthError,
    DruidCancelNotConfirmedError,
    DruidClient,
    DruidError,
    DruidExtensionMissingError,
    DruidHttpError,
    DruidNotFoundError,
    DruidReportError,
    DruidSqlError,
    DruidUnavailableError,
    RetryPolicy,
    build_spec,
    extension_problem,
)
from app.services.settings import Settings
from tests.support.credentials import (
    MemoryKeyring,
)
from tests.support.waiting import wait_until

from .fake import FakeDruid, as_druid_writes_it, druid_report, sql_rows

STAGING = StagingResult(
    path=Path("/tmp/s.ndjson.gz"),
    format="ndjson.gz",
    rows=3,
    bytes=10,
    sha256="12" * 32,
    min_time_ms=0,
    max_time_ms=1000,
    columns=(("city", ColumnType.TEXT),),
)
SPEC = build_spec("sales", STAGING, ["s3://b/k.ndjson.gz"], IngestMode.APPEND)
UNAVAILABLE = httpx.Response(503, text="No overlord leader is available")


# ---- retries and timeouts ---------------------------------------------------------------------


def test_transient_5xx_then_success(fake: FakeDruid) -> None:
    sleeps: list[float] = []
    client = fake.client(sleep=sleeps.append, retry=RetryPolicy(attempts=4, initial_wait_s=0.5))
    fake.inject("/proxy/overlord/status", UNAVAILABLE, httpx.Response(502, text="Bad Gateway"))
    status = client.status()
    assert status.version == "25.0.0"
    assert fake.paths().count("GET /proxy/overlord/status") == 3
    assert len(sleeps) == 2 and all(s > 0 for s in sleeps)


def test_5xx_until_retries_run_out_keeps_druids_words(fake: FakeDruid) -> None:
    fake.inject("/druid/indexer/v1/task", *[UNAVAILABLE] * 3)
    with pytest.raises(DruidUnavailableError) as info:
        fake.client().submit(SPEC)
    assert info.value.status_code == 503
    assert info.value.druid_message == "No overlord leader is available"
    assert "3 tries" in str(info.value)


def test_timeouts_are_retried(fake: FakeDruid) -> None:
    fake.inject("/druid/indexer/v1/taskStatus", httpx.ReadTimeout("slow"), httpx.ConnectError("x"))
    fake.add_task("t1", "SUCCESS")
    (status,) = fake.client().bulk_status(["t1"])
    assert status.state is DruidTaskState.SUCCESS


def test_timeouts_until_retries_run_out(fake: FakeDruid) -> None:
    fake.inject("/status", *[httpx.ReadTimeout("slow")] * 5)
    with pytest.raises(DruidUnavailableError, match="timed out"):
        fake.client(timeout_s=2.0).health()
    assert len(fake.requests) == 1  # health answers after one try


@pytest.fixture
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """Accepts connections and never answers: a real socket-level read timeout. Yields its URL
    and the connections it has accepted."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", held
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def test_real_read_timeout_is_bounded(silent_server: tuple[str, list[socket.socket]]) -> None:
    url, accepted = silent_server
    client = DruidClient(
        url,
        timeout_s=0.2,
        retry=RetryPolicy(attempts=2, initial_wait_s=0.01, max_wait_s=0.01),
    )
    with pytest.raises(DruidUnavailableError, match=r"timed out after 0\.2 s"):
        client.task_status("t1")
    # Bounded: each attempt gave up on its own read timeout, and it stopped after the policy's
    # two attempts (each on a fresh connection, the timed-out one being dropped).
    wait_until(lambda: len(accepted) >= 2, what="the server saw both attempts")
    assert len(accepted) == 2


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = DruidClient(
        f"http://127.0.0.1:{port}", retry=RetryPolicy(attempts=2, initial_wait_s=0.01)
    )
    with pytest.raises(DruidUnavailableError, match="could not connect"):
        client.status()


# ---- submit -------------------------------------------------------------------------------------


def test_submit_returns_the_task_id(fake: FakeDruid) -> None:
    assert fake.client().submit(SPEC) == SPEC.task_id
    assert fake.tasks[SPEC.task_id]["statusCode"] == "RUNNING"


def test_already_exists_counts_as_submitted(fake: FakeDruid) -> None:
    client = fake.client()
    assert client.submit(SPEC) == SPEC.task_id
    assert client.submit(SPEC) == SPEC.task_id
    assert len(fake.tasks) == 1


def test_a_lost_answer_then_already_exists_is_submitted(fake: FakeDruid) -> None:
    # The Overlord took the task, but its answer never arrived; the retry meets the duplicate,
    # and Druid's copy of the spec (in its own notation) is ours.
    fake.add_task(SPEC.task_id)
    fake.payloads[SPEC.task_id] = as_druid_writes_it(SPEC.payload())
    fake.inject("/druid/indexer/v1/task", httpx.ReadTimeout("answer lost"))
    assert fake.client().submit(SPEC) == SPEC.task_id


def test_a_rejected_spec_shows_druids_message(fake: FakeDruid) -> None:
    text = "Cannot construct instance of `InputSource`, problem: Invalid type id 's3'"
    fake.inject("/druid/indexer/v1/task", httpx.Response(400, json={"error": text}))
    with pytest.raises(DruidHttpError) as info:
        fake.client().submit(SPEC)
    assert info.value.druid_message == text and info.value.status_code == 400
    assert text in str(info.value)


# ---- status, bulk status, cancel ---------------------------------------------------------------


def test_failed_task_carries_druids_error(fake: FakeDruid) -> None:
    message = "java.lang.RuntimeException: Max parse exceptions[0] exceeded"
    fake.add_task("t1", "FAILED", message)
    status = fake.client().task_status("t1")
    assert status.state is DruidTaskState.FAILED
    assert status.error_message == message
    assert status.duration_ms == 1234
    (bulk,) = fake.client().bulk_status(["t1"])
    assert (bulk.state, bulk.error_message) == (DruidTaskState.FAILED, message)


def test_unknown_tasks_are_unknown(fake: FakeDruid) -> None:
    fake.add_task("b", "SUCCESS")
    fake.add_task("c", "RUNNING")
    client = fake.client()
    assert client.task_status("a").state is DruidTaskState.UNKNOWN
    states = [s.state for s in client.bulk_status(["a", "b", "c"])]
    assert states == [DruidTaskState.UNKNOWN, DruidTaskState.SUCCESS, DruidTaskState.RUNNING]
    assert client.bulk_status([]) == ()


def test_cancel_is_confirmed_by_a_status_read(fake: FakeDruid) -> None:
    fake.add_task("t1")
    fake.running_reads_after_shutdown = 2
    status = fake.client().cancel("t1", confirm_timeout_s=5)
    assert status.state is DruidTaskState.FAILED
    assert status.error_message == "Shutdown request from user"
    assert fake.paths().count("GET /druid/indexer/v1/task/t1/status") == 3


def test_cancel_that_never_takes_effect_says_so(fake: FakeDruid) -> None:
    fake.add_task("t1")
    fake.ignore_shutdown = True
    with pytest.raises(DruidCancelNotConfirmedError, match="still RUNNING"):
        fake.client().cancel("t1", confirm_timeout_s=0.05)


def test_cancel_of_a_finished_task_reports_its_end(fake: FakeDruid) -> None:
    fake.add_task("t1", "SUCCESS")
    assert fake.client().cancel("t1").state is DruidTaskState.SUCCESS
    assert fake.client().cancel("gone").state is DruidTaskState.UNKNOWN


# ---- reports and logs ---------------------------------------------------------------------------


@pytest.mark.parametrize("parallel", [True, False])
def test_reports_read_row_stats(fake: FakeDruid, parallel: bool) -> None:
    fake.add_task("t1", "SUCCESS")
    fake.reports["t1"] = druid_report("t1", processed=3, parallel=parallel)
    stats = fake.client().reports("t1")
    assert (stats.processed, stats.processed_with_error, stats.thrown_away) == (3, 0, 0)
    assert stats.clean and stats.segment_availability_confirmed is True


def test_report_with_errors_lists_them(fake: FakeDruid) -> None:
    fake.add_task("t1", "FAILED", "Max parse exceptions[0] exceeded")
    report = druid_report("t1", processed=2, errors=1)
    payload = report["ingestionStatsAndErrors"]["payload"]
    payload["unparseableEvents"] = {
        "buildSegments": [{"details": "Could not convert value [yes] to long for dimension [n]"}]
    }
    payload["errorMsg"] = "Max parse exceptions[0] exceeded\n\tat org.apache.druid..."
    fake.reports["t1"] = report
    full = fake.client().report("t1")
    assert not full.row_stats.clean and full.row_stats.processed_with_error == 1
    assert full.row_stats.parse_errors == (
        "Could not convert value [yes] to long for dimension [n]",
    )
    assert full.error_message is not None and full.error_message.startswith("Max parse")


def test_missing_or_odd_reports(fake: FakeDruid) -> None:
    client = fake.client()
    with pytest.raises(DruidNotFoundError, match="Cannot find any task"):
        client.reports("nope")
    fake.add_task("t1", "RUNNING")
    fake.reports["t1"] = {"ingestionStatsAndErrors": {"payload": {"rowStats": {}}}}
    with pytest.raises(DruidReportError, match="buildSegments"):
        client.reports("t1")


def test_log_excerpt_asks_for_the_tail(fake: FakeDruid) -> None:
    fake.add_task("t1", "FAILED")
    fake.logs["t1"] = "early lines\n" * 1000 + "the failure at the end\n"
    excerpt = fake.client().log_excerpt("t1", 2048)
    asked = next(r for r in fake.requests if r.url.path.endswith("/t1/log"))
    assert asked.url.params["offset"] == "-2048"  # Druid's "this many bytes from the end"
    assert excerpt is not None and len(excerpt.encode()) == 2048
    assert excerpt.endswith("the failure at the end\n")
    assert fake.client().log_excerpt("missing") is None


# ---- extensions, auth --------------------------------------------------------------------------


def test_missing_s3_extension_is_explained(fake: FakeDruid) -> None:
    fake.modules = [{"name": "x", "artifact": "druid-kafka-indexing-service"}]
    client = fake.client()
    status = client.status()
    assert not status.has_extension("druid-s3-extensions")
    with pytest.raises(DruidExtensionMissingError) as info:
        client.require_extensions()
    assert info.value.extension == "druid-s3-extensions"
    message = str(info.value)
    assert "druid-s3-extensions" in message and "druid.extensions.loadList" in message
    assert "25.0.0" in message


def test_parquet_needs_its_extension_too(fake: FakeDruid) -> None:
    status = fake.client().status()
    assert extension_problem(status, "ndjson.gz") is None
    problem = extension_problem(status, "parquet")
    assert problem is not None and "druid-parquet-extensions" in problem
    assert "druid-s3-extensions" not in problem


def test_status_falls_back_when_there_is_no_management_proxy(fake: FakeDruid) -> None:
    fake.proxy_overlord = False
    assert fake.client().require_extensions().version == "25.0.0"
    assert fake.paths() == ["GET /proxy/overlord/status", "GET /status"]


def test_401_is_an_auth_error(fake: FakeDruid) -> None:
    fake.require_auth = ("ops", "right")
    with pytest.raises(DruidAuthError, match="401"):
        fake.client(username="ops", password="wrong").submit(SPEC)
    assert len(fake.requests) == 1  # never retried
    assert fake.client(username="ops", password="right").submit(SPEC) == SPEC.task_id


def test_password_comes_from_the_keyring(fake: FakeDruid, memory_keyring: MemoryKeyring) -> None:
    fake.require_auth = ("ops", "s3cret")
    settings = Settings(druid_url="http://druid.test:8888", druid_username="ops")
    with pytest.raises(DruidAuthError, match="no Druid password"):
        DruidClient.from_settings(settings, transport=fake.transport()).health()
    memory_keyring.set_password(KEYRING_SERVICE, KEYRING_PASSWORD, "s3cret")
    with DruidClient.from_settings(settings, transport=fake.transport()) as client:
        assert client.health() is True


def test_settings_without_a_url() -> None:
    with pytest.raises(DruidError, match="No Druid URL"):
        DruidClient.from_settings(Settings(druid_url=None))


# ---- SQL --------------------------------------------------------------------------------------


def test_sql_binds_typed_parameters(fake: FakeDruid) -> None:
    fake.sql_answers.append(sql_rows(["n", "last"], [4, "2024-01-02T00:00:00.000Z"]))
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    result = fake.client().sql("SELECT ... ?, ?, ?, ?, ?", ["a", 1, 2.5, True, moment])
    assert result.columns == ("n", "last") and result.first("n") == 4
    body = httpx.Request("POST", "x", content=fake.requests[-1].content).read()
    import json

    sent = json.loads(body)
    assert sent["resultFormat"] == "array" and sent["header"] is True
    assert [p["type"] for p in sent["parameters"]] == [
        "VARCHAR",
        "BIGINT",
        "DOUBLE",
        "BOOLEAN",
        "TIMESTAMP",
    ]
    assert sent["parameters"][4]["value"] == "2024-01-01 00:00:00.000"


def test_sql_errors_are_verbatim_and_not_retried(fake: FakeDruid) -> None:
    answer = {
        "error": "Plan validation failed",
        "errorMessage": "org.apache.calcite.runtime.CalciteContextException: "
        "From line 1, column 15 to line 1, column 19: Object 'nope' not found",
        "errorClass": "org.apache.calcite.tools.ValidationException",
        "host": None,
    }
    fake.sql_answers.append(httpx.Response(400, json=answer))
    with pytest.raises(DruidSqlError) as info:
        fake.client().sql("SELECT * FROM nope")
    assert info.value.druid_message == f"Plan validation failed: {answer['errorMessage']}"
    assert info.value.error_class == "org.apache.calcite.tools.ValidationException"
    fake.sql_answers.append(httpx.Response(500, json={"error": "Unknown exception"}))
    with pytest.raises(DruidSqlError, match="Unknown exception"):
        fake.client().sql("SELECT 1")
    assert len(fake.requests) == 2


def test_sql_retries_a_busy_broker(fake: FakeDruid) -> None:
    fake.sql_answers.extend([UNAVAILABLE, sql_rows(["TABLE_NAME"], ["a"], ["b"])])
    assert fake.client().datasources() == ("a", "b")


def test_columns_come_from_information_schema(fake: FakeDruid) -> None:
    fake.sql_answers.append(
        sql_rows(["COLUMN_NAME", "DATA_TYPE"], ["__time", "TIMESTAMP"], ["qty", "BIGINT"])
    )
    columns = fake.client().columns("sales")
    assert [(c.name, c.sql_type) for c in columns] == [("__time", "TIMESTAMP"), ("qty", "BIGINT")]
