"""No failure is silent and none leaves a dialog busy: the banner, and the dialogs' own handlers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.pipeline.look import DropLook, DruidCatalog, FileLook, look_at_file
from app.services.settings import Settings
from app.ui.failure_banner import KEPT_PROBLEMS, FailureBanner
from app.ui.ingest_dialog import IngestDialog
from app.ui.main_window import MainWindow
from app.ui.workers import WorkerContext, WorkerFailure, WorkerPool
from tests.ui.ui_helpers import SAMPLES, drop

DialogFactory = Callable[..., IngestDialog]


def _shelf_fell(_context: WorkerContext[None]) -> None:
    raise RuntimeError("the shelf fell")


# -- the window's banner ----------------------------------------------------------------------


def test_a_worker_without_a_failure_handler_shows_the_banner(
    qtbot: QtBot, window: MainWindow
) -> None:
    banner = window.failures
    assert not banner.isVisible()
    window.controller.workers.start("tidy the shelves", _shelf_fell)  # no on_failed
    qtbot.waitUntil(banner.isVisible, timeout=5000)
    assert banner.message.text() == "Could not tidy the shelves: the shelf fell"
    assert banner.accessibleName() == "Problems"
    assert not banner.count.isVisible()
    # At the top of the central area, above the drop zone.
    assert banner.geometry().top() < window.drop_zone.geometry().top()

    details = banner.show_details()
    text = details.text.toPlainText()
    assert text.startswith("Could not tidy the shelves: the shelf fell")
    assert "Traceback" in text and "RuntimeError: the shelf fell" in text
    details.reject()

    # The controller's failures land in the same banner; the count says how many.
    failure = WorkerFailure("export errors", "disk full", "OSError", "Traceback …")
    window.controller.operationFailed.emit(failure)
    assert banner.message.text() == "Could not export errors: disk full"
    assert banner.count.isVisible() and banner.count.text() == "+1 more"
    assert len(banner.problems) == 2

    qtbot.keyClick(window.table, Qt.Key.Key_Escape)  # Esc anywhere in the window dismisses
    assert not banner.isVisible() and banner.problems == ()


def test_the_close_button_dismisses_and_a_new_failure_shows_again(
    qtbot: QtBot, window: MainWindow
) -> None:
    banner = window.failures
    window.controller.operationFailed.emit(
        WorkerFailure("cancel a task", "the store is locked", "OperationalError", "")
    )
    assert banner.isVisible()
    assert not banner.details_button.isEnabled()  # nothing more to show than the sentence
    qtbot.mouseClick(banner.close_button, Qt.MouseButton.LeftButton)
    assert not banner.isVisible()
    window.controller.operationFailed.emit(
        WorkerFailure("retry a task", "gone", "KeyError", "Traceback …")
    )
    assert banner.isVisible() and banner.message.text() == "Could not retry a task: gone"
    assert not banner.count.isVisible() and banner.details_button.isEnabled()


def test_a_failed_look_at_a_drop_shows_in_the_banner(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(*_args: object, **_kwargs: object) -> DropLook:
        raise RuntimeError("the drive went away")

    monkeypatch.setattr("app.ui.ingest_flow.look_at_drop", unreadable)
    drop(window.drop_zone, [SAMPLES / "sales_clean.csv"])
    qtbot.waitUntil(window.failures.isVisible, timeout=10_000)
    assert window.failures.message.text() == (
        "Could not look at the dropped files: the drive went away"
    )
    assert window.ingest_flow.dialog is None


def test_the_banner_keeps_a_bounded_history_and_shortens_long_messages(qtbot: QtBot) -> None:
    banner = FailureBanner()
    qtbot.addWidget(banner)
    for number in range(KEPT_PROBLEMS + 5):
        banner.show_failure(WorkerFailure(f"step {number}", "no", "ValueError", "tb"))
    assert len(banner.problems) == KEPT_PROBLEMS
    assert banner.count.text() == f"+{KEPT_PROBLEMS - 1} more"
    banner.show_failure(WorkerFailure("read", "first line\nsecond line", "ValueError", "tb"))
    assert banner.message.text() == "Could not read: first line …"
    assert banner.message.toolTip() == "Could not read: first line\nsecond line"
    banner.show_text("<b>not markup</b>")
    assert banner.message.textFormat() is Qt.TextFormat.PlainText


# -- the ingest dialog's own workers ------------------------------------------------------------


@pytest.fixture
def fallback() -> list[WorkerFailure]:
    return []


@pytest.fixture
def pool(fallback: list[WorkerFailure]) -> WorkerPool:
    # The dialogs' own handlers must catch their failures: the default one must stay empty.
    return WorkerPool(on_failure=fallback.append)


def _drop_look(paths: list[Path], *, druid: bool) -> DropLook:
    settings = Settings()
    files: tuple[FileLook, ...] = tuple(look_at_file(path, settings) for path in paths)
    catalog = DruidCatalog(("sales",), available=True) if druid else DruidCatalog()
    return DropLook(files, (), (), catalog, (), uploads_configured=druid)


@pytest.fixture
def make_dialog(qtbot: QtBot, pool: WorkerPool) -> Iterator[DialogFactory]:
    def make(paths: list[Path], *, druid: bool) -> IngestDialog:
        dialog = IngestDialog(_drop_look(paths, druid=druid), Settings(), pool)
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    yield make
    pool.wait(5000)


def test_a_failed_druid_check_clears_busy_and_says_why(
    qtbot: QtBot, make_dialog: DialogFactory, fallback: list[WorkerFailure],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("the broker hung up")  # not one of the errors the check expects

    monkeypatch.setattr("app.ui.ingest_checks.drift_report", broken)
    dialog = make_dialog([SAMPLES / "sales_clean.csv"], druid=True)
    checks = dialog.checks
    with qtbot.waitSignal(dialog.checkFinished, timeout=10_000) as finished:
        pass  # the settle timer starts the check, which fails on its worker
    assert finished.args[0] == "Could not check with Druid: the broker hung up"
    assert checks.busy.isHidden()
    assert checks.text.text() == "Could not check with Druid: the broker hung up"
    assert dialog.start_button.isEnabled()  # the user can still go on
    assert fallback == []
    dialog.reject()


def test_a_failed_look_at_another_sheet_clears_busy_and_says_why(
    qtbot: QtBot, make_dialog: DialogFactory, fallback: list[WorkerFailure],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dialog = make_dialog([SAMPLES / "stores_workbook.xlsx"], druid=False)
    with qtbot.waitSignal(dialog.checkFinished, timeout=10_000):
        pass  # the first (local) check settles before the sheet changes

    def vanished(*_args: object, **_kwargs: object) -> FileLook:
        raise RuntimeError("the workbook vanished")

    monkeypatch.setattr("app.ui.column_corrections.look_at_file", vanished)
    draft = dialog.current()
    assert draft is not None and draft.look.sheet == "Visits" and draft.sheet is None
    dialog.sheet.setFocus()
    with qtbot.waitSignal(dialog.lookFailed, timeout=10_000) as failed:
        qtbot.keyClick(dialog.sheet, Qt.Key.Key_Down)  # Visits -> Refunds, as a user would
    reason = "Could not read sheet 'Refunds' of stores_workbook.xlsx: the workbook vanished"
    assert failed.args[0] == reason
    assert dialog.checks.busy.isHidden()
    assert dialog.checks.text.text() == reason
    # The file stays as it was read: its sheet, in the draft and on screen.
    assert draft.sheet is None and draft.look.sheet == "Visits"
    assert dialog.sheet.currentData() == "Visits"
    assert dialog.start_button.isEnabled()
    assert fallback == []
    assert dialog.isVisible()
    dialog.reject()
