"""Checks for the reading flags (`--encoding`, `--delimiter`, `--timezone`, `--header-row`)."""

from __future__ import annotations

import codecs
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

# What a user may type for a tab: a shell cannot easily pass the character itself.
_TAB_NAMES = ("\\t", "tab", "TAB", "\t")
# Characters that end a field or a record already; a delimiter of one would read nonsense.
_NOT_DELIMITERS = ('"', "\n", "\r")


def encoding_problem(value: str) -> str | None:
    try:
        info = codecs.lookup(value)
    except LookupError:
        return f"{value!r} is not a text encoding Python knows (for example utf-8, cp1252, latin-1)"
    # base64, rot13 and friends are codecs but not text encodings: decoding with them fails.
    if not getattr(info, "_is_text_encoding", True):
        return f"{value!r} is a codec, not a text encoding (for example utf-8, cp1252, latin-1)"
    return None


def normal_delimiter(value: str) -> str:
    """The delimiter character for `value` (`\\t` and `tab` mean a tab); ValueError otherwise."""
    if value in _TAB_NAMES:
        return "\t"
    # The CSV reader splits on one byte, so the character must be ASCII.
    if len(value) != 1 or not value.isascii() or value in _NOT_DELIMITERS:
        raise ValueError(
            f"{value!r} is not a delimiter: give one character such as , ; | or \\t (a tab)"
        )
    return value


def timezone_problem(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a folder of the zone database (`America`) is not a zone.
        return f"{value!r} is not a time zone name (for example UTC, Europe/Paris, Asia/Tokyo)"
    return None


def header_row_problem(value: int) -> str | None:
    if value < 1:
        return f"{value} is not a line number: the header row counts from 1 (the first line)"
    return None


def check_encoding(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    problem = encoding_problem(value) if value else None
    if problem:
        raise click.BadParameter(problem)
    return value


def check_delimiter(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if not value:
        return value
    try:
        return normal_delimiter(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def check_timezone(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    problem = timezone_problem(value) if value else None
    if problem:
        raise click.BadParameter(problem)
    return value


def check_header_row(_ctx: click.Context, _param: click.Parameter, value: int | None) -> int | None:
    problem = header_row_problem(value) if value is not None else None
    if problem:
        raise click.BadParameter(problem)
    return value


def template_problem(
    encoding: str | None, delimiter: str | None, timezone: str | None, header_row: int | None
) -> str | None:
    """The first bad reading correction a template carries, in the same words as the flags'."""
    problems = [
        encoding_problem(encoding) if encoding else None,
        timezone_problem(timezone) if timezone else None,
        header_row_problem(header_row) if header_row is not None else None,
    ]
    if delimiter:
        try:
            normal_delimiter(delimiter)
        except ValueError as exc:
            problems.append(str(exc))
    return next((problem for problem in problems if problem), None)
