"""The first desk of the second-instance test: the real start-up path (`open_gui`), plus a user
who presses Start in the ingest dialog; prints what happens, one line each, for the test."""

from __future__ import annotations

import sys

from app.pipeline.runner import RunResult
from app.ui.app import open_gui
from app.ui.ingest_dialog import IngestDialog


def main() -> int:
    gui = open_gui(sys.argv[1:])
    if isinstance(gui, int):
        print(f"EXITED {gui}", flush=True)
        return gui
    window = gui.window

    def started(dialog: IngestDialog) -> None:
        dialog.start_button.click()

    def ran(result: RunResult) -> None:
        task = result.task
        print(f"TASK {task.file_name} {task.state.value}", flush=True)
        if task.state.is_terminal or task.state.value == "ready":
            window.close()  # the test has what it wanted; the event loop ends with the window

    gui.instances.pathsReceived.connect(
        lambda paths: print("HANDED " + " ".join(str(p) for p in paths), flush=True)
    )
    window.ingest_flow.dialogOpened.connect(started)
    window.controller.taskValidated.connect(ran)
    window.controller.sessionReady.connect(
        lambda _info: print(f"LISTENING {gui.instances.name}", flush=True)
    )
    return gui.app.exec()


if __name__ == "__main__":
    sys.exit(main())
