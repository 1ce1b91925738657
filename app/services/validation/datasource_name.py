"""Druid's rules for datasource names: plain string checks, light enough for the GUI thread."""

from __future__ import annotations

import re

from app.domain.validation import Severity, ValidationIssue

__all__ = ["column_name_problem", "datasource_issues"]

RESERVED_COLUMN = "__time"


def datasource_issues(name: str | None) -> list[ValidationIssue]:
    """Druid's own id rules for datasource names, checked before anything is uploaded."""
    if name is None:
        return []
    problems: list[str] = []
    if not name.strip():
        problems.append("it is empty")
    if name.startswith("."):
        problems.append("it starts with '.'")
    if "/" in name:
        problems.append("it contains '/'")
    if re.search(r"[\t\n\r\x0b\x0c\u2028\u2029]", name):
        problems.append("it contains a tab or line break")
    if len(name) > 255:
        problems.append("it is longer than 255 characters")
    return (
        [
            ValidationIssue(
                Severity.ERROR,
                "bad_datasource_name",
                f"'{name}' is not a valid Druid datasource name: {', '.join(problems)}.",
                value=name,
            )
        ]
        if problems
        else []
    )


def column_name_problem(name: str) -> str | None:
    """Druid's rules for a column's name, in words (None when it is fine). `__time` is the row
    timestamp, so only the timestamp column may end up with that name."""
    if not name.strip():
        return "Druid needs a column name: it is empty."
    if name == RESERVED_COLUMN:
        return "'__time' is Druid's row timestamp; pick another name."
    if name != name.strip():
        return f"'{name}' starts or ends with a space; Druid would keep it, queries trip on it."
    if re.search(r"[\x00-\x1f\u2028\u2029]", name):
        return f"'{name}' contains a tab, line break or control character."
    if name.startswith("__"):
        return f"'{name}' starts with '__', which Druid keeps for its own system columns."
    return None
