"""Before a submit: how the file's columns differ from the datasource's; what a replace drops."""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.druid import (
    DruidColumn,
    ReplacePreview,
    SchemaDrift,
    SegmentGranularity,
    TypeChange,
)
from app.domain.validation import ColumnType, StagingResult
from app.services.druid.client import DruidClient
from app.services.druid.spec import (
    SQL_TYPE,
    TIME_COLUMN,
    aligned_interval,
    druid_type,
)


def _incoming_sql_type(column_type: ColumnType) -> str:
    return SQL_TYPE[druid_type(column_type)]


def compare_columns(
    staged: Sequence[tuple[str, ColumnType]], existing: Sequence[DruidColumn]
) -> SchemaDrift:
    """New, missing and type-changed columns; an empty `existing` means a new datasource."""
    if not existing:
        return SchemaDrift(datasource_exists=False)
    have = {column.name: column.sql_type for column in existing if column.name != TIME_COLUMN}
    incoming = {name: _incoming_sql_type(kind) for name, kind in staged if name != TIME_COLUMN}
    return SchemaDrift(
        datasource_exists=True,
        new=tuple(name for name in incoming if name not in have),
        missing=tuple(name for name in have if name not in incoming),
        type_changed=tuple(
            TypeChange(column=name, existing=have[name], incoming=sql_type)
            for name, sql_type in incoming.items()
            if name in have and have[name] != sql_type
        ),
    )


def detect_drift(client: DruidClient, datasource: str, staging: StagingResult) -> SchemaDrift:
    return compare_columns(staging.columns, client.columns(datasource))


def replace_preview(
    client: DruidClient,
    datasource: str,
    staging: StagingResult,
    granularity: SegmentGranularity = SegmentGranularity.DAY,
) -> ReplacePreview:
    """Rows Druid holds now in the interval a replace would overwrite (the same aligned interval
    the spec builder computes) against the rows the file brings."""
    if staging.min_time_ms is None or staging.max_time_ms is None or staging.rows == 0:
        raise ValueError("a replace needs the file's time range, and the file has no rows")
    return preview_range(
        client, datasource, staging.min_time_ms, staging.max_time_ms, staging.rows, granularity
    )


def preview_range(
    client: DruidClient,
    datasource: str,
    min_time_ms: int,
    max_time_ms: int,
    rows_incoming: int,
    granularity: SegmentGranularity = SegmentGranularity.DAY,
) -> ReplacePreview:
    """The same preview from a time range measured before any staging file exists."""
    interval = aligned_interval(min_time_ms, max_time_ms, granularity)
    rows_now = 0
    if datasource in client.datasources():
        # The identifier cannot be a parameter; quoting it (doubling quotes) keeps it literal.
        table = '"' + datasource.replace('"', '""') + '"'
        result = client.sql(
            f"SELECT COUNT(*) AS n FROM {table} "
            "WHERE __time >= MILLIS_TO_TIMESTAMP(?) AND __time < MILLIS_TO_TIMESTAMP(?)",
            [interval.start_ms, interval.end_ms],
        )
        value = result.first("n")
        rows_now = int(value) if isinstance(value, int | float) else 0
    return ReplacePreview(
        datasource=datasource,
        interval=interval,
        rows_now=rows_now,
        rows_incoming=rows_incoming,
    )
