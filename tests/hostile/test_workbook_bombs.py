"""Workbooks built to explode are refused while inflating, in bounded memory, with exit 2."""

from __future__ import annotations

import struct
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from app.cli import cli
from app.services.reading import ReadOptions, UnreadableFileError, open_source
from app.services.reading.inflate import inflated_size
from app.services.validation import validate_source
from tests.hostile import bombs
from tests.hostile.child import GIB, ChildRun, run_cli
from tests.reading import workbooks

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="peak RSS is read from wait4")

MAX_RSS = 1.5 * GIB
MIB = 1024 * 1024


def _refused(run: ChildRun) -> None:
    assert run.code == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert run.peak_rss_bytes < MAX_RSS, f"peak RSS {run.peak_rss_bytes / MIB:,.0f} MB"


def test_a_mimetype_that_inflates_to_gigabytes_is_refused_in_bounded_memory(
    tmp_path: Path,
) -> None:
    path = bombs.bomb(tmp_path / "mime.xlsx", "mimetype", 2 * GIB)
    assert path.stat().st_size < 20 * MIB
    run = run_cli(["validate", str(path)], tmp_path)
    _refused(run)
    assert "mime.xlsx" in run.stderr and "limit" in run.stderr


def test_a_sheet_far_beyond_the_workbook_budget_is_refused(tmp_path: Path) -> None:
    path = bombs.bomb(
        tmp_path / "sheet.xlsx", "xl/worksheets/sheet1.xml", 3 * GIB, filler=b"<row/>"
    )
    assert path.stat().st_size < 20 * MIB
    # The ratio limit is lifted so the budget alone has to stop it.
    run = run_cli(
        ["validate", str(path)], tmp_path, env={"INGEST_DESK_MAX_COMPRESSION_RATIO": "100000"}
    )
    _refused(run)
    assert "256 MB limit" in run.stderr and "save the sheet as csv" in run.stderr.lower()


def _dense_sheet(path: Path, sheet_bytes: int) -> Path:
    """Real cells (every row the same ten numbers): about 30:1, like an export of codes."""
    parts = bombs._parts(path.parent)
    head = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    header = b"<row>" + b"".join(b'<c t="inlineStr"><is><t>h%d</t></is></c>' % i for i in range(10))
    block = b"".join(
        b"<row>" + b"".join(b"<c><v>%d</v></c>" % ((i * 7 + j) % 10) for j in range(10)) + b"</row>"
        for i in range(1000)
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, payload in parts.items():
            if name != "xl/worksheets/sheet1.xml":
                archive.writestr(name, payload)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(head + header + b"</row>")
            for _ in range(sheet_bytes // len(block)):
                sheet.write(block)
            sheet.write(b"</sheetData></worksheet>")
    return path


@pytest.mark.slow
def test_a_dense_workbook_over_the_budget_is_refused_before_it_is_loaded(tmp_path: Path) -> None:
    path = _dense_sheet(tmp_path / "dense.xlsx", 400 * MIB)
    assert path.stat().st_size < 20 * MIB
    run = run_cli(["validate", str(path)], tmp_path)
    _refused(run)
    assert "256 MB limit" in run.stderr


@pytest.mark.slow
def test_a_dense_workbook_within_the_budget_validates_under_the_memory_bound(
    tmp_path: Path,
) -> None:
    path = _dense_sheet(tmp_path / "dense.xlsx", 240 * MIB)
    run = run_cli(["validate", str(path), "--json"], tmp_path, timeout=300)
    assert run.code in (0, 1), run.stderr  # read: a verdict on its rows, not a refusal
    assert '"rows": 1' in run.stdout
    assert run.peak_rss_bytes < MAX_RSS, f"peak RSS {run.peak_rss_bytes / MIB:,.0f} MB"


def _understate_size(path: Path, member: str, claimed: int) -> None:
    """Rewrite the central directory's uncompressed size, as a crafted file would."""
    data = bytearray(path.read_bytes())
    at = data.index(b"PK\x01\x02")
    name = member.encode()
    while True:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46 : at + 46 + name_length]) == name:
            struct.pack_into("<I", data, at + 24, claimed)
            break
        at = data.index(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))


def test_a_header_that_understates_a_part_does_not_hide_its_expansion(tmp_path: Path) -> None:
    path = bombs.bomb(tmp_path / "liar.xlsx", "xl/worksheets/sheet1.xml", 64 * MIB)
    _understate_size(path, "xl/worksheets/sheet1.xml", 1000)
    with zipfile.ZipFile(path) as archive, path.open("rb") as handle:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
        assert info.file_size == 1000
        measured = inflated_size(handle, archive, info, 32 * MIB)
    assert measured.size > 32 * MIB and not measured.over_ratio
    limits = ReadOptions(max_workbook_bytes=32 * MIB, max_compression_ratio=100_000)
    with pytest.raises(UnreadableFileError) as caught:
        open_source(path, limits)
    assert caught.value.code == "decompression_bomb"
    assert "more than the 32 MB limit" in caught.value.message


class _FakePanic(BaseException):
    """What a Rust panic looks like from Python: pyo3_runtime.PanicException."""


_FakePanic.__name__ = "PanicException"
_FakePanic.__module__ = "pyo3_runtime"


def test_a_panic_in_the_workbook_reader_is_an_unreadable_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workbooks.xlsx(tmp_path / "book.xlsx", {"S": [["day", "v"], ["2024-01-01", 1]]})

    def panic(*_: object, **__: object) -> None:
        raise _FakePanic("called `Option::unwrap()` on a `None` value")

    monkeypatch.setattr("fastexcel.read_excel", panic)
    result = CliRunner().invoke(cli, ["validate", str(path)], catch_exceptions=False)
    assert result.exit_code == 2
    assert "reader stopped on it" in result.output and "unwrap" in result.output


def test_a_panic_while_rows_are_scanned_is_an_unreadable_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ok.csv"
    path.write_text("day,v\n2024-01-01,1\n", encoding="utf-8")

    def panic(*_: object, **__: object) -> None:
        raise pl.exceptions.PanicException("index out of bounds")

    monkeypatch.setattr("app.services.validation.engine.run_scan", panic)
    source = open_source(path)
    try:
        with pytest.raises(UnreadableFileError) as caught:
            validate_source(source)
    finally:
        source.close()
    assert caught.value.code == "reader_crashed"
    assert "index out of bounds" in caught.value.message
