"""Open CSV/TSV/TXT (optionally gzipped) as a lazy Polars frame of raw text, streaming."""

from __future__ import annotations

import codecs
import csv
import gzip
import os
import tempfile
import zlib
from pathlib import Path
from typing import BinaryIO

import polars as pl

from app.domain.validation import Severity, SniffDecision, SourceKind, ValidationIssue
from app.services.reading.detect import Detection
from app.services.reading.errors import UnreadableFileError
from app.services.reading.failures import excerpt, generic_failure, unclosed_quote
from app.services.reading.options import ReadOptions
from app.services.reading.polars_io import apply_reader_defaults
from app.services.reading.sniff_text import (
    SAMPLE_BYTES,
    EncodingGuess,
    delimiter_name,
    only_cr_line_ends,
    sniff_dialect,
    sniff_encoding,
)
from app.services.reading.source import ROW_COLUMN, SourceTable, make_unique_headers

# The entry point sets it before any thread starts; this covers callers that skip it (bench).
apply_reader_defaults()

_CHUNK = 4 << 20
_TAIL_BYTES = 64 << 10
# Beyond this size a ragged file is checked in the sample only; a full Python scan would be slow.
_FULL_RAGGED_SCAN_LIMIT = 256 << 20
_MAX_RAGGED_ISSUES = 200


def _open_raw(path: Path, gzipped: bool) -> BinaryIO:
    return gzip.open(path, "rb") if gzipped else path.open("rb")  # type: ignore[return-value]


def _read_head(path: Path, gzipped: bool) -> tuple[bytes, bool]:
    try:
        with _open_raw(path, gzipped) as handle:
            head = handle.read(SAMPLE_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableFileError("io_error", f"Could not read {path.name}: {exc}.") from exc
    return head[:SAMPLE_BYTES], len(head) <= SAMPLE_BYTES


def _read_tail(path: Path, encoding: EncodingGuess, line_end: bytes) -> str:
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(0, size - _TAIL_BYTES))
        raw = handle.read(_TAIL_BYTES)
    # Start after the first line break so the first tail line is whole.
    cut = raw.find(line_end)
    raw = raw[cut + 1 :] if cut >= 0 else raw
    return raw.decode(encoding.codec, errors="replace")


def _transcode(path: Path, gzipped: bool, encoding: EncodingGuess, options: ReadOptions) -> Path:
    """Stream the file into a temporary UTF-8 copy Polars can scan without holding it in memory."""
    target_dir = options.temp_dir or Path(tempfile.gettempdir())
    target_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="ingest-desk-", suffix=".csv", dir=target_dir)
    decoder = codecs.getincrementaldecoder(encoding.codec)(errors="replace")
    written = 0
    first = True
    try:
        with os.fdopen(fd, "wb") as out, _open_raw(path, gzipped) as source:
            while True:
                chunk = source.read(_CHUNK)
                text = decoder.decode(chunk, final=not chunk)
                if first:
                    text = text.lstrip("\ufeff")
                    first = False
                data = text.encode("utf-8")
                written += len(data)
                if written > options.max_expanded_bytes:
                    limit_mb = options.max_expanded_bytes // (1 << 20)
                    raise UnreadableFileError(
                        "decompression_bomb",
                        f"{path.name} expands to more than {limit_mb:,} MB when decoded; "
                        "refused to protect this computer. Raise the limit in Settings "
                        "if the file is genuine.",
                    )
                out.write(data)
                if not chunk:
                    break
    except (OSError, EOFError, zlib.error) as exc:
        Path(name).unlink(missing_ok=True)
        raise UnreadableFileError(
            "corrupt_gzip" if gzipped else "io_error",
            f"Could not read {path.name} to the end: {exc}. The file may be truncated.",
        ) from exc
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _ragged_issues(
    scan_path: Path, delimiter: str, header_index: int, width: int, footer: int
) -> list[ValidationIssue]:
    """Find rows whose field count differs from the header's; only run for files that show it."""
    issues: list[ValidationIssue] = []
    with scan_path.open("r", encoding="utf-8", errors="replace", newline="") as handle:
        records = list(enumerate(csv.reader(handle, delimiter=delimiter, quotechar='"')))
    body = records[header_index + 1 :]
    if footer:
        body = body[:-footer] if footer < len(body) else []
    for index, record in body:
        if not record or len(record) == width:
            continue
        row = index + 1
        if len(record) > width:
            extra = ", ".join(repr(c) for c in record[width:][:3])
            issues.append(
                ValidationIssue(
                    Severity.ERROR,
                    "too_many_fields",
                    f"Row {row} has {len(record)} fields but the header has {width}; "
                    f"the extra values ({extra}) would be lost. Check for an unquoted delimiter.",
                    row=row,
                    value=extra,
                )
            )
        else:
            issues.append(
                ValidationIssue(
                    Severity.WARNING,
                    "too_few_fields",
                    f"Row {row} has {len(record)} fields but the header has {width}; "
                    "the missing ones are read as empty.",
                    row=row,
                )
            )
        if len(issues) >= _MAX_RAGGED_ISSUES:
            break
    return issues


def _explain(
    path: Path, scan_path: Path, delimiter: str, exc: BaseException
) -> UnreadableFileError:
    """Why Polars could not read the text: an open quote is found and pointed at, since
    Polars's own message quotes the rest of the file from that quote on."""
    try:
        with scan_path.open("r", encoding="utf-8", errors="replace") as lines:
            found = unclosed_quote(lines, delimiter)
    except OSError:
        found = None
    if found is None:
        failure = generic_failure(path, exc)
        if failure.code != "parse_error":
            return failure
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return UnreadableFileError(
            "parse_error",
            f"{path.name} could not be read as {delimiter_name(delimiter)}-separated text: "
            f"{excerpt(detail)}",
        )
    line, text = found
    return UnreadableFileError(
        "unclosed_quote",
        f"In {path.name} the quoted value that opens on line {line:,} ({excerpt(text)}) is "
        "never closed, so everything after it would be one value. Add the closing quote (or "
        "remove the opening one) and save the file again.",
    )


def open_delimited(path: Path, detection: Detection, options: ReadOptions) -> SourceTable:
    head, complete = _read_head(path, detection.gzipped)
    if not head:
        raise UnreadableFileError("empty_file", f"{path.name} is empty (0 bytes).")
    encoding = sniff_encoding(head, options.encoding)
    text = codecs.getincrementaldecoder(encoding.codec)(errors="replace").decode(
        head, final=complete
    )
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise UnreadableFileError(
            "blank_file", f"{path.name} contains only blank lines or spaces: there is no data."
        )

    plain_utf8 = encoding.polars_encoding == "utf8" and not detection.gzipped
    line_end = b"\r" if only_cr_line_ends(text) else b"\n"
    tail_text = None if complete or not plain_utf8 else _read_tail(path, encoding, line_end)
    extension = (
        path.suffixes[-2].lower()
        if detection.gzipped and len(path.suffixes) > 1
        else (path.suffix.lower())
    )
    dialect = sniff_dialect(
        text,
        complete=complete,
        extension=extension,
        forced_delimiter=options.delimiter,
        forced_header_row=options.header_row,
        tail_text=tail_text,
    )
    if dialect.field_count > options.max_columns:
        raise UnreadableFileError(
            "too_many_columns",
            f"{path.name} has {dialect.field_count:,} columns; the limit is "
            f"{options.max_columns:,}. Druid handles very wide tables poorly: split the file.",
        )
    if dialect.field_count == 0:
        raise UnreadableFileError("no_header", f"{path.name} has no header row.")

    decisions: list[SniffDecision] = [
        SniffDecision("format", "gzip+text" if detection.gzipped else "text", detection.reason),
        encoding.decision,
        *dialect.decisions,
    ]
    issues: list[ValidationIssue] = []
    if detection.warning:
        issues.append(ValidationIssue(Severity.WARNING, "misnamed_file", detection.warning))
    names, header_issues = make_unique_headers(list(dialect.header))
    issues.extend(header_issues)

    scan_path = path
    cleanup_paths: list[Path] = []
    if not plain_utf8:
        scan_path = _transcode(path, detection.gzipped, encoding, options)
        cleanup_paths.append(scan_path)

    def cleanup() -> None:
        for item in cleanup_paths:
            item.unlink(missing_ok=True)

    def explain(exc: BaseException) -> UnreadableFileError:
        return _explain(path, scan_path, dialect.delimiter, exc)

    try:
        if dialect.ragged_records:
            size = scan_path.stat().st_size
            if complete or size <= _FULL_RAGGED_SCAN_LIMIT:
                issues.extend(
                    _ragged_issues(
                        scan_path,
                        dialect.delimiter,
                        dialect.header_index,
                        dialect.field_count,
                        dialect.footer_records,
                    )
                )
            else:
                issues.append(
                    ValidationIssue(
                        Severity.ERROR,
                        "ragged_rows",
                        f"Some of the first rows have a different number of fields than the "
                        f"header ({dialect.field_count}); the file is too large to list them all.",
                    )
                )
        frame = pl.scan_csv(
            scan_path,
            has_header=True,
            separator=dialect.delimiter,
            quote_char='"',
            skip_rows=dialect.header_index,
            new_columns=names,
            infer_schema=False,
            truncate_ragged_lines=True,
            encoding="utf8-lossy",
            row_index_name=ROW_COLUMN,
            row_index_offset=dialect.header_index + 2,
            raise_if_empty=False,
            # A name such as `q?.csv` or `a[1].csv` is this one file, never a pattern.
            glob=False,
            eol_char=dialect.line_end,
        )
        footer_rows = dialect.footer_records
        if footer_rows:
            total = frame.select(pl.len()).collect().item()
            frame = frame.head(max(0, int(total) - footer_rows))
            issues.append(
                ValidationIssue(
                    Severity.WARNING,
                    "footer_rows",
                    f"The last {footer_rows} row(s) look like totals or notes and are left out.",
                )
            )
    except pl.exceptions.PolarsError as exc:
        cleanup()
        raise explain(exc) from None
    except BaseException:
        cleanup()
        raise

    return SourceTable(
        path=path,
        kind=SourceKind.DELIMITED,
        frame=frame,
        columns=tuple(names),
        source_names=tuple(dialect.header),
        decisions=tuple(decisions),
        issues=tuple(issues),
        decimal_comma=dialect.decimal_comma,
        footer_rows=footer_rows,
        cleanup=cleanup,
        explain=explain,
    )
