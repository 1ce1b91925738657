"""The window's modules import cleanly in a fresh interpreter, whatever is imported first."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["app.ui.app", "app.ui.main_window", "app.ui.ingest_dialog"])
def test_ui_module_imports_in_a_fresh_interpreter(module: str) -> None:
    # Nothing loaded before: the order in which pydantic's lazy imports used to break.
    code = f"import {module}; print('imported')"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "imported"
