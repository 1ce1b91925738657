"""Removed tasks stay removed after a restart; the history stays in the store."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.domain.store import EventKind
from app.services.settings import Settings
from app.ui.app import build_window
from app.ui.main_window import MainWindow
from app.ui.window_state import HiddenTasks, window_store

from .ui_helpers import SAMPLES, drop_and_start


def test_a_removed_task_stays_out_of_view_after_a_restart(
    qtbot: QtBot, window: MainWindow, settings: Settings, database_url: str
) -> None:
    drop_and_start(qtbot, window, [SAMPLES / "sales_clean.csv", SAMPLES / "stores_workbook.xlsx"])
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=30_000)
    gone = window.model.task_at(0)
    kept = window.model.task_at(1)
    assert window.select_task(gone.id)
    window.remove_action.trigger()
    assert window.model.task_by_id(gone.id) is None
    window.close()

    again = build_window(settings, database_url=database_url, poll_interval_s=0.1)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.controller.sessionReady, timeout=20_000):
        again.controller.start()
    qtbot.waitUntil(lambda: again.model.task_by_id(kept.id) is not None, timeout=10_000)
    again.model.flush()
    assert again.model.task_by_id(gone.id) is None
    session = again.controller.session
    assert session is not None
    # Still in the store, with its history: removing hides a task on this desk only.
    assert gone.id in {task.id for task in session.store.tasks.list_tasks()}
    history = session.store.tasks.history(gone.id)
    assert history and history[0].kind is EventKind.CREATED
    again.close()


def test_hidden_list_survives_a_lone_entry_and_clears(qtbot: QtBot) -> None:
    store = window_store()
    hidden = HiddenTasks(store)
    hidden.add("only-one")
    # QSettings hands a one-element list back as a plain string from an INI file.
    assert HiddenTasks(window_store()).ids == ("only-one",)
    assert hidden.clear() == ("only-one",)
    assert HiddenTasks(window_store()).ids == ()
