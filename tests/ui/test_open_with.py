"""Files handed to the app by the OS ("Open with", the Dock) become tasks in the window."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QObject
from PySide6.QtGui import QFileOpenEvent

import app.cli as cli_module
from app.ui.app import FileOpenForwarder


class _Window(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.added: list[list[Path]] = []

    def add_paths(self, paths: list[Path]) -> None:
        self.added.append(paths)


def test_command_line_paths_open_the_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    sample = tmp_path / "sales.csv"
    sample.write_text("day,v\n2024-01-01,1\n")
    opened: list[list[str]] = []
    monkeypatch.setattr("app.ui.app.run_gui", lambda paths: opened.append(list(paths)) or 0)
    monkeypatch.setattr("sys.argv", ["ingest-desk", str(sample)])
    with pytest.raises(SystemExit) as done:
        cli_module.main()
    assert done.value.code == 0 and opened == [[str(sample)]]


def test_subcommands_and_unknown_words_still_reach_click(tmp_path: Path):
    assert cli_module._paths_to_open(["validate", str(tmp_path)]) is None
    assert cli_module._paths_to_open(["--self-test"]) is None
    assert cli_module._paths_to_open([str(tmp_path / "missing.csv")]) is None


def test_file_open_events_are_forwarded(qapp, tmp_path: Path):
    window = _Window()
    forwarder = FileOpenForwarder(window)  # type: ignore[arg-type]
    event = QFileOpenEvent(str(tmp_path / "book.xlsx"))
    assert forwarder.eventFilter(window, event) is True
    assert window.added == [[tmp_path / "book.xlsx"]]
