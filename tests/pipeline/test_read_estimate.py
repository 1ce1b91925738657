"""The read estimate the stage command's meter and the window share: line length, text size."""

from __future__ import annotations

import gzip
import random
import zipfile
from pathlib import Path

import pytest

from app.pipeline.read_estimate import ReadEstimate, estimate_read


def test_plain_and_gzipped_text(tmp_path: Path) -> None:
    text = b"a,b\n" + b"1234,5678\n" * 99
    plain = tmp_path / "f.csv"
    plain.write_bytes(text)
    packed = tmp_path / "f.csv.gz"
    packed.write_bytes(gzip.compress(text))
    # The whole file fits in the head: the estimates are exact.
    assert estimate_read(plain) == ReadEstimate(len(text) / 100, len(text))
    estimate = estimate_read(packed)
    assert estimate is not None
    assert estimate.row_bytes == len(text) / 100
    assert estimate.text_bytes == pytest.approx(len(text))
    # Gzipped under a plain name: the bytes decide, not the suffix.
    renamed = tmp_path / "g.csv"
    renamed.write_bytes(gzip.compress(text))
    assert estimate_read(renamed) == estimate


def test_fraction_grows_with_rows_and_stops_short_of_done() -> None:
    estimate = ReadEstimate(row_bytes=50.0, text_bytes=1_000_000)
    assert estimate.bytes_at(4_000) == 200_000
    assert estimate.fraction_at(4_000) == pytest.approx(0.2)
    # A longer tail than the head's lines: still not "done" until the reader says so.
    assert estimate.fraction_at(40_000) == 0.99
    assert ReadEstimate(50.0, None).fraction_at(4_000) is None


def test_a_large_gzipped_file_is_scaled_by_the_heads_compression(tmp_path: Path) -> None:
    generator = random.Random(7)
    lines = [f"{generator.randrange(10**9)},{generator.random():.6f},x\n" for _ in range(200_000)]
    text = ("id,value,tag\n" + "".join(lines)).encode()
    assert len(text) > 2 << 20  # more than the head
    packed = tmp_path / "big.csv.gz"
    packed.write_bytes(gzip.compress(text))
    estimate = estimate_read(packed)
    assert estimate is not None
    assert estimate.text_bytes == pytest.approx(len(text), rel=0.1)
    rows = len(lines) + 1
    assert estimate.bytes_at(rows) == pytest.approx(len(text), rel=0.1)


def test_files_without_lines_get_no_estimate(tmp_path: Path) -> None:
    (tmp_path / "one").write_bytes(b"no newline")
    assert estimate_read(tmp_path / "one") is None
    assert estimate_read(tmp_path / "missing.csv") is None
    book = tmp_path / "book.xlsx"
    with zipfile.ZipFile(book, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook>\n" * 50)
    assert estimate_read(book) is None
    (tmp_path / "utf16.csv").write_bytes("a,b\n1,2\n".encode("utf-16"))
    assert estimate_read(tmp_path / "utf16.csv") is None
    # Gzip's magic over bytes that do not inflate: no estimate (the reader says what is wrong).
    (tmp_path / "broken.csv.gz").write_bytes(b"\x1f\x8b" + b"not deflate at all\n" * 10)
    assert estimate_read(tmp_path / "broken.csv.gz") is None
