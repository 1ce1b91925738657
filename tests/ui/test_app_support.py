"""Crash reporting, logging and resource lookup (source checkout and PyInstaller bundle)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from app.ui.crash import CrashDialog, CrashReporter, setup_logging
from app.ui.resources import app_icon, resource_path, resource_root, sample_files


def test_crash_reporter_logs_and_keeps_a_copyable_report(tmp_path: Path) -> None:
    log_path = setup_logging(tmp_path / "log")
    reporter = CrashReporter(log_path, show_dialog=False)
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError as exc:
        reporter.handle(RuntimeError, exc, exc.__traceback__)
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "baseFilename", None) == str(log_path):
                logging.getLogger().removeHandler(handler)
                handler.close()
    assert reporter.reports and "RuntimeError: boom in a slot" in reporter.reports[0]
    assert "Ingest Desk" in reporter.reports[0]
    assert "boom in a slot" in log_path.read_text(encoding="utf-8")


def test_crash_dialog_copies_the_report(qtbot: QtBot) -> None:
    dialog = CrashDialog("Traceback: something", None)
    qtbot.addWidget(dialog)
    dialog.copy_report()
    assert QGuiApplication.clipboard().text() == "Traceback: something"


def test_install_replaces_and_restores_the_hooks() -> None:
    reporter = CrashReporter(None, show_dialog=False)
    reporter.install()
    try:
        assert sys.excepthook == reporter.handle
    finally:
        reporter.uninstall()
    assert sys.excepthook is sys.__excepthook__


def test_resources_from_source_and_from_a_bundle(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert resource_path("icons", "ingest-desk.svg").is_file()
    assert [p.name for p in sample_files()] == [
        "sales_clean.csv", "stores_workbook.xlsx", "orders_with_errors.csv",
    ]
    assert not app_icon().isNull()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resource_root() == tmp_path / "resources"
