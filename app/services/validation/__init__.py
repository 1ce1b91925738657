"""Validate every row of a file: column types with evidence, timestamps, Druid/template rules."""

from __future__ import annotations

from app.services.validation.checks import REASON_COLUMN
from app.services.validation.engine import (
    TIME_COLUMN,
    OutputColumn,
    SpeculativeSink,
    StagingPlan,
    ValidateOptions,
    ValidationOutcome,
    validate_source,
)
from app.services.validation.scan import ScanCancelledError

__all__ = [
    "REASON_COLUMN",
    "TIME_COLUMN",
    "OutputColumn",
    "ScanCancelledError",
    "SpeculativeSink",
    "StagingPlan",
    "ValidateOptions",
    "ValidationOutcome",
    "validate_source",
]
