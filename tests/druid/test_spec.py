"""The index_parallel spec: typed dimensions, append vs replace-by-interval, ids, no secrets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.domain.druid import Interval, SegmentGranularity
from app.domain.tasks import IngestMode
from app.domain.validation import ColumnType, StagingResult
from app.services.druid import (
    EnvironmentPassword,
    PlainPassword,
    S3InputProperties,
    SpecOptions,
    aligned_interval,
    build_spec,
    task_id_for,
)

URI = "s3://bucket/ingest-desk/sales/part-0.ndjson.gz"


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def _staging(**changes: object) -> StagingResult:
    values: dict[str, object] = {
        "path": Path("/tmp/staged.ndjson.gz"),
        "format": "ndjson.gz",
        "rows": 3,
        "bytes": 100,
        "sha256": "ab" * 32,
        "min_time_ms": _ms("2024-01-01T10:00:00"),
        "max_time_ms": _ms("2024-01-03T23:59:59.999"),
        "columns": (
            ("city", ColumnType.TEXT),
            ("qty", ColumnType.INTEGER),
            ("price", ColumnType.DECIMAL),
            ("active", ColumnType.BOOLEAN),
            ("shipped", ColumnType.TIMESTAMP),
        ),
    }
    values.update(changes)
    return StagingResult(**values)  # type: ignore[arg-type]


def _spec(mode: IngestMode = IngestMode.APPEND, **kwargs: object) -> dict:
    return build_spec("sales", _staging(), [URI], mode, **kwargs).payload()  # type: ignore[arg-type]


def test_dimensions_are_typed_and_time_is_millis() -> None:
    schema = _spec()["spec"]["dataSchema"]
    assert schema["timestampSpec"] == {"column": "__time", "format": "millis"}
    dims = {d["name"]: d["type"] for d in schema["dimensionsSpec"]["dimensions"]}
    # Non-__time timestamps arrive as ISO text and stay strings.
    assert dims == {
        "city": "string",
        "qty": "long",
        "price": "double",
        "active": "long",
        "shipped": "string",
    }
    assert schema["transformSpec"]["transforms"] == [
        {"type": "expression", "name": "active", "expression": "cast(\"active\", 'LONG')"}
    ]
    assert schema["metricsSpec"] == []


def test_rollup_off_and_strict_tuning() -> None:
    spec = _spec()["spec"]
    granularity = spec["dataSchema"]["granularitySpec"]
    assert granularity["rollup"] is False
    assert granularity["queryGranularity"] == "NONE"
    assert granularity["segmentGranularity"] == "DAY"
    tuning = spec["tuningConfig"]
    assert tuning["maxParseExceptions"] == 0
    assert tuning["maxNumConcurrentSubTasks"] == 2
    assert tuning["awaitSegmentAvailabilityTimeoutMillis"] > 0
    assert tuning["partitionsSpec"]["type"] == "dynamic"


def test_options_are_honoured() -> None:
    options = SpecOptions(
        segment_granularity=SegmentGranularity.MONTH,
        max_concurrent_subtasks=6,
        await_segments_ms=1234,
    )
    spec = _spec(options=options)["spec"]
    assert spec["dataSchema"]["granularitySpec"]["segmentGranularity"] == "MONTH"
    assert spec["tuningConfig"]["maxNumConcurrentSubTasks"] == 6
    assert spec["tuningConfig"]["awaitSegmentAvailabilityTimeoutMillis"] == 1234


def test_append_is_explicit() -> None:
    spec = _spec(IngestMode.APPEND)["spec"]
    assert spec["ioConfig"]["appendToExisting"] is True
    assert spec["ioConfig"]["dropExisting"] is False
    assert "intervals" not in spec["dataSchema"]["granularitySpec"]


def test_replace_drops_the_aligned_interval() -> None:
    built = build_spec("sales", _staging(), [URI], IngestMode.REPLACE)
    spec = built.payload()["spec"]
    assert spec["ioConfig"]["appendToExisting"] is False
    assert spec["ioConfig"]["dropExisting"] is True
    expected = "2024-01-01T00:00:00.000Z/2024-01-04T00:00:00.000Z"
    assert spec["dataSchema"]["granularitySpec"]["intervals"] == [expected]
    assert built.interval is not None and built.interval.iso == expected


G = SegmentGranularity


@pytest.mark.parametrize(
    ("granularity", "low", "high", "start", "end"),
    [
        (G.HOUR, "2024-05-05T10:15", "2024-05-05T10:15", "2024-05-05T10:00", "2024-05-05T11:00"),
        (G.DAY, "2024-05-05T00:00", "2024-05-06T00:00", "2024-05-05T00:00", "2024-05-07T00:00"),
        (G.WEEK, "2024-05-05T12:00", "2024-05-06T00:00", "2024-04-29T00:00", "2024-05-13T00:00"),
        (G.MONTH, "2024-12-31T23:00", "2024-12-31T23:00", "2024-12-01T00:00", "2025-01-01T00:00"),
        (G.QUARTER, "2024-05-05T00:00", "2024-11-01T00:00", "2024-04-01T00:00", "2025-01-01T00:00"),
        (G.YEAR, "1969-06-01T00:00", "1970-01-01T00:00", "1969-01-01T00:00", "1971-01-01T00:00"),
    ],
)
def test_interval_alignment(
    granularity: SegmentGranularity, low: str, high: str, start: str, end: str
) -> None:
    interval = aligned_interval(_ms(low), _ms(high), granularity)
    assert interval == Interval(_ms(start), _ms(end))


def test_replace_needs_rows() -> None:
    empty = _staging(rows=0, min_time_ms=None, max_time_ms=None)
    with pytest.raises(ValueError, match="no rows"):
        build_spec("sales", empty, [URI], IngestMode.REPLACE)


def test_several_parts_and_their_checks() -> None:
    uris = [URI, URI.replace("part-0", "part-1"), URI.replace("part-0", "part-2")]
    spec = build_spec("sales", _staging(), uris, IngestMode.APPEND).payload()["spec"]
    assert spec["ioConfig"]["inputSource"] == {"type": "s3", "uris": uris}
    assert spec["ioConfig"]["inputFormat"] == {"type": "json"}
    with pytest.raises(ValueError, match="s3://"):
        build_spec("sales", _staging(), ["/local/file.gz"], IngestMode.APPEND)
    with pytest.raises(ValueError, match=r"\.gz"):
        build_spec("sales", _staging(), ["s3://b/k.ndjson"], IngestMode.APPEND)
    with pytest.raises(ValueError, match="at least one"):
        build_spec("sales", _staging(), [], IngestMode.APPEND)


def test_zstd_staging_reads_as_json_from_zst_keys() -> None:
    staging = _staging(format="ndjson.zst", path=Path("/tmp/staged.ndjson.zst"))
    uris = ["s3://b/k-0001.ndjson.zst", "s3://b/k-0002.ndjson.zst"]
    spec = build_spec("sales", staging, uris, IngestMode.APPEND).payload()["spec"]
    assert spec["ioConfig"]["inputFormat"] == {"type": "json"}
    # Druid picks the decompression from the key's suffix: a .gz key would not be read.
    with pytest.raises(ValueError, match=r"\.zst"):
        build_spec("sales", staging, ["s3://b/k.ndjson.gz"], IngestMode.APPEND)


def test_parquet_staging_reads_as_parquet() -> None:
    staging = _staging(format="parquet")
    spec = build_spec("sales", staging, ["s3://b/k.parquet"], IngestMode.APPEND).payload()
    assert spec["spec"]["ioConfig"]["inputFormat"]["type"] == "parquet"


def test_no_secret_by_default_and_password_providers_on_request() -> None:
    plain = build_spec("sales", _staging(), [URI], IngestMode.APPEND)
    assert "properties" not in plain.payload()["spec"]["ioConfig"]["inputSource"]
    assert "password" not in plain.body and "secret" not in plain.body.lower()

    props = S3InputProperties(
        access_key_id=EnvironmentPassword("DRUID_S3_KEY"),
        secret_access_key=EnvironmentPassword("DRUID_S3_SECRET"),
        assume_role_arn="arn:aws:iam::1:role/r",
    )
    spec = build_spec(
        "sales", _staging(), [URI], IngestMode.APPEND, SpecOptions(s3_properties=props)
    )
    assert spec.payload()["spec"]["ioConfig"]["inputSource"]["properties"] == {
        "accessKeyId": {"type": "environment", "variable": "DRUID_S3_KEY"},
        "secretAccessKey": {"type": "environment", "variable": "DRUID_S3_SECRET"},
        "assumeRoleArn": "arn:aws:iam::1:role/r",
    }
    assert "hunter2" not in repr(PlainPassword("hunter2"))
    assert PlainPassword("hunter2").provider() == {"type": "default", "password": "hunter2"}


def test_task_id_is_deterministic_and_distinct() -> None:
    sha = "cd" * 32
    first = task_id_for("sales", sha, IngestMode.APPEND)
    assert first == task_id_for("sales", sha, IngestMode.APPEND)
    others = {
        task_id_for("sales", sha, IngestMode.REPLACE),
        task_id_for("sales", "ef" * 32, IngestMode.APPEND),
        task_id_for("sales2", sha, IngestMode.APPEND),
        task_id_for("sales", sha, IngestMode.APPEND, attempt=1),
    }
    assert first not in others and len(others) == 4
    assert first.startswith("ingest-desk_sales_append_")
    # Names that sanitise alike still get different ids; ids stay URL- and path-safe.
    odd = task_id_for("Sales Q1/2024 ü", sha, IngestMode.APPEND)
    assert odd != task_id_for("Sales_Q1_2024_", sha, IngestMode.APPEND)
    assert all(ch.isalnum() or ch in "_-." for ch in odd)
    assert build_spec("sales", _staging(), [URI], IngestMode.APPEND).payload()["id"] == (
        task_id_for("sales", "ab" * 32, IngestMode.APPEND)
    )


def test_body_is_json_text() -> None:
    spec = build_spec("sales", _staging(), [URI], IngestMode.APPEND)
    assert json.loads(spec.body)["type"] == "index_parallel"
    assert spec.task_id == json.loads(spec.body)["id"]


def test_intervals_before_1970_are_exact() -> None:
    """Negative epochs (any time before 1970) floor to whole days and months like any other."""
    from datetime import UTC, datetime

    from app.domain.druid import SegmentGranularity
    from app.services.druid import aligned_interval

    def ms(*parts: int) -> int:
        return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)

    day = aligned_interval(ms(1914, 12, 12, 15, 30), ms(1968, 12, 31, 23, 59),
                           SegmentGranularity.DAY)
    assert (day.start_ms, day.end_ms) == (ms(1914, 12, 12), ms(1969, 1, 1))
    assert day.iso == "1914-12-12T00:00:00.000Z/1969-01-01T00:00:00.000Z"
    across = aligned_interval(ms(1969, 12, 31, 23, 0), ms(1970, 1, 1, 0, 30),
                              SegmentGranularity.MONTH)
    assert (across.start_ms, across.end_ms) == (ms(1969, 12, 1), ms(1970, 2, 1))
