"""Turn a native reader's failure (Polars, fastexcel, a Rust panic) into an unreadable verdict."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from app.services.reading.errors import UnreadableFileError

# What a message may quote from a file or a native error: enough to find the place, no more.
EXCERPT_CHARS = 60
_P = ParamSpec("_P")
_R = TypeVar("_R")


class Explains(Protocol):
    """A source that can say why reading it failed (see SourceTable.read_failure)."""

    def read_failure(self, exc: BaseException) -> UnreadableFileError: ...

    def check_unchanged(self) -> None: ...


_S = TypeVar("_S", bound=Explains)


def is_native_panic(exc: BaseException) -> bool:
    """A Rust panic inside a PyO3 extension: a BaseException each extension defines anew."""
    kind = type(exc)
    return kind.__name__ == "PanicException" and kind.__module__ == "pyo3_runtime"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A short quote for a message: control characters escaped, cut with the length said."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    if len(text) > limit:
        shown += f"… ({len(text):,} characters)"
    return shown


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def generic_failure(path: Path, exc: BaseException) -> UnreadableFileError:
    """The verdict for a read failure nothing more specific explains."""
    if is_native_panic(exc):
        return UnreadableFileError(
            "reader_crashed",
            f"{path.name} could not be read: the spreadsheet reader stopped on it "
            f"({excerpt(_first_line(exc))}). Open it in Excel, save a new copy as XLSX or CSV, "
            "and drop that copy.",
        )
    if isinstance(exc, MemoryError):
        return UnreadableFileError(
            "out_of_memory",
            f"{path.name} needs more memory than this computer has to read. "
            "Save it as CSV or split it.",
        )
    return UnreadableFileError(
        "parse_error",
        f"{path.name} could not be read to the end: {excerpt(_first_line(exc))}",
    )


def _translatable(exc: BaseException) -> bool:
    if isinstance(exc, UnreadableFileError):
        return False
    if is_native_panic(exc) or isinstance(exc, (MemoryError, OSError)):
        return True
    import polars as pl  # noqa: PLC0415 - loaded already whenever a frame exists

    return isinstance(exc, pl.exceptions.PolarsError)


@contextmanager
def read_errors(explain: Callable[[BaseException], UnreadableFileError]) -> Iterator[None]:
    """Failures of the native readers inside the block leave it as UnreadableFileError."""
    try:
        yield
    except BaseException as exc:
        if not _translatable(exc):
            raise
        # `from None`: the native message may quote megabytes of the file.
        raise explain(exc) from None


def reading_boundary(
    func: Callable[Concatenate[_S, _P], _R],
) -> Callable[Concatenate[_S, _P], _R]:
    """For a function whose first argument is the source it reads: its read failures are
    verdicts (a panic is a BaseException that no `except Exception` above would catch), and
    a file that changed while it was read fails it, so what was checked is what was hashed."""

    @functools.wraps(func)
    def wrapper(source: _S, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with read_errors(source.read_failure):
            result = func(source, *args, **kwargs)
        source.check_unchanged()
        return result

    return wrapper  # type: ignore[return-value]  # wraps() names the first parameter


def unclosed_quote(lines: Iterable[str], delimiter: str) -> tuple[int, str] | None:
    """The line (1-based) and text where a quoted field opens that never closes, if any.

    Only lines with a quote are walked character by character, so a large file is quick.
    """
    inside, opened, opened_text = False, 0, ""
    for number, line in enumerate(lines, start=1):
        if not inside and '"' not in line:
            continue
        at, field_start = 0, not inside
        while at < len(line):
            if inside:
                close = line.find('"', at)
                if close < 0:
                    break
                if line.startswith('""', close):
                    at = close + 2
                    continue
                inside, at = False, close + 1
                continue
            if field_start and line[at] == '"':
                inside, opened, opened_text = True, number, line[at:]
                at += 1
                continue
            following = line.find(delimiter, at)
            if following < 0:
                break
            at, field_start = following + len(delimiter), True
    return (opened, opened_text.rstrip("\r\n")) if inside else None
