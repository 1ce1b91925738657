"""Druid's rules for datasource names: plain string checks, light enough for the GUI thread."""

from __future__ import annotations

import re

from app.domain.validation import Severity, ValidationIssue

__all__ = ["datasource_issues"]


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
