"""Schema drift against INFORMATION_SCHEMA columns, and the replace preview's COUNT."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.domain.druid import DruidColumn, SegmentGranularity, TypeChange
from app.domain.validation import ColumnType, StagingResult
from app.services.druid import compare_columns, replace_preview

from .fake import FakeDruid, sql_rows

DAY_MS = 86_400_000
EXISTING = (
    DruidColumn("__time", "TIMESTAMP"),
    DruidColumn("city", "VARCHAR"),
    DruidColumn("qty", "BIGINT"),
    DruidColumn("active", "BIGINT"),
    DruidColumn("shipped", "VARCHAR"),
    DruidColumn("legacy", "VARCHAR"),
)


def test_a_new_datasource_has_no_drift() -> None:
    drift = compare_columns((("city", ColumnType.TEXT),), ())
    assert not drift.datasource_exists and not drift.has_drift


def test_matching_types_are_not_drift() -> None:
    staged = (
        ("city", ColumnType.TEXT),
        ("qty", ColumnType.INTEGER),
        ("active", ColumnType.BOOLEAN),  # booleans land as BIGINT 0/1
        ("shipped", ColumnType.TIMESTAMP),  # secondary timestamps are ISO strings
        ("legacy", ColumnType.TEXT),
    )
    drift = compare_columns(staged, EXISTING)
    assert drift.datasource_exists and not drift.has_drift


def test_new_missing_and_changed_columns() -> None:
    staged = (
        ("city", ColumnType.TEXT),
        ("qty", ColumnType.DECIMAL),
        ("active", ColumnType.TEXT),
        ("shipped", ColumnType.TIMESTAMP),
        ("region", ColumnType.TEXT),
    )
    drift = compare_columns(staged, EXISTING)
    assert drift.new == ("region",)
    assert drift.missing == ("legacy",)
    assert drift.type_changed == (
        TypeChange("qty", existing="BIGINT", incoming="DOUBLE"),
        TypeChange("active", existing="BIGINT", incoming="VARCHAR"),
    )


def _staging(rows: int, low: int, high: int) -> StagingResult:
    return StagingResult(
        path=Path("/tmp/x.ndjson.gz"),
        format="ndjson.gz",
        rows=rows,
        bytes=1,
        sha256="00" * 32,
        min_time_ms=low,
        max_time_ms=high,
        columns=(("city", ColumnType.TEXT),),
    )


def test_replace_preview_counts_the_aligned_interval(fake: FakeDruid) -> None:
    fake.sql_answers.extend(
        [sql_rows(["TABLE_NAME"], ["sales"], ["sales2"]), sql_rows(["n"], [41])]
    )
    preview = replace_preview(fake.client(), "sales", _staging(7, DAY_MS + 5, 2 * DAY_MS + 9))
    assert (preview.rows_now, preview.rows_incoming) == (41, 7)
    assert (preview.interval.start_ms, preview.interval.end_ms) == (DAY_MS, 3 * DAY_MS)
    sent = json.loads(fake.requests[-1].content)
    assert '"sales"' in sent["query"] and "__time >= MILLIS_TO_TIMESTAMP(?)" in sent["query"]
    assert [p["value"] for p in sent["parameters"]] == [DAY_MS, 3 * DAY_MS]


def test_replace_preview_of_a_new_datasource(fake: FakeDruid) -> None:
    fake.sql_answers.append(sql_rows(["TABLE_NAME"], ["other"]))
    preview = replace_preview(fake.client(), "sales", _staging(3, 0, 10), SegmentGranularity.MONTH)
    assert preview.rows_now == 0 and preview.interval.iso.startswith("1970-01-01T00:00:00.000Z/")
    assert len(fake.requests) == 1


def test_replace_preview_needs_rows(fake: FakeDruid) -> None:
    with pytest.raises(ValueError, match="no rows"):
        replace_preview(fake.client(), "sales", _staging(0, 0, 0))
