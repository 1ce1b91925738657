"""Druid failures, each carrying Druid's own words so the user sees what the cluster said."""

from __future__ import annotations

from urllib.parse import urlsplit


class DruidError(Exception):
    """Anything that went wrong talking to Druid; `hint` is the next step, if there is one."""

    hint: str = ""


class DruidUrlError(DruidError):
    """The Druid URL cannot be used as written (no http:// or https://, not a URL at all)."""

    hint = "Add http:// or https:// at the start, e.g. https://druid.example.com:8888."


class DruidUnavailableError(DruidError):
    """Druid could not be reached, or kept answering with transient errors until retries ran out."""

    hint = "Check the Druid URL points at the router (or the Overlord) and that Druid is running."

    def __init__(
        self, message: str, status_code: int | None = None, druid_message: str | None = None
    ) -> None:
        self.status_code = status_code
        self.druid_message = druid_message
        super().__init__(message)


class DruidHttpError(DruidError):
    """Druid answered with an error status; `druid_message` is its error text, verbatim."""

    def __init__(
        self,
        status_code: int,
        druid_message: str,
        method: str,
        path: str,
        error_class: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.druid_message = druid_message
        self.method = method
        self.path = path
        self.error_class = error_class
        super().__init__(f"Druid answered HTTP {status_code} to {method} {path}: {druid_message}")


class DruidAuthError(DruidHttpError):
    """401/403: the user name, the keyring password or the user's permissions are wrong."""

    hint = "Check the Druid user name and the password saved in Settings (kept in the OS keyring)."


class DruidNotFoundError(DruidHttpError):
    """404: the task (or its report or log) is not known to Druid."""


class DruidSqlError(DruidHttpError):
    """Druid SQL rejected or failed a query (the message is Druid's errorMessage)."""


class DruidExtensionMissingError(DruidError):
    """The cluster has not loaded an extension ingestion needs (druid-s3-extensions, parquet)."""

    def __init__(self, extension: str, message: str) -> None:
        self.extension = extension
        super().__init__(message)


class DruidCancelNotConfirmedError(DruidError):
    """Druid accepted a shutdown, but the task did not reach a final state in time."""


class DruidTaskIdTakenError(DruidError):
    """Druid already holds a task under our id whose spec is not the one we submit."""


class DruidReportError(DruidError):
    """The task report is missing or does not have the shape this client understands."""


def usable_url(url: str) -> str:
    """`url` when httpx can send to it; DruidUrlError (with its hint) otherwise, instead of
    httpx's "unsupported protocol" or "invalid port" on the first request."""
    parts = urlsplit(url if "://" in url else f"missing://{url}")
    if parts.scheme.lower() not in ("http", "https"):
        shown = "has no" if parts.scheme == "missing" else f"starts with {parts.scheme}:// and not"
        raise DruidUrlError(f"The Druid URL {url!r} {shown} http:// or https://")
    try:
        _ = parts.port
    except ValueError as exc:
        raise DruidUrlError(f"The Druid URL {url!r} has a port that is not a number") from exc
    if not parts.hostname:
        raise DruidUrlError(f"The Druid URL {url!r} names no host")
    return url
