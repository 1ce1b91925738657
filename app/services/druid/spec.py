"""Build the `index_parallel` ingestion spec that reads staging files from S3, and its task id."""

from __future__ import annotations

import calendar
import enum
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.domain.druid import Interval, SegmentGranularity
from app.domain.tasks import IngestMode
from app.domain.validation import ColumnType, StagingResult

TIME_COLUMN = "__time"
TASK_ID_PREFIX = "ingest-desk"
# Long enough for Druid to hand segments to a historical on a busy cluster; the task ends
# sooner when they load, and the pipeline's SQL check is the final word anyway.
DEFAULT_AWAIT_SEGMENTS_MS = 5 * 60 * 1000


class DruidColumnType(enum.StrEnum):
    """Druid's native dimension types; SQL names differ (see `SQL_TYPE`)."""

    STRING = "string"
    LONG = "long"
    DOUBLE = "double"


SQL_TYPE: dict[DruidColumnType, str] = {
    DruidColumnType.STRING: "VARCHAR",
    DruidColumnType.LONG: "BIGINT",
    DruidColumnType.DOUBLE: "DOUBLE",
}

# Non-__time timestamps are staged as ISO text: they stay strings so Druid never reinterprets them.
_DIMENSION_TYPE: dict[ColumnType, DruidColumnType] = {
    ColumnType.TEXT: DruidColumnType.STRING,
    ColumnType.TIMESTAMP: DruidColumnType.STRING,
    ColumnType.INTEGER: DruidColumnType.LONG,
    ColumnType.DECIMAL: DruidColumnType.DOUBLE,
    ColumnType.BOOLEAN: DruidColumnType.LONG,
}


def druid_type(column_type: ColumnType) -> DruidColumnType:
    return _DIMENSION_TYPE[column_type]


@dataclass(frozen=True, slots=True)
class EnvironmentPassword:
    """Druid's `environment` password provider: the secret stays on the Druid machines."""

    variable: str

    def provider(self) -> dict[str, str]:
        return {"type": "environment", "variable": self.variable}


@dataclass(frozen=True, slots=True)
class PlainPassword:
    """Druid's `default` password provider: the secret travels inside the spec (and the task
    payload Druid stores), so use it only when the caller deliberately chooses to."""

    password: str = field(repr=False)

    def provider(self) -> dict[str, str]:
        return {"type": "default", "password": self.password}


PasswordProvider = EnvironmentPassword | PlainPassword


@dataclass(frozen=True, slots=True)
class S3InputProperties:
    """Per-spec S3 credentials for the `s3` input source; by default Druid uses its own."""

    access_key_id: PasswordProvider
    secret_access_key: PasswordProvider
    assume_role_arn: str | None = None

    def as_json(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "accessKeyId": self.access_key_id.provider(),
            "secretAccessKey": self.secret_access_key.provider(),
        }
        if self.assume_role_arn:
            props["assumeRoleArn"] = self.assume_role_arn
        return props


@dataclass(frozen=True, slots=True)
class SpecOptions:
    segment_granularity: SegmentGranularity = SegmentGranularity.DAY
    # Two subtasks fit a small cluster's worker slots next to the supervisor task.
    max_concurrent_subtasks: int = 2
    await_segments_ms: int = DEFAULT_AWAIT_SEGMENTS_MS
    s3_properties: S3InputProperties | None = None
    max_rows_per_segment: int = 5_000_000


@dataclass(frozen=True, slots=True)
class IngestionSpec:
    """A ready-to-submit task: its deterministic id and the JSON body Druid receives."""

    task_id: str
    datasource: str
    mode: IngestMode
    interval: Interval | None  # the replaced interval; None for an append
    body: str  # JSON text, sent as is

    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def task_id_for(datasource: str, sha256: str, mode: IngestMode, attempt: int = 0) -> str:
    """The same file, datasource and mode always give the same id, so a re-submit after a crash
    is recognised by Druid ("already exists"); `attempt` > 0 makes a deliberate retry distinct."""
    digest = hashlib.sha256(f"{datasource}\x00{sha256}\x00{mode.value}".encode()).hexdigest()
    # The readable part helps operators in the console; the digest keeps ids unique and URL-safe.
    readable = _UNSAFE.sub("_", datasource).strip("._")[:60] or "ds"
    task_id = f"{TASK_ID_PREFIX}_{readable}_{mode.value}_{digest[:24]}"
    return f"{task_id}_r{attempt}" if attempt > 0 else task_id


def _floor(moment: datetime, granularity: SegmentGranularity) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity is SegmentGranularity.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    if granularity is SegmentGranularity.DAY:
        return day
    if granularity is SegmentGranularity.WEEK:
        return day - timedelta(days=day.weekday())  # Druid's weeks start on Monday (ISO)
    if granularity is SegmentGranularity.MONTH:
        return day.replace(day=1)
    if granularity is SegmentGranularity.QUARTER:
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def _next(start: datetime, granularity: SegmentGranularity) -> datetime:
    if granularity is SegmentGranularity.HOUR:
        return start + timedelta(hours=1)
    if granularity is SegmentGranularity.DAY:
        return start + timedelta(days=1)
    if granularity is SegmentGranularity.WEEK:
        return start + timedelta(weeks=1)
    months = {SegmentGranularity.MONTH: 1, SegmentGranularity.QUARTER: 3}.get(granularity, 12)
    index = start.month - 1 + months
    return start.replace(year=start.year + index // 12, month=index % 12 + 1)


def _ms(moment: datetime) -> int:
    return calendar.timegm(moment.utctimetuple()) * 1000


def aligned_interval(min_ms: int, max_ms: int, granularity: SegmentGranularity) -> Interval:
    """The smallest run of whole segment-granularity buckets holding [min_ms, max_ms]: Druid
    replaces whole time chunks, so a narrower interval would be rejected or leave stale rows."""
    start = _floor(datetime.fromtimestamp(min_ms // 1000, tz=UTC), granularity)
    last = _floor(datetime.fromtimestamp(max_ms // 1000, tz=UTC), granularity)
    return Interval(_ms(start), _ms(_next(last, granularity)))


def _dimension(name: str, column_type: ColumnType) -> dict[str, Any]:
    kind = druid_type(column_type)
    spec: dict[str, Any] = {"type": kind.value, "name": name}
    if kind is DruidColumnType.STRING:
        # Bitmap indexes stay on for strings (the default); stated so the spec reads explicitly.
        spec["createBitmapIndex"] = True
    return spec


def expression_identifier(name: str) -> str:
    """`name` as a quoted identifier in Druid's expression language (Expr.g4: `"` ... `"` with
    Java escapes, unescaped by `StringEscapeUtils.unescapeJava`), whatever characters it holds."""
    out = []
    for char in name:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0:
            # Control characters would survive the lexer, but escaped they stay readable in the
            # console and cannot be mangled by anything that trims or normalises whitespace.
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _transforms(columns: Sequence[tuple[str, ColumnType]]) -> list[dict[str, str]]:
    # JSON and Parquet hand Druid real booleans, which a long dimension rejects as a parse
    # error; cast() turns true/false into 1/0 and keeps nulls null. The column name comes from
    # the user's file, so it is escaped, never pasted, into the expression.
    return [
        {
            "type": "expression",
            "name": name,
            "expression": f"cast({expression_identifier(name)}, 'LONG')",
        }
        for name, column_type in columns
        if column_type is ColumnType.BOOLEAN
    ]


# The object key's suffix is how Druid knows a part is compressed, and with what.
_NDJSON_SUFFIXES = {"ndjson.gz": ".gz", "ndjson.zst": ".zst"}


def _input_format(staging_format: str) -> dict[str, Any]:
    if staging_format == "parquet":
        return {"type": "parquet", "binaryAsString": False}
    if staging_format in _NDJSON_SUFFIXES:
        # Druid picks gzip or zstd decompression from the object key's .gz or .zst suffix.
        return {"type": "json"}
    raise ValueError(f"unknown staging format {staging_format!r}")


def build_spec(
    datasource: str,
    staging: StagingResult,
    uris: Sequence[str],
    mode: IngestMode,
    options: SpecOptions | None = None,
    *,
    attempt: int = 0,
) -> IngestionSpec:
    """An `index_parallel` task reading `uris` (one or several staging parts) through `s3`."""
    options = options or SpecOptions()
    if not datasource.strip():
        raise ValueError("a datasource name is required")
    if not uris:
        raise ValueError("at least one staging URI is required")
    bad = [uri for uri in uris if not uri.startswith("s3://")]
    if bad:
        raise ValueError(f"staging URIs must be s3:// URIs, not {bad[0]!r}")
    suffix = _NDJSON_SUFFIXES.get(staging.format)
    if suffix is not None and any(not uri.endswith(suffix) for uri in uris):
        raise ValueError(
            f"{staging.format} staging parts must end in {suffix}, or Druid reads them "
            "uncompressed"
        )
    columns = [(name, kind) for name, kind in staging.columns if name != TIME_COLUMN]

    interval: Interval | None = None
    granularity: dict[str, Any] = {
        "type": "uniform",
        "segmentGranularity": options.segment_granularity.value,
        "queryGranularity": "NONE",
        "rollup": False,
    }
    io_config: dict[str, Any] = {"type": "index_parallel"}
    if mode is IngestMode.REPLACE:
        if staging.min_time_ms is None or staging.max_time_ms is None or staging.rows == 0:
            raise ValueError("a replace needs the file's time range, and the file has no rows")
        interval = aligned_interval(
            staging.min_time_ms, staging.max_time_ms, options.segment_granularity
        )
        granularity["intervals"] = [interval.iso]
        # dropExisting also removes segments in the interval the new data does not cover,
        # so the interval ends up holding exactly the file's rows.
        io_config.update(appendToExisting=False, dropExisting=True)
    else:
        io_config.update(appendToExisting=True, dropExisting=False)

    input_source: dict[str, Any] = {"type": "s3", "uris": list(uris)}
    if options.s3_properties is not None:
        input_source["properties"] = options.s3_properties.as_json()
    io_config["inputSource"] = input_source
    io_config["inputFormat"] = _input_format(staging.format)

    data_schema: dict[str, Any] = {
        "dataSource": datasource,
        "timestampSpec": {"column": TIME_COLUMN, "format": "millis"},
        "dimensionsSpec": {
            "dimensions": [_dimension(name, kind) for name, kind in columns],
        },
        "metricsSpec": [],
        "granularitySpec": granularity,
    }
    transforms = _transforms(columns)
    if transforms:
        data_schema["transformSpec"] = {"transforms": transforms}

    task_id = task_id_for(datasource, staging.sha256, mode, attempt)
    body = {
        "type": "index_parallel",
        "id": task_id,
        "spec": {
            "dataSchema": data_schema,
            "ioConfig": io_config,
            "tuningConfig": {
                "type": "index_parallel",
                "maxNumConcurrentSubTasks": options.max_concurrent_subtasks,
                "partitionsSpec": {
                    "type": "dynamic",
                    "maxRowsPerSegment": options.max_rows_per_segment,
                },
                # The file was validated: any row Druid cannot parse is a bug, not noise.
                "maxParseExceptions": 0,
                "maxSavedParseExceptions": 10,
                "logParseExceptions": True,
                "awaitSegmentAvailabilityTimeoutMillis": options.await_segments_ms,
            },
        },
        "context": {"ingestDesk": {"sha256": staging.sha256, "rows": staging.rows}},
    }
    return IngestionSpec(
        task_id=task_id,
        datasource=datasource,
        mode=mode,
        interval=interval,
        body=json.dumps(body, separators=(",", ":"), sort_keys=False),
    )
