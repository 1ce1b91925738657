"""The local validation step against a real embedded SQLite store (no Qt involved)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.rules import ColumnRule
from app.domain.store import EventKind
from app.domain.tasks import TaskState
from app.domain.validation import ColumnType, Verdict
from app.pipeline.choices import IngestChoices
from app.pipeline.intake import collect_sources, datasource_slug, is_supported_name
from app.pipeline.session import DeskSession
from app.pipeline.steps import validate as validate_step
from app.pipeline.steps.base import ValidationProgress
from app.services.settings import Settings
from tests.ui.ui_helpers import SAMPLES


@pytest.fixture
def session(tmp_path: Path) -> Iterator[DeskSession]:
    opened = DeskSession.open(
        Settings(), database_url=f"sqlite:///{tmp_path / 'tasks.sqlite3'}", poll_interval_s=0.1
    )
    yield opened
    opened.close()


def test_clean_file_stops_before_upload_with_a_clear_message(session: DeskSession) -> None:
    pipeline = session.pipeline
    task = pipeline.enqueue(SAMPLES / "sales_clean.csv").task
    assert task.state is TaskState.QUEUED
    assert task.datasource == "sales_clean"
    progress: list[ValidationProgress] = []
    result = pipeline.run(task.id, progress=progress.append)
    assert result.task.state is TaskState.READY
    assert result.message == (
        "Valid: 200 rows. Ready to upload once S3 and Druid are set in Settings."
    )
    assert result.task.rows_validated == 200
    assert result.task.validation_summary == result.message
    assert result.report is not None and result.report.verdict is Verdict.VALID
    assert pipeline.report(task.id) is result.report
    assert progress and progress[-1].rows == 200
    history = session.store.tasks.history(task.id)
    assert [e.to_state for e in history] == [
        TaskState.QUEUED, TaskState.VALIDATING, TaskState.READY,
    ]



def test_a_long_read_reports_the_estimated_share_to_this_desk_and_the_store(
    session: DeskSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each batch comes with the share of the file its rows are (from the file's average line
    length, as the CLI's meter estimates MB); the store's row carries it for other desks."""
    monkeypatch.setattr(validate_step, "STORE_PROGRESS_INTERVAL_S", 0.0)  # a write per batch
    lines = (SAMPLES / "sales_clean.csv").read_bytes().splitlines(keepends=True)
    big = tmp_path / "sales_big.csv"
    big.write_bytes(lines[0] + b"".join(lines[1:]) * 1_500)  # 300,000 rows: three batches
    task = session.pipeline.enqueue(big).task
    reported: list[ValidationProgress] = []
    stored: list[float] = []

    def watch(progress: ValidationProgress) -> None:
        reported.append(progress)
        # The previous batch's write (this batch's follows the report).
        stored.append(session.store.tasks.get(task.id).progress)

    result = session.pipeline.run(task.id, progress=watch)
    assert [p.rows for p in reported] == [100_000, 200_000, 300_000]
    fractions = [p.fraction for p in reported]
    assert fractions == pytest.approx([1 / 3, 2 / 3, 0.99], abs=0.01)
    assert stored == pytest.approx([0.0, *fractions[:2]])
    assert result.task.progress == 1.0  # the end of the read is not an estimate


def test_invalid_file_explains_the_first_error_and_exports_bad_rows(
    session: DeskSession, tmp_path: Path
) -> None:
    pipeline = session.pipeline
    task = pipeline.enqueue(SAMPLES / "orders_with_errors.csv").task
    result = pipeline.run(task.id)
    assert result.task.state is TaskState.INVALID
    assert result.task.validation_summary is not None
    # The first of its three errors in file order: a typo, no longer a silent text column.
    assert result.task.validation_summary == (
        "Invalid: 3 errors in 3 of 60 rows. First: row 9: '12.5O' is not a number."
    )
    assert pipeline.has_bad_rows(task.id)
    exported = pipeline.export_errors(task.id, tmp_path / "errors.csv")
    assert exported.rows and exported.complete
    assert "order_date" in exported.path.read_text(encoding="utf-8-sig").splitlines()[0]


def test_unreadable_file_is_invalid_with_the_readers_message(
    session: DeskSession, tmp_path: Path
) -> None:
    fake = tmp_path / "report.csv"
    fake.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    task = session.pipeline.enqueue(fake).task
    result = session.pipeline.run(task.id)
    assert result.task.state is TaskState.INVALID
    assert result.report is None
    assert result.message.startswith("Cannot read the file:")
    assert "PDF" in result.message


def test_cancel_during_validation(session: DeskSession) -> None:
    task = session.pipeline.enqueue(SAMPLES / "sales_clean.csv").task
    result = session.pipeline.run(task.id, cancelled=lambda: True)
    assert result.task.state is TaskState.CANCELLED


def test_another_client_cancelling_wins_the_race(session: DeskSession) -> None:
    store = session.store
    other = store.clients.register(user="operator")
    task = session.pipeline.enqueue(SAMPLES / "sales_clean.csv").task

    def cancel_elsewhere(_progress: ValidationProgress) -> None:
        current = store.tasks.get(task.id)
        if current.state is TaskState.VALIDATING:
            store.tasks.transition(
                task.id, TaskState.CANCELLED, expected_state=current.state,
                expected_version=current.version, by_client=other.id,
            )

    result = session.pipeline.run(task.id, progress=cancel_elsewhere)
    assert result.task.state is TaskState.CANCELLED  # the compare-and-set lost; theirs stands
    assert store.tasks.get(task.id).state is TaskState.CANCELLED


def test_retry_refuses_a_changed_file_and_the_fixed_file_is_a_task_of_its_own(
    session: DeskSession, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    shutil.copy(SAMPLES / "orders_with_errors.csv", path)
    task = session.pipeline.enqueue(path).task
    assert session.pipeline.run(task.id).task.state is TaskState.INVALID
    shutil.copy(SAMPLES / "sales_clean.csv", path)
    with pytest.raises(FileNotFoundError, match="changed since it was added"):
        session.pipeline.retry(task.id)
    fixed = session.pipeline.enqueue(path)
    assert fixed.task.id != task.id and not fixed.retried
    assert session.pipeline.run(fixed.task.id).task.state is TaskState.READY


def test_adding_an_invalid_file_again_is_a_new_attempt_of_its_task(
    session: DeskSession, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    shutil.copy(SAMPLES / "orders_with_errors.csv", path)
    first = session.pipeline.enqueue(path).task
    assert session.pipeline.run(first.id).task.state is TaskState.INVALID
    # The user treats the typo columns as text and drops the same file again.
    as_text = IngestChoices(
        "orders", columns=(ColumnRule("quantity", type=ColumnType.TEXT),
                           ColumnRule("amount", type=ColumnType.TEXT)),
    )
    again = session.pipeline.enqueue(path, as_text)
    assert again.retried and again.task.id == first.id and again.task.state is TaskState.QUEUED
    ended = session.pipeline.run(first.id).task
    # Only the empty date is left: the typos are text now.
    assert ended.state is TaskState.INVALID
    assert ended.validation_summary == (
        "Invalid: 1 error in 1 of 60 rows. First: row 43: The timestamp column 'order_date' is "
        "empty."
    )
    kinds = [e.kind for e in session.store.tasks.history(first.id)]
    assert kinds.count(EventKind.RETRIED) == 1  # both attempts in one task's history
    assert len(session.store.tasks.list_tasks()) == 1


def test_intake_expands_folders_and_refuses_with_reasons(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    (folder / "nested").mkdir(parents=True)
    (folder / "a.csv").write_text("x\n1\n")
    (folder / "nested" / "b.XLSX").write_bytes(b"")
    (folder / "notes.pdf").write_bytes(b"%PDF")
    (folder / ".hidden.csv").write_text("x\n")
    (folder / "~$lock.xlsx").write_bytes(b"")
    empty = tmp_path / "empty"
    empty.mkdir()
    intake = collect_sources([folder, empty, tmp_path / "missing.csv"])
    assert [p.name for p in intake.accepted] == ["a.csv", "b.XLSX"]
    reasons = {r.path.name: r.reason for r in intake.refused}
    assert "notes.pdf is a PDF document" in reasons["notes.pdf"]
    assert "holds no files" in reasons["empty"]
    assert "does not exist" in reasons["missing.csv"]


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Sales Q1 (final).xlsx", "sales_q1_final"),
        ("orders.csv.gz", "orders"),
        ("Ümsatz-2024.csv", "umsatz_2024"),
        ("...csv", "datasource"),
    ],
)
def test_datasource_slug(name: str, slug: str) -> None:
    assert datasource_slug(name) == slug


def test_supported_names() -> None:
    assert is_supported_name(Path("a.csv.gz"))
    assert not is_supported_name(Path("a.tar.gz"))
    assert not is_supported_name(Path("README"))


def test_a_file_changed_after_it_was_added_is_not_validated_under_the_old_hash(
    session: DeskSession, tmp_path: Path
) -> None:
    path = tmp_path / "sales.csv"
    shutil.copy(SAMPLES / "sales_clean.csv", path)
    task = session.pipeline.enqueue(path).task
    with path.open("a", encoding="utf-8") as more:
        more.write(path.read_text(encoding="utf-8").splitlines()[1] + "\n")
    result = session.pipeline.run(task.id)
    assert result.task.state is TaskState.INVALID
    assert "sales.csv changed since it was added" in result.message
