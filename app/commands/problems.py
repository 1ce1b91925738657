"""A task database, S3 or Druid problem as one plain line with its next step, and an exit code.

Exit codes (documented in `ingest-desk --help` and the README):
  0 done, 1 a task or check failed (or the file is invalid), 2 bad usage or an unreadable file,
  3 refused (the file was ingested before), 4 the task database, S3 or Druid cannot be used
  (setup, connection, schema).
"""

from __future__ import annotations

import sys
import tomllib

import click

from app.commands.terminal import printable

EXIT_FAILED, EXIT_SETUP = 1, 4
EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 a task or check failed, or the file is invalid; 2 bad usage or an "
    "unreadable file; 3 refused (already ingested); 4 the task database, S3 or Druid cannot be "
    "used (settings, connection, schema)."
)
# Long enough for a host, a database name and the server's reason; one terminal line or two.
_LIMIT = 600

# Each service's error base class, looked up only when its module is already loaded: an
# exception cannot be an instance of a class that was never imported, and the command line
# must not pay for importing SQLAlchemy, boto3 or httpx just to format an error.
_SERVICE_ERRORS = (
    ("app.services.store.errors", "StoreError"),
    ("app.services.storage.errors", "StorageError"),
    ("app.services.druid.errors", "DruidError"),
)
# Store errors about one task (a lost race, a missing task) are failures, not setup problems.
_STORE_SETUP = ("StoreUnavailableError", "DatabaseUrlError", "SchemaError")


class SetupProblem(Exception):
    """Something the command needs is not configured; the message says what, `hint` how."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def _service_error(exc: BaseException) -> str | None:
    """The service ("store", "storage", "druid") whose own error `exc` is, else None."""
    for module_name, class_name in _SERVICE_ERRORS:
        module = sys.modules.get(module_name)
        base = getattr(module, class_name, None) if module else None
        if isinstance(base, type) and isinstance(exc, base):
            return module_name.split(".")[2]
    return None


def _is_store_setup(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return any(name in names for name in _STORE_SETUP)


def problem_line(exc: BaseException) -> str:
    """`ingest-desk: <what went wrong> Hint: <what to do>` on one line, control
    characters escaped (messages can quote a server's or a file's text)."""
    message = str(exc).strip().rstrip(".") + "."
    hint = str(getattr(exc, "hint", "") or "").strip()
    text = f"{message} Hint: {hint}" if hint and hint not in message else message
    return f"ingest-desk: {printable(text, _LIMIT)}"


def _settings_problem(exc: BaseException) -> SetupProblem | None:
    """A settings file that is not TOML, or a value pydantic refused (from settings.toml or an
    INGEST_DESK_* variable)."""
    if isinstance(exc, tomllib.TOMLDecodeError):
        from app.services.settings import settings_file  # noqa: PLC0415

        return SetupProblem(f"The settings file {settings_file()} is not valid TOML ({exc})",
                            "Fix the line it names, or remove the file to start afresh.")
    module = sys.modules.get("pydantic")
    invalid = getattr(module, "ValidationError", None) if module else None
    if not (isinstance(invalid, type) and isinstance(exc, invalid)):
        return None
    from app.services.settings import ENV_PREFIX, settings_file  # noqa: PLC0415

    errors = exc.errors()  # type: ignore[attr-defined]
    names = [".".join(str(part) for part in error["loc"]) for error in errors]
    said = "; ".join(f"{name}: {error['msg']}" for name, error in zip(names, errors, strict=True))
    variables = ", ".join(f"{ENV_PREFIX}{name.upper()}" for name in names)
    return SetupProblem(f"A setting is not valid ({said})",
                        f"Fix it in {settings_file()} or in {variables}.")


def exit_code_for(exc: BaseException) -> int | None:
    """The exit code for a problem a command reports in one line; None for anything else
    (a bug keeps its traceback, so it can be reported)."""
    if isinstance(exc, SetupProblem):
        return EXIT_SETUP
    service = _service_error(exc)
    if service is None:
        return None
    if service == "store" and not _is_store_setup(exc):
        return EXIT_FAILED
    return EXIT_SETUP


def report(exc: BaseException) -> int | None:
    """Print `exc` as one line on stderr and give its exit code; None when it is not ours."""
    exc = _settings_problem(exc) or exc
    code = exit_code_for(exc)
    if code is not None:
        click.echo(problem_line(exc), err=True)
    return code
