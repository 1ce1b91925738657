"""The staging file: typed rows with a millisecond __time, its figures, and one-pass speculation."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from app.domain.rules import ColumnRule, Template
from app.services.reading import open_source
from app.services.staging import NotStageableError, StagingOptions, stage, validate_and_stage
from app.services.validation import ValidateOptions
from tests.validation.conftest import WriteFile, validate_path


def _ndjson(path: Path) -> list[dict]:
    if path.name.endswith(".zst"):
        # pyarrow's zstd stream reads concatenated frames, as Druid's reader does.
        with pa.input_stream(str(path), compression="zstd") as stream:
            return [json.loads(line) for line in stream.read().decode("utf-8").splitlines()]
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _stage(path: Path, out: Path, options: ValidateOptions | None = None, fmt: str = "ndjson.gz"):
    source = open_source(path)
    try:
        return validate_and_stage(
            source, options or ValidateOptions(), out, "staged", StagingOptions(format=fmt)
        )
    finally:
        source.close()


def test_ndjson_gz_rows_are_typed_with_epoch_ms(write_file: WriteFile, tmp_path: Path):
    text = (
        "when,code,qty,price,active,note,shipped\n"
        "2024-01-01 10:00:00,007,3,2.50,true,hello,2024-01-02\n"
        "2024-01-01 11:30:00,012,4,,false,,2024-01-03\n"
    )
    outcome, result = _stage(write_file("s.csv", text), tmp_path / "out")
    assert result is not None and outcome.speculation_confirmed
    rows = _ndjson(result.path)
    assert rows[0] == {
        "__time": 1704103200000,
        "code": "007",
        "qty": 3,
        "price": 2.5,
        "active": True,
        "note": "hello",
        "shipped": "2024-01-02T00:00:00.000Z",
    }
    assert rows[1]["price"] is None and rows[1]["note"] is None
    assert result.rows == 2 and result.excluded_rows == 0
    assert (result.min_time_ms, result.max_time_ms) == (1704103200000, 1704108600000)
    assert result.bytes == result.path.stat().st_size
    assert result.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()
    assert not list((tmp_path / "out").glob("*.partial"))


def test_zstd_staging_holds_the_same_rows_as_gzip(
    write_file: WriteFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from app.services.validation import scan

    monkeypatch.setattr(scan, "BATCH_ROWS", 7)  # several batches: one zstd frame each
    lines = ["when,code,qty,price,note"] + [
        f"2024-01-{i % 28 + 1:02d} 10:00:00,{i:04d},{i},{i / 4},{'' if i % 5 else 'x'}"
        for i in range(40)
    ]
    path = write_file("z.csv", "\n".join(lines) + "\n")
    _, zstd = _stage(path, tmp_path / "zst", fmt="ndjson.zst")
    _, gz = _stage(path, tmp_path / "gz", fmt="ndjson.gz")
    assert zstd is not None and gz is not None
    assert zstd.path.name == "staged.ndjson.zst" and zstd.format == "ndjson.zst"
    assert zstd.path.read_bytes().count(b"\x28\xb5\x2f\xfd") >= 6  # a frame per batch
    rows = _ndjson(zstd.path)
    assert rows == _ndjson(gz.path) and len(rows) == 40
    assert rows[3] == {"__time": 1704362400000, "code": "0003", "qty": 3, "price": 0.75,
                       "note": None}
    assert zstd.sha256 == hashlib.sha256(zstd.path.read_bytes()).hexdigest()


def test_parquet_staging_matches_ndjson(write_file: WriteFile, tmp_path: Path):
    text = "day,qty\n2024-03-01,1\n2024-03-02,2\n"
    _, parquet = _stage(write_file("p.csv", text), tmp_path / "pq", fmt="parquet")
    assert parquet is not None
    frame = pl.read_parquet(parquet.path)
    assert frame.get_column("__time").to_list() == [1709251200000, 1709337600000]
    assert frame.schema["qty"] == pl.Int64


def test_a_late_surprise_discards_the_speculative_output(write_file: WriteFile, tmp_path: Path):
    # The first 2,000 rows say integer; row 3,002 makes the column decimal.
    lines = ["day,qty"] + [f"2024-01-01,{i}" for i in range(3000)] + ["2024-01-02,1.5"]
    outcome, result = _stage(write_file("l.csv", "\n".join(lines) + "\n"), tmp_path / "o")
    assert result is not None and not outcome.speculation_confirmed
    rows = _ndjson(result.path)
    assert len(rows) == 3001
    assert rows[-1]["qty"] == 1.5 and isinstance(rows[0]["qty"], float)


def test_invalid_files_are_not_staged(write_file: WriteFile, tmp_path: Path):
    path = write_file("bad.csv", "day,v\n1850-01-01,1\n")
    _outcome, result = _stage(path, tmp_path / "x")
    assert result is None
    assert not list((tmp_path / "x").iterdir())
    with pytest.raises(NotStageableError, match="not valid"):
        stage(validate_path(path), tmp_path / "x", "s")


def test_threshold_excludes_only_the_bad_rows(write_file: WriteFile, tmp_path: Path):
    text = "day,qty\n2024-01-01,1\nnot a date,2\n2024-01-03,3\n"
    options = ValidateOptions(timestamp_column="day", max_error_rows=1)
    _, result = _stage(write_file("t.csv", text), tmp_path / "t", options)
    assert result is not None and result.rows == 2 and result.excluded_rows == 1
    assert [r["qty"] for r in _ndjson(result.path)] == [1, 3]


def test_renames_and_template_rules_apply_to_the_staged_columns(
    write_file: WriteFile, tmp_path: Path
):
    template = Template("t", columns=(ColumnRule("Umsatz", rename="revenue", minimum=0),))
    text = "Datum;Umsatz\n31.01.2024;1.234,50\n"
    _, result = _stage(
        write_file("r.csv", text), tmp_path / "r", ValidateOptions(template=template)
    )
    assert result is not None
    assert _ndjson(result.path) == [{"__time": 1706659200000, "revenue": 1234.5}]


def test_padded_values_are_trimmed_before_typing(write_file: WriteFile, tmp_path: Path):
    text = "day,qty,city\n2024-01-01, 5 ,Oslo\n2024-01-02,6,  Rome\n2024-01-03, NULL ,Oslo\n"
    outcome, result = _stage(write_file("pad.csv", text), tmp_path / "pad")
    assert result is not None and not outcome.speculation_confirmed
    assert [(r["qty"], r["city"]) for r in _ndjson(result.path)] == [
        (5, "Oslo"),
        (6, "Rome"),
        (None, "Oslo"),
    ]
    qty = next(c for c in outcome.report.columns if c.name == "qty")
    assert (qty.type.value, qty.nulls) == ("integer", 1)


@pytest.mark.parametrize("fmt", ["ndjson.gz", "ndjson.zst", "parquet"])
def test_large_output_rolls_into_parts_that_add_up(write_file: WriteFile, tmp_path: Path, fmt):
    from app.services.validation.scan import BATCH_ROWS

    rows = BATCH_ROWS * 3 + 123  # several batches, so several parts at a tiny part size
    lines = ["day,qty,note"] + [f"2024-01-{(i % 28) + 1:02d},{i},n{i % 7}" for i in range(rows)]
    source = open_source(write_file("big.csv", "\n".join(lines) + "\n"))
    try:
        outcome, result = validate_and_stage(
            source,
            ValidateOptions(),
            tmp_path / "parts",
            "big",
            StagingOptions(format=fmt, part_bytes=64 * 1024),  # type: ignore[arg-type]
        )
    finally:
        source.close()
    assert result is not None and outcome.speculation_confirmed
    assert len(result.parts) >= 2  # Parquet rolls per row group (200,000 rows)
    assert [p.path.name for p in result.parts][:2] == [f"big-0001.{fmt}", f"big-0002.{fmt}"]
    assert sum(p.rows for p in result.parts) == result.rows == rows
    assert sum(p.bytes for p in result.parts) == result.bytes
    whole = hashlib.sha256()
    for part in result.parts:
        data = part.path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == part.sha256
        whole.update(data)
        counted = pl.read_parquet(part.path).height if fmt == "parquet" else len(_ndjson(part.path))
        assert counted == part.rows
    assert whole.hexdigest() == result.sha256
    assert not list((tmp_path / "parts").glob("*.partial"))


def test_one_part_keeps_the_plain_name(write_file: WriteFile, tmp_path: Path):
    source = open_source(write_file("s.csv", "day,v\n2024-01-01,1\n"))
    try:
        _, result = validate_and_stage(
            source, ValidateOptions(), tmp_path / "one", "s", StagingOptions(part_bytes=1 << 20)
        )
    finally:
        source.close()
    assert result is not None and [p.path.name for p in result.files] == ["s.ndjson.gz"]
    assert result.sha256 == result.files[0].sha256
