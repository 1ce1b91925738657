"""Text from a file or another desk made safe to print: control characters escaped, values cut."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import click

from app.domain.validation import SniffDecision

# Enough for any real file name or cell; a 50 MB cell must not flood the terminal.
DEFAULT_LIMIT = 200
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Joiners are format characters that Persian and Indic writing (and emoji) need; they move
# nothing on screen, so they stay.
_JOINERS = {"\u200c", "\u200d"}


def _escaped(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _unsafe(char: str) -> bool:
    # Cc: C0/C1 controls (ESC starts ANSI sequences, \x9b is a one-byte CSI); Cf: bidi
    # overrides that reorder what the reader sees; Zl/Zp: line breaks by another name.
    return char not in _JOINERS and unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def printable(text: object, limit: int = DEFAULT_LIMIT) -> str:
    """`text` for a terminal line: control and format characters shown as `\\x1b`-style escapes
    (as `repr` writes them), and anything over `limit` characters cut with its length said."""
    value = "" if text is None else str(text)
    cut = len(value) > limit
    shown = value[:limit] if cut else value
    if any(_unsafe(char) for char in shown):
        shown = "".join(_escaped(char) if _unsafe(char) else char for char in shown)
    return f"{shown}… ({len(value):,} characters)" if cut else shown


def echo_decisions(decisions: Iterable[SniffDecision], limit: int) -> None:
    """How a file was read (delimiter, encoding, header...), one escaped line per decision: the
    `validate` report and a stored report in `show` print it alike."""
    click.echo("How the file was read:")
    for decision in decisions:
        value = "tab" if decision.value == "\t" else printable(decision.value)
        click.echo(f"  {decision.name:<16} {value:<12} {printable(decision.reason, limit)}")
