"""The validation report is part of the task: a desk that never saw the file shows it, exports
its errors, and so does a terminal, after restarts, on one real PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.domain.tasks import TaskState
from app.services.settings import Settings
from app.ui.app import build_window
from app.ui.main_window import MainWindow
from tests.store.conftest import pg_server, pg_url  # noqa: F401

from .ui_helpers import SAMPLES

REPO = Path(__file__).resolve().parents[2]

# Desk A: its own process, its own client, the file on its disk; it validates and quits.
DESK_A = """
import sys
from pathlib import Path
from app.pipeline.session import DeskSession
from app.services.settings import load_settings

session = DeskSession.open(load_settings())
try:
    task = session.pipeline.enqueue(Path(sys.argv[1])).task
    print(task.id, session.pipeline.run(task.id).task.state)
finally:
    session.close()
"""

TYPOS = {
    ("error", "9", "amount", "12.5O", "'12.5O' is not a number."),
    ("error", "25", "quantity", "three", "'three' is not a whole number."),
    ("error", "43", "order_date", "", "The timestamp column 'order_date' is empty."),
}


def _env(url: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "INGEST_DESK_"))}
    env.update(
        INGEST_DESK_DATABASE_URL=url, INGEST_DESK_SETTINGS_FILE=str(home / "none.toml"),
        XDG_DATA_HOME=str(home / "data"),
    )
    return env


def _open(qtbot: QtBot, url: str) -> MainWindow:
    window = build_window(Settings(), database_url=url, poll_interval_s=5.0)
    qtbot.addWidget(window)
    window.resize(1200, 760)
    window.show()
    with qtbot.waitSignal(window.controller.sessionReady, timeout=20_000):
        window.controller.start()
    return window


def _shows_the_report(qtbot: QtBot, window: MainWindow, task_id: str) -> None:
    qtbot.waitUntil(lambda: window.model.task_by_id(task_id) is not None, timeout=10_000)
    assert window.select_task(task_id)
    details = window.details
    qtbot.waitUntil(lambda: details.columns_model.rowCount() == 4, timeout=10_000)
    issues = {
        tuple(details.issues_model.row_values(r)) for r in range(details.issues_model.rowCount())
    }
    assert issues == TYPOS
    columns = {
        details.columns_model.row_values(r)[0]: details.columns_model.row_values(r)[1]
        for r in range(4)
    }
    assert columns == {
        "order_date": "timestamp", "customer": "text", "quantity": "integer", "amount": "decimal",
    }
    assert details.preview_model.rowCount() == 20
    assert details.export_button.isEnabled()


def test_another_desk_shows_and_exports_the_report_after_restarts(
    qtbot: QtBot, pg_url: str, tmp_path: Path  # noqa: F811
) -> None:
    source = tmp_path / "desk-a" / "orders.csv"
    source.parent.mkdir()
    source.write_bytes((SAMPLES / "orders_with_errors.csv").read_bytes())
    env = _env(pg_url, tmp_path)
    ran = subprocess.run(
        [sys.executable, "-c", DESK_A, str(source)], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )
    assert ran.returncode == 0, ran.stderr
    task_id, state = ran.stdout.split()
    assert state == TaskState.INVALID

    bob = _open(qtbot, pg_url)
    try:
        _shows_the_report(qtbot, bob, task_id)
        # The file is where desk A added it (this machine): its rows are read again.
        rows = tmp_path / "desk-b" / "rows.csv"
        with qtbot.waitSignal(bob.controller.notice, timeout=20_000) as said:
            bob.controller.export_errors(task_id, rows)
        assert said.args[0] == f"Errors saved to {rows}"
        assert "reason" in rows.read_text(encoding="utf-8-sig").splitlines()[0].lower()
        # Gone from here (another machine, or moved): the issues stored with the task.
        source.rename(source.with_suffix(".moved"))
        target = tmp_path / "desk-b" / "errors.csv"
        with qtbot.waitSignal(bob.controller.notice, timeout=20_000) as said:
            bob.controller.export_errors(task_id, target)
        assert "the file is not on this desk" in said.args[0]
        exported = target.read_text(encoding="utf-8-sig").splitlines()
        assert exported[0] == "row,column,value,severity,message"
        assert any(line.startswith("25,quantity,three,error,") for line in exported)
        assert len(exported) == 1 + len(TYPOS)
    finally:
        bob.close()

    # Bob's desk restarted: the report is still there, read from the store.
    bob_again = _open(qtbot, pg_url)
    try:
        _shows_the_report(qtbot, bob_again, task_id)
    finally:
        bob_again.close()

    # An operator's terminal, any desk: the same report.
    shown = subprocess.run(
        [sys.executable, "-m", "app.cli", "show", task_id[:8], "--json"], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["state"] == "invalid" and doc["source_path"] == str(source.resolve())
    stored = {(i["row"], i["column"], i["value"]) for i in doc["report"]["issues"]}
    assert stored == {(9, "amount", "12.5O"), (25, "quantity", "three"), (43, "order_date", None)}
    assert [e["to"] for e in doc["history"]] == ["queued", "validating", "invalid"]
    text = subprocess.run(
        [sys.executable, "-m", "app.cli", "show", task_id], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert "ERROR (row 25, column 'quantity', value 'three'): 'three' is not a whole number." \
        in text.stdout
    assert "Verdict:    INVALID, 60 rows, 3 with errors" in text.stdout
