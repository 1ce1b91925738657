"""Druid: index_parallel spec builder, Overlord/SQL client, schema drift and replace preview."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.services.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from app.services.druid.answers import condense_java_error, parse_report
    from app.services.druid.client import (
        KEYRING_PASSWORD,
        KEYRING_SERVICE,
        DruidClient,
        RetryPolicy,
        SqlParameter,
        extension_problem,
    )
    from app.services.druid.drift import compare_columns, detect_drift, replace_preview
    from app.services.druid.errors import (
        DruidAuthError,
        DruidCancelNotConfirmedError,
        DruidError,
        DruidExtensionMissingError,
        DruidHttpError,
        DruidNotFoundError,
        DruidReportError,
        DruidSqlError,
        DruidTaskIdTakenError,
        DruidUnavailableError,
        DruidUrlError,
    )
    from app.services.druid.spec import (
        EnvironmentPassword,
        IngestionSpec,
        PlainPassword,
        S3InputProperties,
        SpecOptions,
        aligned_interval,
        build_spec,
        task_id_for,
    )
else:
    # The window catches DruidError at startup; httpx loads when Druid is first asked.
    __getattr__ = lazy_exports(
        __name__,
        {
            "answers": ("condense_java_error", "parse_report"),
            "client": (
                "KEYRING_PASSWORD",
                "KEYRING_SERVICE",
                "DruidClient",
                "RetryPolicy",
                "SqlParameter",
                "extension_problem",
            ),
            "drift": ("compare_columns", "detect_drift", "replace_preview"),
            "errors": (
                "DruidAuthError",
                "DruidCancelNotConfirmedError",
                "DruidError",
                "DruidExtensionMissingError",
                "DruidHttpError",
                "DruidNotFoundError",
                "DruidReportError",
                "DruidSqlError",
                "DruidTaskIdTakenError",
                "DruidUnavailableError",
    "DruidUrlError",
                "DruidUrlError",
            ),
            "spec": (
                "EnvironmentPassword",
                "IngestionSpec",
                "PlainPassword",
                "S3InputProperties",
                "SpecOptions",
                "aligned_interval",
                "build_spec",
                "task_id_for",
            ),
        },
    )

__all__ = [
    "KEYRING_PASSWORD",
    "KEYRING_SERVICE",
    "DruidAuthError",
    "DruidCancelNotConfirmedError",
    "DruidClient",
    "DruidError",
    "DruidExtensionMissingError",
    "DruidHttpError",
    "DruidNotFoundError",
    "DruidReportError",
    "DruidSqlError",
    "DruidTaskIdTakenError",
    "DruidUnavailableError",
    "DruidUrlError",
    "EnvironmentPassword",
    "IngestionSpec",
    "PlainPassword",
    "RetryPolicy",
    "S3InputProperties",
    "SpecOptions",
    "SqlParameter",
    "aligned_interval",
    "build_spec",
    "compare_columns",
    "condense_java_error",
    "detect_drift",
    "extension_problem",
    "parse_report",
    "replace_preview",
    "task_id_for",
]
