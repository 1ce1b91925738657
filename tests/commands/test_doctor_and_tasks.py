"""`doctor` (one verdict per service, exit 1 when any fails) and `tasks` (list, filter, JSON,
and `--watch` following changes live in its own process)."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from app.commands.problems import EXIT_SETUP
from app.domain.store import TaskPatch
from app.domain.tasks import IngestMode, TaskState
from app.pipeline.choices import IngestChoices
from app.pipeline.tasks import create_task
from app.services.store import TaskStore

from .conftest import Desk, desk_environment, write_csv
from .overlord import CountingOverlord

# -- doctor ------------------------------------------------------------------------------------


def verdicts(output: str) -> dict[str, str]:
    """{check name: "ok" or "FAIL"} from doctor's lines, for the three services (later checks,
    such as the open uploads, have tests of their own)."""
    found = {}
    for line in output.splitlines():
        mark, _, rest = line.partition(" ")
        name = rest.split()[0] if rest.split() else ""
        if mark in ("ok", "FAIL") and name in ("database", "s3", "druid"):
            found[name] = mark
    return found


def upgraded(desk: Desk) -> Desk:
    result = desk.invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    return desk


def test_doctor_passes_when_every_service_answers(desk: Desk) -> None:
    result = upgraded(desk).invoke("doctor")
    assert result.exit_code == 0, result.output
    assert verdicts(result.output) == {"database": "ok", "s3": "ok", "druid": "ok"}
    assert "embedded SQLite" in result.output
    assert "25.0.0" in result.output  # the version the fake Overlord reports


def test_doctor_on_the_shared_postgresql_store(pg_desk: Desk) -> None:
    empty = pg_desk.invoke("doctor")
    assert empty.exit_code == EXIT_SETUP
    assert verdicts(empty.output) == {"database": "FAIL", "s3": "ok", "druid": "ok"}
    assert "ingest-desk db upgrade" in empty.output

    result = upgraded(pg_desk).invoke("doctor")
    assert result.exit_code == 0, result.output
    assert "PostgreSQL (shared)" in result.output


def test_doctor_without_s3_and_druid_settings_fails_both_with_hints(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    desk = desk_environment(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'tasks.sqlite3'}")
    result = upgraded(desk).invoke("doctor")
    assert result.exit_code == EXIT_SETUP
    assert verdicts(result.output) == {"database": "ok", "s3": "FAIL", "druid": "FAIL"}
    assert "INGEST_DESK_S3_BUCKET" in result.output
    assert "INGEST_DESK_DRUID_URL" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "fault", ["no_s3_extension", "unhealthy", "auth", "unreachable", "server_error"]
)
def test_doctor_fails_druid_alone_when_druid_is_not_usable(
    desk: Desk, fake: CountingOverlord, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    import httpx

    if fault == "no_s3_extension":
        fake.modules = []
    elif fault == "unhealthy":
        fake.inject("/status/health", *[httpx.Response(200, json=False)] * 5)
    elif fault == "auth":
        fake.require_auth = ("admin", "secret")
    elif fault == "unreachable":
        monkeypatch.setenv("INGEST_DESK_DRUID_URL", "http://127.0.0.1:9")
    else:
        fake.inject("/status", *[httpx.Response(500, text="boom")] * 20)
    result = upgraded(desk).invoke("doctor")
    assert result.exit_code == EXIT_SETUP, result.output
    assert verdicts(result.output) == {"database": "ok", "s3": "ok", "druid": "FAIL"}
    assert "hint:" in result.output
    assert "Traceback" not in result.output


def test_doctor_fails_s3_when_the_bucket_is_missing(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGEST_DESK_S3_BUCKET", "no-such-bucket-here")
    result = upgraded(desk).invoke("doctor")
    assert result.exit_code == EXIT_SETUP, result.output
    assert verdicts(result.output) == {"database": "ok", "s3": "FAIL", "druid": "ok"}
    assert "no-such-bucket-here" in result.output


@pytest.mark.parametrize("fault", ["unreachable", "no_credentials"])
def test_doctor_fails_s3_alone_when_s3_is_not_usable(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fault: str
) -> None:
    if fault == "unreachable":
        monkeypatch.setenv("INGEST_DESK_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    else:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name, raising=False)
    result = upgraded(desk).invoke("doctor")
    assert result.exit_code == EXIT_SETUP, result.output
    assert verdicts(result.output) == {"database": "ok", "s3": "FAIL", "druid": "ok"}
    assert "hint:" in result.output
    assert "Traceback" not in result.output


def test_doctor_fails_the_database_it_cannot_open(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGEST_DESK_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
    result = desk.invoke("doctor")
    assert result.exit_code == EXIT_SETUP, result.output
    assert verdicts(result.output)["database"] == "FAIL"
    assert "Traceback" not in result.output


# -- tasks -------------------------------------------------------------------------------------


def make_tasks(desk: Desk, tmp_path: Path) -> list[str]:
    """Three tasks in sales (two queued, one failed) and one in returns, made as a desk would."""
    with desk.store() as store:
        client = store.clients.register()
        ids = []
        for index, datasource in enumerate(("sales", "sales", "sales", "returns")):
            path = write_csv(tmp_path / f"file{index}.csv", rows=5 + index)
            task = create_task(
                store, client.id, path, IngestChoices(datasource, IngestMode.APPEND),
                f"{index:064d}",
            )
            ids.append(task.id)
        store.tasks.transition(
            ids[1], TaskState.FAILED, expected_state=TaskState.QUEUED, expected_version=1,
            by_client=client.id, message="made to fail",
            patch=TaskPatch(error_message="made to fail"),
        )
    return ids


def test_tasks_lists_filters_and_prints_json(desk: Desk, tmp_path: Path) -> None:
    ids = make_tasks(desk, tmp_path)
    listed = desk.invoke("tasks")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert [line[:8] for line in lines] == [i[:8] for i in reversed(ids)]  # newest first
    assert "made to fail" in lines[2]

    failed = desk.invoke("tasks", "--state", "failed")
    assert [line[:8] for line in failed.output.splitlines()] == [ids[1][:8]]

    two = desk.invoke("tasks", "--state", "queued", "--limit", "2")
    assert [line[:8] for line in two.output.splitlines()] == [ids[3][:8], ids[2][:8]]

    rows = [json.loads(line) for line in desk.invoke("tasks", "--json").output.splitlines()]
    assert [row["id"] for row in rows] == list(reversed(ids))
    assert {row["datasource"] for row in rows} == {"sales", "returns"}
    assert rows[2]["state"] == "failed" and rows[2]["message"] == "made to fail"


def read_lines(process: subprocess.Popen[str], *, stderr: bool = False) -> queue.Queue[str]:
    """The process's stdout (or stderr), line by line, from a reader thread (reads never block
    the test); an empty string once the stream has ended."""
    lines: queue.Queue[str] = queue.Queue()
    stream = process.stderr if stderr else process.stdout

    def pump() -> None:
        assert stream is not None
        for line in stream:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    return lines


def wait_for_output(
    lines: queue.Queue[str], seen: list[str], wanted: str, times: int = 1, timeout: float = 60
) -> None:
    """Collect lines until `times` of them start with `wanted`."""
    deadline = time.monotonic() + timeout
    while sum(line.startswith(wanted) for line in seen) < times:
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw {wanted!r}; output so far: {''.join(seen)[-3000:]}")
        try:
            seen.append(lines.get(timeout=0.2))
        except queue.Empty:
            continue


def until_end(lines: queue.Queue[str], timeout: float = 30) -> list[str]:
    """The lines still to come from `read_lines`, up to the stream's end."""
    deadline, rest = time.monotonic() + timeout, []
    while (line := lines.get(timeout=max(deadline - time.monotonic(), 0.01))) != "":
        rest.append(line)
    return rest


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_tasks_watch_prints_a_change_made_by_another_desk(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    desk: Desk = request.getfixturevalue("pg_desk" if backend == "postgresql" else "desk")
    ids = make_tasks(desk, tmp_path)
    store = TaskStore.open(desk.database_url)
    client = store.clients.register()

    def cancel(task_id: str) -> None:
        task = store.tasks.get(task_id)
        store.tasks.transition(
            task.id, TaskState.CANCELLED, expected_state=task.state,
            expected_version=task.version, by_client=client.id, message="cancelled here",
        )

    cancel(ids[3])
    watcher = desk.start("tasks", "--watch", "--state", "cancelled")
    lines, seen = read_lines(watcher), []
    try:
        wait_for_output(lines, seen, f"{ids[3][:8]}  cancelled")  # the listing
        cancel(ids[0])
        wait_for_output(lines, seen, f"{ids[0][:8]}  cancelled")
        # A later change: printed after anything the feed's start or the first change could
        # still have printed, so the counts below are final.
        cancel(ids[2])
        wait_for_output(lines, seen, f"{ids[2][:8]}  cancelled")
        # Each task once: the listed one is not printed again as the watch starts, each
        # change once.
        assert [line[:8] for line in seen] == [ids[3][:8], ids[0][:8], ids[2][:8]], seen
        # Filtered by state: the failed task never shows.
        assert not any(line[:8] == ids[1][:8] for line in seen)
    finally:
        store.close()
        watcher.send_signal(signal.SIGINT)  # Ctrl-C: the watch ends cleanly
        try:
            code = watcher.wait(timeout=30)
        finally:
            if watcher.poll() is None:
                watcher.kill()
                watcher.wait()
    errors = watcher.stderr.read() if watcher.stderr else ""
    assert code == 0, errors
    assert errors == ""  # no log line on a healthy run, not even as the watch ends


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_tasks_and_show_print_nothing_on_stderr_on_a_healthy_desk(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    # Stderr is for problems: a log record at warning level would reach it through Python's
    # last-resort handler (the command line configures no logging).
    desk: Desk = request.getfixturevalue("pg_desk" if backend == "postgresql" else "desk")
    source = write_csv(tmp_path / "sales.csv", rows=30)
    assert desk.invoke("ingest", str(source), "--datasource", "sales", "--wait").exit_code == 0
    (task,) = desk.tasks("sales")
    short = task.id[:8]
    for args in (("tasks",), ("tasks", "--json"), ("show", short), ("show", short, "--json")):
        result = desk.run(*args)
        assert (result.returncode, result.stderr) == (0, ""), args
        assert short in result.stdout


def test_ctrl_c_before_the_watch_began_ends_tasks_quietly(desk: Desk, tmp_path: Path) -> None:
    ids = make_tasks(desk, tmp_path)
    # The test pause holds the command after its listing, before its watch starts.
    watcher = desk.start("tasks", "--watch", INGEST_DESK_TEST_PAUSE_AT="watch")
    stderr, errors = read_lines(watcher, stderr=True), []
    try:
        wait_for_output(stderr, errors, "ingest-desk: test pause at")
        watcher.send_signal(signal.SIGINT)
        code = watcher.wait(timeout=30)
        errors += until_end(stderr)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    listed = watcher.stdout.read().splitlines() if watcher.stdout else []
    assert code == 0, errors
    # Nothing after the pause's own line: no "Aborted!", no traceback.
    assert errors == ["ingest-desk: test pause at watch\n"]
    assert [line[:8] for line in listed] == [i[:8] for i in reversed(ids)]
