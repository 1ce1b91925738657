"""Columns the user left out: dropped before any check, and named in the report's decisions."""

from __future__ import annotations

from dataclasses import replace

from app.domain.rules import Template
from app.domain.validation import SniffDecision
from app.services.reading.source import SourceTable

SKIPPED_DECISION = "skipped_columns"


def skipped_columns(source: SourceTable, template: Template | None) -> tuple[str, ...]:
    if template is None:
        return ()
    return tuple(
        name for name in source.columns if (rule := template.rule(name)) and rule.skip
    )


def without_skipped(source: SourceTable, template: Template | None) -> SourceTable:
    """The source as if the skipped columns were not in the file: they are not type-checked,
    not staged and not in the spec (which is built from the staged columns)."""
    skipped = skipped_columns(source, template)
    if not skipped:
        return source
    kept = [i for i, name in enumerate(source.columns) if name not in skipped]
    names = ", ".join(f"'{name}'" for name in skipped)
    decision = SniffDecision(
        SKIPPED_DECISION,
        ", ".join(skipped),
        f"left out by your choice: {names} not checked, not staged, not sent to Druid",
    )
    return replace(
        source,
        frame=source.frame.drop(list(skipped)),
        columns=tuple(source.columns[i] for i in kept),
        source_names=tuple(source.source_names[i] for i in kept)
        if len(source.source_names) == len(source.columns)
        else source.source_names,
        decisions=(*source.decisions, decision),
        # Reader warnings about a left-out column (a blank or duplicate header) no longer apply.
        issues=tuple(i for i in source.issues if i.column not in skipped),
    )
