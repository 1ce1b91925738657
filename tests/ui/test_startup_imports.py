"""The window starts without the data, storage and network libraries (issue 6: memory).

Polars, PyArrow, fastexcel, boto3 and httpx load when a file is validated, uploaded or a
connection is tested, not with the window. Each check runs in a fresh interpreter: this test
process has long since imported them all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

# The store needs SQLAlchemy from the start; everything here waits for a file or a connection.
HEAVY = ("polars", "pyarrow", "fastexcel", "boto3", "botocore", "httpx")

_WINDOW_PROBE = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QEventLoop, QTimer
    from app.services.settings import Settings
    from app.ui.app import build_window, create_application

    app = create_application()
    window = build_window(Settings(), database_url=sys.argv[1])
    window.show()
    outcome = []
    loop = QEventLoop()
    window.controller.sessionReady.connect(lambda info: (outcome.append("ready"), loop.quit()))
    window.controller.sessionFailed.connect(lambda why: (outcome.append(str(why)), loop.quit()))
    window.controller.start()
    QTimer.singleShot(60_000, loop.quit)
    loop.exec()
    app.processEvents()
    loaded = sorted(name for name in sys.argv[2].split(",") if name in sys.modules)
    window.close()
    app.processEvents()
    print(json.dumps({"session": outcome[0] if outcome else "timed out", "loaded": loaded}))
    """
)

_OPEN_WITH_PROBE = textwrap.dedent(
    """
    import json, sys
    import app.cli
    import app.ui.app

    names = sys.argv[2].split(",")

    def run_gui(paths):
        print(json.dumps({"paths": list(paths), "loaded": [n for n in names if n in sys.modules]}))
        return 0

    app.ui.app.run_gui = run_gui
    sys.argv = ["ingest-desk", sys.argv[1]]
    app.cli.main()
    """
)


def _probe(script: str, argument: str) -> dict[str, object]:
    # The isolated_environment fixture has cleared INGEST_DESK_* (no S3 or Druid configured,
    # as on a fresh desk) and pointed the settings and data folders at tmp_path.
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", script, argument, ",".join(HEAVY)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_shown_window_with_open_session_has_not_loaded_heavy_libraries(tmp_path: Path):
    result = _probe(_WINDOW_PROBE, f"sqlite:///{tmp_path / 'tasks.sqlite3'}")
    assert result["session"] == "ready"
    assert result["loaded"] == []


def test_open_with_files_reaches_the_window_without_loading_the_commands(tmp_path: Path):
    sample = tmp_path / "sales.csv"
    sample.write_text("day,v\n2024-01-01,1\n")
    result = _probe(_OPEN_WITH_PROBE, str(sample))
    assert result["paths"] == [str(sample)]
    assert result["loaded"] == []
