"""`ingest`, `retry`, `cancel` and `show` against moto's S3 and the fake Overlord over HTTP:
their exit codes (0 done, 1 failed or held, 3 refused as a duplicate) and their flags."""

from __future__ import annotations

import json
from pathlib import Path

from app.domain.tasks import TaskState

from .conftest import Desk, illegal_moves, write_csv
from .overlord import CountingOverlord


def accepted(fake: CountingOverlord, datasource: str) -> list[str]:
    return [s["id"] for s in fake.submissions if s["datasource"] == datasource and s["accepted"]]


def test_ingest_with_wait_ends_succeeded_with_druids_count(
    desk: Desk, fake: CountingOverlord, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "sales.csv", rows=60)
    result = desk.invoke("ingest", str(source), "--datasource", "sales", "--wait")
    assert result.exit_code == 0, result.output
    (task,) = desk.tasks("sales")
    assert task.state is TaskState.SUCCEEDED
    assert task.rows_ingested == 60
    assert f"{task.id[:8]}  succeeded" in result.output
    assert accepted(fake, "sales") == [task.druid_task_id]
    assert illegal_moves(desk.history(task.id)) == []


def test_ingest_without_wait_stops_once_druid_has_the_task(
    desk: Desk, fake: CountingOverlord, tmp_path: Path
) -> None:
    fake.finish = None  # Druid's task keeps running
    source = write_csv(tmp_path / "sales.csv")
    result = desk.invoke("ingest", str(source), "--datasource", "sales")
    assert result.exit_code == 0, result.output
    (task,) = desk.tasks("sales")
    assert task.state is TaskState.INGESTING
    assert fake.tasks[task.druid_task_id or ""]["statusCode"] == "RUNNING"


def test_the_same_file_again_is_refused_with_exit_3_unless_allowed(
    desk: Desk, fake: CountingOverlord, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "sales.csv")
    first = desk.invoke("ingest", str(source), "--datasource", "sales", "--wait")
    assert first.exit_code == 0, first.output

    again = desk.invoke("ingest", str(source), "--datasource", "sales", "--wait")
    assert again.exit_code == 3, again.output
    assert "sales.csv: refused." in again.output
    assert "--allow-duplicate" in again.output
    assert len(desk.tasks("sales")) == 1  # refused before any task was made
    assert len(accepted(fake, "sales")) == 1

    allowed = desk.invoke(
        "ingest", str(source), "--datasource", "sales", "--wait", "--allow-duplicate"
    )
    assert allowed.exit_code == 0, allowed.output
    tasks = desk.tasks("sales")
    assert [t.state for t in tasks] == [TaskState.SUCCEEDED, TaskState.SUCCEEDED]
    assert sorted(accepted(fake, "sales")) == sorted(t.druid_task_id for t in tasks)
    assert fake.rows["sales"] == 2 * 60


def test_a_duplicate_in_another_datasource_is_not_refused(desk: Desk, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "sales.csv")
    assert desk.invoke("ingest", str(source), "--datasource", "sales", "--wait").exit_code == 0
    other = desk.invoke("ingest", str(source), "--datasource", "archive", "--wait")
    assert other.exit_code == 0, other.output


def test_a_changed_column_type_is_held_unless_drift_is_allowed(
    desk: Desk, fake: CountingOverlord, tmp_path: Path
) -> None:
    fake.rows["sales"] = 10  # the datasource exists in Druid, with qty a number
    fake.columns["sales"] = [["__time", "TIMESTAMP"], ["city", "VARCHAR"], ["qty", "BIGINT"]]
    changed = write_csv(tmp_path / "changed.csv", rows=30, qty="n{i}")

    held = desk.invoke("ingest", str(changed), "--datasource", "sales", "--wait")
    assert held.exit_code == 1, held.output
    (task,) = desk.tasks("sales")
    assert task.state is TaskState.NEEDS_REVIEW
    assert "qty is BIGINT in Druid but VARCHAR in this file" in (task.validation_summary or "")
    assert accepted(fake, "sales") == []

    allowed = desk.invoke(
        "ingest", str(changed), "--datasource", "sales", "--wait", "--allow-drift"
    )
    assert allowed.exit_code == 0, allowed.output
    assert len(accepted(fake, "sales")) == 1
    assert any(t.state is TaskState.SUCCEEDED for t in desk.tasks("sales"))


def test_a_failed_task_is_retried_from_the_command_line(
    desk: Desk, fake: CountingOverlord, tmp_path: Path
) -> None:
    fake.finish = "FAILED"
    source = write_csv(tmp_path / "sales.csv")
    failed = desk.invoke("ingest", str(source), "--datasource", "sales", "--wait")
    assert failed.exit_code == 1, failed.output
    (task,) = desk.tasks("sales")
    assert task.state is TaskState.FAILED
    assert "refused by the fake" in (task.error_message or "")

    queued = desk.invoke("retry", task.id[:8])
    assert queued.exit_code == 0, queued.output
    assert "queued again" in queued.output
    assert "ingest-desk ingest sales.csv --datasource sales --mode append" in queued.output
    assert desk.tasks("sales")[0].state is TaskState.QUEUED

    twice = desk.invoke("retry", task.id)
    assert twice.exit_code == 1  # a queued task is not retried again
    assert "only failed, cancelled or invalid tasks can be retried" in twice.output

    fake.finish = "SUCCESS"
    ran = desk.invoke("ingest", str(source), "--datasource", "sales", "--wait")
    assert ran.exit_code == 0, ran.output
    assert f"resuming task {task.id[:8]}" in ran.output
    (retried,) = desk.tasks("sales")
    assert retried.id == task.id and retried.state is TaskState.SUCCEEDED
    assert len(accepted(fake, "sales")) == 2  # one Druid task per attempt
    assert illegal_moves(desk.history(task.id)) == []


def test_retry_with_the_file_runs_the_task_at_once(
    desk: Desk, fake: CountingOverlord, tmp_path: Path
) -> None:
    fake.finish = "FAILED"
    source = write_csv(tmp_path / "sales.csv")
    assert desk.invoke("ingest", str(source), "--datasource", "sales", "--wait").exit_code == 1
    (task,) = desk.tasks("sales")

    fake.finish = "SUCCESS"
    ran = desk.invoke("retry", task.id, "--file", str(source), "--wait")
    assert ran.exit_code == 0, ran.output
    (retried,) = desk.tasks("sales")
    assert retried.id == task.id and retried.state is TaskState.SUCCEEDED
    assert retried.rows_ingested == 60
    assert len(accepted(fake, "sales")) == 2
    assert illegal_moves(desk.history(task.id)) == []


def test_retry_refuses_an_unknown_id_a_succeeded_task_and_another_file(
    desk: Desk, fake: CountingOverlord, tmp_path: Path
) -> None:
    unknown = desk.invoke("retry", "ffffffff")
    assert unknown.exit_code == 1
    assert "Traceback" not in unknown.output

    source = write_csv(tmp_path / "sales.csv")
    assert desk.invoke("ingest", str(source), "--datasource", "sales", "--wait").exit_code == 0
    (done,) = desk.tasks("sales")
    finished = desk.invoke("retry", done.id)
    assert finished.exit_code == 1
    assert "only failed, cancelled or invalid tasks can be retried" in finished.output
    assert desk.tasks("sales")[0].state is TaskState.SUCCEEDED

    fake.finish = "FAILED"
    other_source = write_csv(tmp_path / "other.csv", rows=9)
    assert desk.invoke(
        "ingest", str(other_source), "--datasource", "other", "--wait"
    ).exit_code == 1
    (failed,) = desk.tasks("other")
    wrong = desk.invoke("retry", failed.id, "--file", str(source))
    assert wrong.exit_code == 1
    assert "is not the file this task was made from" in wrong.output
    assert len(accepted(fake, "other")) == 1  # nothing was run with the wrong file
    assert desk.tasks("other")[0].state is TaskState.FAILED  # a refused retry changes nothing


def test_cancel_shuts_down_the_running_druid_task(
    desk: Desk, fake: CountingOverlord, tmp_path: Path
) -> None:
    fake.finish = None
    source = write_csv(tmp_path / "sales.csv")
    assert desk.invoke("ingest", str(source), "--datasource", "sales").exit_code == 0
    (task,) = desk.tasks("sales")
    assert task.state is TaskState.INGESTING

    result = desk.invoke("cancel", task.id[:8])
    assert result.exit_code == 0, result.output
    assert "cancelled" in result.output
    assert desk.tasks("sales")[0].state is TaskState.CANCELLED
    assert fake.tasks[task.druid_task_id or ""]["statusCode"] == "FAILED"
    assert f"POST /druid/indexer/v1/task/{task.druid_task_id}/shutdown" in fake.paths()

    unknown = desk.invoke("cancel", "ffffffff")
    assert unknown.exit_code == 1
    assert "Traceback" not in unknown.output


def test_cancelling_a_finished_task_fails_with_exit_1(desk: Desk, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "sales.csv")
    assert desk.invoke("ingest", str(source), "--datasource", "sales", "--wait").exit_code == 0
    (task,) = desk.tasks("sales")
    result = desk.invoke("cancel", task.id)
    assert result.exit_code == 1, result.output
    assert desk.tasks("sales")[0].state is TaskState.SUCCEEDED


def test_show_prints_a_task_with_its_history_and_as_json(desk: Desk, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "sales.csv", rows=42)
    assert desk.invoke("ingest", str(source), "--datasource", "sales", "--wait").exit_code == 0
    (task,) = desk.tasks("sales")

    shown = desk.invoke("show", task.id[:8])
    assert shown.exit_code == 0, shown.output
    assert task.id in shown.output
    assert "sales.csv" in shown.output
    for state in ("validating", "uploading", "ingesting", "verifying", "succeeded"):
        assert state in shown.output

    as_json = json.loads(desk.invoke("show", task.id, "--json").output)
    assert as_json["id"] == task.id
    assert as_json["state"] == "succeeded"
    assert as_json["rows_validated"] == 42

    unknown = desk.invoke("show", "ffffffff")
    assert unknown.exit_code == 1
