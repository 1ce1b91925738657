"""Remove in the window takes the task's staged copy off this desk (the task has ended)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.domain.tasks import TaskState
from app.ui.main_window import MainWindow
from tests.ui.ui_helpers import SAMPLES, drop_and_start


def test_remove_takes_the_staged_copy_off_this_desk(qtbot: QtBot, window: MainWindow) -> None:
    drop_and_start(qtbot, window, [SAMPLES / "orders_with_errors.csv"])

    def ended() -> bool:
        model = window.model
        return (
            model.rowCount() == 1 and model.task_at(0).state is TaskState.INVALID
            and window.controller.workers.active == 0
        )

    qtbot.waitUntil(ended, timeout=30_000)
    task = window.model.task_at(0)
    session = window.controller.session
    assert session is not None
    # This desk has no S3 and Druid, so nothing was staged: the copy a failed upload leaves.
    files = session.runner.staging.files(task.id)
    files.prepare()
    (files.folder / f"{task.id}.ndjson.gz").write_bytes(b"rows")
    assert window.select_task(task.id)
    window.remove_action.trigger()
    qtbot.waitUntil(lambda: not files.folder.exists(), timeout=10_000)
    assert window.model.rowCount() == 0
