"""Start-up with a task database that does not open: a plain reason, Retry, this computer only,
and files added meanwhile kept (and counted by the quit guard) until a store opens."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.domain.tasks import TaskState
from app.services.settings import Settings, data_dir
from app.services.store import TaskStore
from app.services.store.tempcluster import TempPostgres
from app.ui.app import build_window
from app.ui.main_window import MainWindow
from app.ui.settings_dialog import SettingsDialog
from app.ui.store_opening import StoreProblem
from tests.support.credentials import memory_keyring_installed

from .ui_helpers import SAMPLES, drop

Shot = Callable[[MainWindow, str], Path]

OPEN_MS = 30_000
# What the window must never show: the driver's or SQLAlchemy's own wording.
RAW_TEXT = ("sqlalche", "psycopg", "OperationalError", "Background on this error")


@pytest.fixture
def server() -> Iterator[TempPostgres]:
    """A PostgreSQL whose port is chosen but which is not running until a test starts it."""
    cluster = TempPostgres()
    yield cluster
    cluster.cleanup()


def _failed_window(
    qtbot: QtBot, settings: Settings, url: str | None = None
) -> tuple[MainWindow, StoreProblem]:
    """`url` None: the store the settings name, as the real window opens it."""
    window = build_window(settings, database_url=url, poll_interval_s=0.2)
    qtbot.addWidget(window)
    window.resize(1200, 760)
    window.show()
    with qtbot.waitSignal(window.controller.storeProblem, timeout=OPEN_MS) as failed:
        window.controller.start()
    problem = failed.args[0]
    assert isinstance(problem, StoreProblem)
    return window, problem


def _close(qtbot: QtBot, window: MainWindow) -> None:
    window.quit_guard.confirmed = True  # files may still wait: these tests answered already
    window.close()
    qtbot.waitUntil(lambda: window.controller.session is None, timeout=OPEN_MS)


def _quit_box(window: MainWindow) -> QMessageBox:
    window.close()
    box = window.quit_guard.box
    assert box is not None, "quitting with files waiting must ask first"
    return box


def test_unreachable_postgres_says_why_with_retry_and_keeps_a_dropped_file(
    qtbot: QtBot, settings: Settings, server: TempPostgres, tmp_path: Path, screenshot: Shot
) -> None:
    url = server.url_for("desk")
    window, problem = _failed_window(qtbot, settings, url)
    empty = window.empty_state
    assert window.stack.currentWidget() is empty
    assert empty.heading.text() == "The task database did not open"
    body = empty.body.text()
    assert f"127.0.0.1:{server.port}" in body and "refused the connection" in body
    assert "that PostgreSQL is running there" in body
    shown = " ".join((body, window.status.database.toolTip(), problem.text))
    assert not [raw for raw in RAW_TEXT if raw.lower() in shown.lower()], shown
    assert window.status.database.text() == "Database: unavailable"
    for button in (empty.retry_button, empty.local_button, empty.problem_settings_button):
        assert button.isVisible() and button.isEnabled(), button.text()
    assert not empty.samples_button.isVisible()

    sample = tmp_path / "sales_clean.csv"
    shutil.copy(SAMPLES / "sales_clean.csv", sample)
    drop(window.drop_zone, [sample])  # no store yet: kept, not dropped
    assert len(window.controller.waiting) == 1
    assert "1 file you added is kept" in empty.body.text()
    assert "1 file kept until one opens" in window.status.currentMessage()
    window.layout().activate()  # lay the grown text out now, before the picture
    screenshot(window, "startup-store-failure")

    box = _quit_box(window)
    assert box.text() == "1 file is waiting for the task database and not added yet."
    keep = next(b for b in box.buttons() if "Keep working" in b.text())
    keep.click()
    assert window.isVisible()

    # A second failure while the server is still down says so again; nothing is lost.
    with qtbot.waitSignal(window.controller.storeProblem, timeout=OPEN_MS):
        qtbot.mouseClick(empty.retry_button, Qt.MouseButton.LeftButton)
    assert len(window.controller.waiting) == 1

    server.start()
    server.create_database("desk")
    with qtbot.waitSignal(window.ingest_flow.dialogOpened, timeout=OPEN_MS) as opened:
        qtbot.mouseClick(empty.retry_button, Qt.MouseButton.LeftButton)
    session = window.controller.session
    assert session is not None and session.info.database.shared
    assert len(window.controller.waiting) == 0
    assert not empty.problem_buttons.isVisible()
    assert window.status.database.text().startswith("PostgreSQL: 127.0.0.1")
    dialog = opened.args[0]
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=OPEN_MS)
    task = window.model.task_at(0)
    assert task.file_name == "sales_clean.csv"
    _close(qtbot, window)
    with TaskStore.open(url) as store:  # the task is in the shared store, not only on screen
        assert [t.file_name for t in store.tasks.list_tasks()] == ["sales_clean.csv"]


def test_this_computer_only_opens_the_embedded_store_for_this_run(
    qtbot: QtBot, tmp_path: Path, screenshot: Shot
) -> None:
    # A bad port and a URL that was saved: the settings must name it still afterwards.
    settings = Settings(database_url="postgresql+psycopg://ann@127.0.0.1:notaport/tasks")
    window, problem = _failed_window(qtbot, settings)
    assert problem.message == "Not a usable database URL: the port 'notaport' is not a number"
    assert "postgresql+psycopg://user@host:5432/database" in window.empty_state.body.text()
    sample = tmp_path / "sales_clean.csv"
    shutil.copy(SAMPLES / "sales_clean.csv", sample)
    window.controller.add_paths([sample])  # the command line's path: no dialog, kept
    assert len(window.controller.waiting) == 1

    with qtbot.waitSignal(window.controller.sessionReady, timeout=OPEN_MS):
        qtbot.mouseClick(window.empty_state.local_button, Qt.MouseButton.LeftButton)
    session = window.controller.session
    assert session is not None
    database = session.info.database
    local = data_dir() / "tasks.sqlite3"
    assert not database.shared and database.location == str(local)
    assert database.instead_of == "127.0.0.1:notaport/tasks"
    assert "Working on this computer only for now" in window.empty_state.body.text()
    assert window.status.database.text() == "This computer only (for now)"
    assert window.windowTitle() == "Ingest Desk (this computer only, for now)"
    assert window.controller.settings.database_url == settings.database_url  # unchanged

    qtbot.waitUntil(
        lambda: window.model.rowCount() == 1
        and window.model.task_at(0).state is TaskState.READY,
        timeout=OPEN_MS,
    )
    assert len(window.controller.waiting) == 0
    screenshot(window, "startup-this-computer-only")
    _close(qtbot, window)
    with TaskStore.open(f"sqlite:///{local}") as store:
        assert [t.file_name for t in store.tasks.list_tasks()] == ["sales_clean.csv"]


def test_quitting_with_a_file_waiting_asks_and_then_quits(
    qtbot: QtBot, settings: Settings, server: TempPostgres
) -> None:
    window, _ = _failed_window(qtbot, settings, server.url)
    window.add_paths([SAMPLES / "sales_clean.csv", SAMPLES / "stores_workbook.xlsx"])
    box = _quit_box(window)
    assert box.text() == "2 files are waiting for the task database and not added yet."
    assert "no task is made for them" in box.informativeText()
    quit_button = next(b for b in box.buttons() if b.text() == "&Quit")
    quit_button.click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=OPEN_MS)


def test_settings_fixed_after_a_failure_connect_without_a_restart(
    qtbot: QtBot, server: TempPostgres, tmp_path: Path
) -> None:
    settings = Settings(database_url=server.url)  # a port nobody listens on (not started)
    with memory_keyring_installed():
        window, _ = _failed_window(qtbot, settings)
        with qtbot.waitSignal(window.empty_state.settingsRequested, timeout=OPEN_MS):
            qtbot.mouseClick(window.empty_state.problem_settings_button,
                             Qt.MouseButton.LeftButton)
        dialog = window.findChild(SettingsDialog)
        assert dialog is not None, "the Settings button opens Settings"
        qtbot.waitUntil(lambda: not dialog.save_button.text().startswith("Saving"),
                        timeout=OPEN_MS)
        fixed = f"sqlite:///{tmp_path / 'fixed' / 'tasks.sqlite3'}"
        dialog.database_url.setText(fixed)
        with qtbot.waitSignal(window.controller.sessionReady, timeout=OPEN_MS) as ready:
            dialog.save_button.click()
        assert ready.args[0].database.location == str(tmp_path / "fixed" / "tasks.sqlite3")
        assert not window.banner.isVisible()  # no "restart to connect": it connected
        _close(qtbot, window)


def test_this_computer_only_failing_too_says_so_and_can_be_tried_again(
    qtbot: QtBot, server: TempPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "data-is-a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))  # the embedded store cannot be made
    window, _ = _failed_window(qtbot, Settings(), server.url)
    empty = window.empty_state
    with qtbot.waitSignal(window.controller.storeProblem, timeout=OPEN_MS) as failed:
        qtbot.mouseClick(empty.local_button, Qt.MouseButton.LeftButton)
    problem = failed.args[0]
    assert problem.local and problem.can_work_locally
    assert empty.heading.text() == "The task database on this computer did not open"
    assert problem.message == (
        f"Cannot open the embedded task database {blocker / 'ingest-desk' / 'tasks.sqlite3'}: "
        "Not a directory"
    )
    assert problem.hint == "Check that its folder exists and that you may write there."
    assert empty.local_button.isVisible() and empty.local_button.isEnabled()

    blocker.unlink()  # fixed: the next try works
    with qtbot.waitSignal(window.controller.sessionReady, timeout=OPEN_MS):
        qtbot.mouseClick(empty.local_button, Qt.MouseButton.LeftButton)
    _close(qtbot, window)


def test_an_embedded_store_that_fails_offers_no_other_local_store(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "data-is-a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    window, problem = _failed_window(qtbot, Settings())  # the default: embedded
    assert problem.local and not problem.can_work_locally
    assert window.empty_state.heading.text() == "The task database on this computer did not open"
    assert not window.empty_state.local_button.isVisible()
    assert window.empty_state.retry_button.isVisible()
    _close(qtbot, window)
