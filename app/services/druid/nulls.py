"""Whether the cluster stores a blank value as NULL (SQL-compatible) or as 0 and '' (legacy)."""

from __future__ import annotations

from app.domain.validation import ColumnProfile, ColumnType, Severity, ValidationIssue
from app.services.druid.client import DruidClient

PROPERTY = "druid.generic.useDefaultValueForNull"
# Druid 28 made SQL-compatible NULLs the default; before it, an unset property meant legacy.
SQL_NULLS_DEFAULT_FROM = 28
_NUMBERS = frozenset({ColumnType.INTEGER, ColumnType.DECIMAL})


def sql_compatible_nulls(client: DruidClient) -> bool:
    """True when blank numbers stay NULL in Druid (AVG, MIN and COUNT(col) skip them)."""
    setting = client.properties().get(PROPERTY)
    if setting is not None:
        return setting.strip().lower() == "false"
    major = client.status().version.split(".", 1)[0]
    return major.isdigit() and int(major) >= SQL_NULLS_DEFAULT_FROM


def legacy_null_warnings(columns: tuple[ColumnProfile, ...]) -> list[ValidationIssue]:
    """What a legacy-mode cluster does to this file's blanks, one warning per column."""
    found = []
    for column in columns:
        if column.nulls <= 0:
            continue
        becomes = "0" if column.type in _NUMBERS else "an empty string"
        found.append(
            ValidationIssue(
                Severity.WARNING, "druid_legacy_nulls",
                f"This Druid stores blank values as {becomes} (legacy null handling): the "
                f"{column.nulls:,} blank values in '{column.name}' will not be NULL there, so "
                "AVG, MIN and COUNT over it count them. Set "
                f"{PROPERTY}=false on the cluster for SQL NULLs.",
                column=column.name,
            )
        )
    return found
