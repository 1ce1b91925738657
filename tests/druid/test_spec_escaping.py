"""Column names from the user's file stay names inside Druid's transform expressions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.domain.tasks import IngestMode
from app.domain.validation import ColumnType, StagingResult
from app.services.druid import build_spec
from app.services.druid.spec import expression_identifier

# The tokens of Druid's Expr.g4 (processing/src/main/antlr4/.../Expr.g4) that a cast uses.
_ESC = r"\\(?:['\"\\/bfnrt]|u[0-9a-fA-F]{4})"
_TOKENS = re.compile(
    rf"""(?P<ws>[ \t\r\n]+)
    |(?P<identifier>[_$a-zA-Z][_$a-zA-Z0-9]*|"(?:{_ESC}|[^"\\])*")
    |(?P<string>'(?:{_ESC}|[^'\\])*')
    |(?P<punct>[(),])""",
    re.VERBOSE | re.DOTALL,
)
_JAVA_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescape_java(text: str) -> str:
    """Commons-lang StringEscapeUtils.unescapeJava, which Druid applies to quoted identifiers."""
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        nxt = text[index + 1]
        if nxt == "u":
            out.append(chr(int(text[index + 2 : index + 6], 16)))
            index += 6
        else:
            out.append(_JAVA_ESCAPES.get(nxt, nxt))
            index += 2
    return "".join(out)


def _lex(expression: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(expression):
        match = _TOKENS.match(expression, position)
        assert match is not None, f"Druid's lexer stops at {expression[position:]!r}"
        position = match.end()
        kind = match.lastgroup
        assert kind is not None
        if kind != "ws":
            tokens.append((kind, match.group()))
    return tokens


def _cast_target(expression: str) -> str:
    """The column a `cast(<identifier>, 'LONG')` reads, as Druid's parser would see it."""
    tokens = _lex(expression)
    kinds = [kind for kind, _ in tokens]
    assert kinds == ["identifier", "punct", "identifier", "punct", "string", "punct"]
    assert [text for _, text in tokens][::2] == ["cast", tokens[2][1], "'LONG'"]
    identifier = tokens[2][1]
    return _unescape_java(identifier[1:-1]) if identifier.startswith('"') else identifier


HOSTILE_NAMES = [
    'a"b',
    "x\\y",
    "it's",
    '"), \'LONG\') + cast("other',
    "tab\there\nnewline",
    "\\",
    '\\"',
    "日本語",
    "esc\x1b[31m",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_boolean_column_name_cannot_break_out_of_its_expression(name: str) -> None:
    staging = StagingResult(
        path=Path("/tmp/staged.ndjson.gz"), format="ndjson.gz", rows=1, bytes=10,
        sha256="ab" * 32, min_time_ms=0, max_time_ms=1,
        columns=(("__time", ColumnType.TIMESTAMP), (name, ColumnType.BOOLEAN)),
    )
    spec = build_spec(
        "sales", staging, ["s3://bucket/key.ndjson.gz"], IngestMode.APPEND
    )
    body = json.loads(spec.body)  # still valid JSON
    (transform,) = body["spec"]["dataSchema"]["transformSpec"]["transforms"]
    assert transform["name"] == name
    assert _cast_target(transform["expression"]) == name


def test_plain_names_read_as_before() -> None:
    assert expression_identifier("active") == '"active"'


def test_the_test_lexer_rejects_what_druid_rejects() -> None:
    # The unescaped form the spec used to build: the quote ends the identifier early.
    with pytest.raises(AssertionError):
        _cast_target("cast(\"a\"b\", 'LONG')")
