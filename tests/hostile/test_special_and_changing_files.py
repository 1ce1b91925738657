"""Pipes and devices are refused before any read; a file that changes while read fails clearly."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from app.services.reading import UnreadableFileError, list_sheets, open_source
from app.services.staging import validate_and_stage
from app.services.validation import ValidateOptions, validate_source
from tests.hostile.child import run_cli

CHANGED = "changed while it was read; add it again"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "orders.csv"
    os.mkfifo(fifo)
    run = run_cli(["validate", str(fifo)], tmp_path, timeout=60)
    assert run.code == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert "orders.csv is a named pipe (FIFO)" in run.stderr
    with pytest.raises(UnreadableFileError) as caught:
        list_sheets(fifo)  # the window's first look at a drop goes through here
    assert caught.value.code == "not_a_regular_file"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_is_refused_before_it_is_read(tmp_path: Path) -> None:
    run = run_cli(["validate", "/dev/zero"], tmp_path, timeout=60)
    assert run.code == 2, run.stderr
    assert "zero is a device" in run.stderr and "Traceback" not in run.stderr


def _big_csv(path: Path, rows: int = 300_000) -> Path:
    path.write_text(
        "day,v\n" + "".join(f"2024-01-{i % 28 + 1:02d},{i}\n" for i in range(rows)),
        encoding="utf-8",
    )
    return path


def _truncating(path: Path) -> Callable[[int], None]:
    def progress(_rows: int) -> None:
        if path.stat().st_size > 100:
            os.truncate(path, path.stat().st_size // 3)

    return progress


def test_a_file_truncated_during_validation_is_not_valid(tmp_path: Path) -> None:
    path = _big_csv(tmp_path / "orders.csv")
    source = open_source(path)
    try:
        with pytest.raises(UnreadableFileError) as caught:
            validate_source(source, progress=_truncating(path))
    finally:
        source.close()
    assert caught.value.code == "changed_while_read"
    assert caught.value.message == f"orders.csv {CHANGED}."


def test_a_file_truncated_while_staged_is_not_staged(tmp_path: Path) -> None:
    path = _big_csv(tmp_path / "orders.csv")
    source = open_source(path)
    try:
        with pytest.raises(UnreadableFileError) as caught:
            validate_and_stage(
                source,
                ValidateOptions(),
                tmp_path / "out",
                "orders",
                progress=_truncating(path),
            )
    finally:
        source.close()
    assert caught.value.code == "changed_while_read"
    assert not list((tmp_path / "out").glob("orders.*"))  # nothing half-staged is published


def test_a_file_replaced_after_it_was_opened_is_caught(tmp_path: Path) -> None:
    path = _big_csv(tmp_path / "orders.csv", rows=10)
    source = open_source(path)
    try:
        replacement = tmp_path / "new.csv"
        _big_csv(replacement, rows=10)
        replacement.replace(path)  # same size, a different file: how editors save
        with pytest.raises(UnreadableFileError, match=CHANGED):
            validate_source(source)
    finally:
        source.close()


def test_an_unchanged_file_validates_as_before(tmp_path: Path) -> None:
    path = _big_csv(tmp_path / "orders.csv", rows=1000)
    source = open_source(path)
    try:
        outcome = validate_source(source)
    finally:
        source.close()
    assert outcome.report.rows == 1000
