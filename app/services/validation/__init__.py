"""Validate every row of a file: column types with evidence, timestamps, Druid/template rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.services.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from app.services.validation.checks import REASON_COLUMN
    from app.services.validation.engine import (
        TIME_COLUMN,
        OutputColumn,
        SpeculativeSink,
        StagingPlan,
        ValidationOutcome,
        validate_source,
    )
    from app.services.validation.options import ValidateOptions
    from app.services.validation.scan import ScanCancelledError
else:
    # The window names ValidateOptions at startup; Polars loads when a file is validated.
    __getattr__ = lazy_exports(
        __name__,
        {
            "checks": ("REASON_COLUMN",),
            "engine": (
                "TIME_COLUMN",
                "OutputColumn",
                "SpeculativeSink",
                "StagingPlan",
                "ValidationOutcome",
                "validate_source",
            ),
            "options": ("ValidateOptions",),
            "scan": ("ScanCancelledError",),
        },
    )

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
