"""The window end to end with the dev stack's real S3 and Druid: drop, Start, rows confirmed."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.domain.tasks import TaskState
from app.services.druid import DruidClient
from app.ui.main_window import MainWindow
from app.ui.review_action import ReviewKind
from tests.devstack.conftest import devstack  # noqa: F401 - the fixture, shared
from tests.devstack.stack import DevStack
from tests.ui.test_ingest_dialog import open_dialog, retype
from tests.ui.test_ingest_dialog_druid import settings  # noqa: F401 - dev stack settings

from .ui_helpers import SAMPLES

pytestmark = [
    pytest.mark.druid,
    # The completer's popup on the offscreen platform; the platform's words, not ours.
    pytest.mark.qt_log_ignore(
        "This plugin does not support propagateSizeHints",
        "This plugin does not support raise",
        "This plugin does not support grabbing the keyboard",
    ),
]

Screenshot = Callable[[object, str], Path]
# A shared dev stack can queue a Druid task behind other suites' tasks for a while.
DRUID_TIMEOUT_MS = 420_000


@pytest.fixture
def datasource(devstack: DevStack) -> Iterator[str]:  # noqa: F811
    name = f"ui_window_{uuid.uuid4().hex[:8]}"
    yield name
    devstack.drop_datasource(name)


def _only_task(window: MainWindow, name: str) -> list[object]:
    return [window.model.task_at(r) for r in range(window.model.rowCount())
            if window.model.task_at(r).file_name == name]


def _start(qtbot: QtBot, window: MainWindow, datasource: str) -> None:
    dialog = open_dialog(qtbot, window, [SAMPLES / "sales_clean.csv"])
    retype(qtbot, dialog, datasource)
    qtbot.waitUntil(dialog.start_button.isEnabled, timeout=10_000)
    dialog.start_button.click()


def test_a_dropped_sample_reaches_druid_and_a_repeat_is_held_until_confirmed(
    qtbot: QtBot,
    window: MainWindow,
    devstack: DevStack,  # noqa: F811
    datasource: str,
    screenshot: Screenshot,
) -> None:
    assert window.controller.uploads()
    notices = []
    window.notifications.notifier.noticed.connect(notices.append)
    stages: set[TaskState] = set()

    def watch(update: object) -> None:
        stages.add(update.task.state)  # type: ignore[attr-defined]

    window.controller.taskChanged.connect(watch)
    _start(qtbot, window, datasource)

    def finished(count: int) -> bool:
        tasks = _only_task(window, "sales_clean.csv")
        return len(tasks) == count and all(
            t.state.is_terminal or t.state is TaskState.NEEDS_REVIEW for t in tasks  # type: ignore[attr-defined]
        ) and window.controller.workers.active == 0

    qtbot.waitUntil(lambda: finished(1), timeout=DRUID_TIMEOUT_MS)
    (task,) = _only_task(window, "sales_clean.csv")
    assert task.state is TaskState.SUCCEEDED, task.error_message  # type: ignore[attr-defined]
    assert task.rows_ingested == 200  # type: ignore[attr-defined]
    assert TaskState.SUCCEEDED in stages  # the feed brought the end to the table
    session = window.controller.session
    assert session is not None
    visited = [event.to_state for event in session.store.tasks.history(task.id)]  # type: ignore[attr-defined]
    assert visited[-5:] == [
        TaskState.UPLOADING, TaskState.SUBMITTING, TaskState.INGESTING, TaskState.VERIFYING,
        TaskState.SUCCEEDED,
    ]
    with DruidClient(devstack.druid_url, timeout_s=60) as druid:
        counted = druid.sql(f'SELECT COUNT(*) AS n FROM "{datasource}"').first("n")
    assert counted == 200
    assert [n.title for n in notices] == [f"Ingested: sales_clean.csv into {datasource}"]
    assert window.select_task(task.id)  # type: ignore[attr-defined]
    # The Druid side shows Druid's own count of the rows it processed.
    section = window.details.druid
    qtbot.waitUntil(lambda: section.stat_values["processed"].text() == "200", timeout=60_000)
    screenshot(window, "05-task-ingested-into-druid")

    # The same file again: held before anything leaves the desk, until the user confirms.
    _start(qtbot, window, datasource)
    qtbot.waitUntil(lambda: finished(2), timeout=60_000)
    repeat = next(t for t in _only_task(window, "sales_clean.csv")
                  if t.id != task.id)  # type: ignore[attr-defined]
    assert repeat.state is TaskState.NEEDS_REVIEW  # type: ignore[attr-defined]
    assert "already ingested" in (repeat.validation_summary or "")  # type: ignore[attr-defined]
    assert window.select_task(repeat.id)  # type: ignore[attr-defined]
    asked = window.review.question()
    assert asked is not None and asked.kind is ReviewKind.CONFIRM
    box = window.review.open()
    assert box is not None
    anyway = next(b for b in box.buttons() if "Ingest anyway" in b.text())
    anyway.click()

    def repeat_done() -> bool:
        shown = window.model.task_by_id(repeat.id)  # type: ignore[attr-defined]
        return shown is not None and shown.state.is_terminal
    qtbot.waitUntil(repeat_done, timeout=DRUID_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.controller.workers.active == 0, timeout=10_000)
    final = window.model.task_by_id(repeat.id)  # type: ignore[attr-defined]
    assert final is not None and final.state is TaskState.SUCCEEDED, final
    with DruidClient(devstack.druid_url, timeout_s=60) as druid:
        counted = druid.sql(f'SELECT COUNT(*) AS n FROM "{datasource}"').first("n")
    assert counted == 400  # appended twice, as confirmed
