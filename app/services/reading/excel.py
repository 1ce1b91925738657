"""Open XLSX/XLSM/XLSB/XLS/ODS workbooks with fastexcel into a typed, row-numbered Polars frame."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import polars as pl

from app.domain.validation import (
    Severity,
    SheetInfo,
    SniffDecision,
    SourceKind,
    ValidationIssue,
)
from app.services.reading.detect import Detection
from app.services.reading.errors import UnreadableFileError
from app.services.reading.excel_container import detect_date_system, guard_expansion
from app.services.reading.excel_layout import (
    HEADER_PROBE_ROWS,
    MAX_FOOTER_ROWS,
    FooterRow,
    describe_footer,
    find_footer,
    find_header,
    typical_fill,
)
from app.services.reading.options import ReadOptions
from app.services.reading.source import ROW_COLUMN, SourceTable, make_unique_headers

# fastexcel reports the cells it had to null (formula errors) only through its pyarrow export;
# without pyarrow the frame is the same but those cells cannot be pointed out.
_HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None

# Beyond this many formula errors the report lists a count instead of every cell.
MAX_CELL_ISSUES = 200

_EXCEL_ERRORS = {
    "Div0": "#DIV/0!",
    "NA": "#N/A",
    "Name": "#NAME?",
    "Null": "#NULL!",
    "Num": "#NUM!",
    "Ref": "#REF!",
    "Value": "#VALUE!",
    "GettingData": "#GETTING_DATA",
}
_ERROR_DETAIL = re.compile(r"Error\((\w+)\)")
_FASTEXCEL_SUFFIX = re.compile(r"^(.*)_\d+$")


@dataclass(frozen=True, slots=True)
class _CellProblem:
    row: int  # 0-based data-row index
    column: int  # index into the loaded columns
    detail: str


def _corrupt(path: Path, exc: Exception) -> UnreadableFileError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return UnreadableFileError(
        "corrupt_workbook",
        f"{path.name} could not be read as a workbook; it looks damaged or incomplete "
        f"({detail}). Open it in Excel, save a new copy, and drop that copy.",
    )


def _open_reader(path: Path, detection: Detection, options: ReadOptions) -> fastexcel.ExcelReader:
    guard_expansion(path, detection.kind, options)
    try:
        return fastexcel.read_excel(path)
    except fastexcel.FastExcelError as exc:
        raise _corrupt(path, exc) from exc


def _load(
    path: Path,
    reader: fastexcel.ExcelReader,
    sheet: str,
    header_index: int,
    *,
    n_rows: int | None = None,
    sample_rows: int | None = None,
) -> fastexcel.ExcelSheet:
    """Load with the header at an absolute 0-based row, so row numbers match what Excel shows.

    skip_rows=0 matters: without it fastexcel starts at the first non-empty row and the
    numbering of everything below drifts from the sheet.
    """
    try:
        return reader.load_sheet(
            sheet,
            header_row=header_index,
            skip_rows=0,
            n_rows=n_rows,
            schema_sample_rows=sample_rows,
            dtype_coercion="coerce",
        )
    except fastexcel.FastExcelError as exc:
        raise _corrupt(path, exc) from exc


def _check_width(sheet: fastexcel.ExcelSheet, options: ReadOptions) -> None:
    if sheet.width > options.max_columns:
        raise UnreadableFileError(
            "too_many_columns",
            f"Sheet '{sheet.name}' has {sheet.width:,} columns; at most {options.max_columns:,} "
            "can be loaded. Remove unused columns or split the sheet.",
        )


def _convert(
    path: Path, sheet: fastexcel.ExcelSheet
) -> tuple[pl.DataFrame, list[_CellProblem] | None]:
    """The sheet as a Polars frame, plus the cells fastexcel nulled (None: not checkable)."""
    try:
        if not _HAS_PYARROW:
            return sheet.to_polars(), None
        batch, errors = sheet.to_arrow_with_errors()
    except fastexcel.FastExcelError as exc:
        raise _corrupt(path, exc) from exc
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)  # a RecordBatch always becomes a DataFrame
    problems = [
        _CellProblem(error.offset_position[0], error.offset_position[1], error.detail)
        for error in (errors.errors if errors is not None else [])
    ]
    return frame, problems


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def _column_letter(index: int) -> str:
    letters = ""
    number = index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _raw_headers(sheet: fastexcel.ExcelSheet) -> list[str | None]:
    """Header text as written: fastexcel renames duplicates to name_1, name_2; undo that."""
    produced: set[str] = set()
    raw: list[str | None] = []
    for column in sheet.selected_columns:
        name = column.name
        match = _FASTEXCEL_SUFFIX.match(name)
        if match and match.group(1) in produced:
            # fastexcel picks the first free suffix; only that exact name is its renaming.
            base, suffix = match.group(1), 1
            while f"{base}_{suffix}" in produced:
                suffix += 1
            if name == f"{base}_{suffix}":
                name = base
        produced.add(column.name)
        if column.column_name_from != "looked_up":
            raw.append(None)  # blank, or a date/boolean header cell fastexcel cannot name
            continue
        raw.append(name)
    return raw


def _pick_sheet(
    path: Path, reader: fastexcel.ExcelReader, options: ReadOptions
) -> tuple[str, fastexcel.ExcelSheet | None, SniffDecision, tuple[SheetInfo, ...]]:
    """The sheet to read, a preloaded copy if we had to load it to decide, and why."""
    names = reader.sheet_names
    if not names:
        raise UnreadableFileError("no_sheets", f"{path.name} contains no sheets.")
    if options.sheet is not None:
        wanted = options.sheet
        matches = [n for n in names if n == wanted] or [
            n for n in names if n.casefold() == wanted.strip().casefold()
        ]
        if not matches:
            listed = ", ".join(f"'{n}'" for n in names)
            raise UnreadableFileError(
                "sheet_not_found",
                f"{path.name} has no sheet named '{wanted}'. Its sheets are: {listed}.",
            )
        return matches[0], None, SniffDecision("sheet", matches[0], "the sheet you chose"), ()
    if len(names) == 1:
        return names[0], None, SniffDecision("sheet", names[0], "the only sheet"), ()

    infos: list[SheetInfo] = []
    best: tuple[bool, int, int] | None = None
    best_sheet: fastexcel.ExcelSheet | None = None
    for name in names:
        loaded = _load(path, reader, name, 0)
        info = SheetInfo(name, loaded.height, loaded.width, loaded.visible == "visible")
        infos.append(info)
        # Visible sheets win over hidden ones (lookup tables are often hidden and long).
        key = (info.visible, info.rows, info.columns)
        if best is None or key > best:
            best, best_sheet = key, loaded
    assert best_sheet is not None
    chosen = best_sheet.name
    others = ", ".join(
        f"{i.name} ({_rows(i.rows)}{'' if i.visible else ', hidden'})"
        for i in infos
        if i.name != chosen
    )
    rows = next(i.rows for i in infos if i.name == chosen)
    reason = f"most data: {_rows(rows)}; other sheets: {others}"
    return chosen, best_sheet, SniffDecision("sheet", chosen, reason), tuple(infos)


def list_workbook_sheets(path: Path, detection: Detection) -> tuple[SheetInfo, ...]:
    """Every sheet with its data rows (header row excluded), columns and visibility."""
    reader = _open_reader(path, detection, ReadOptions())
    infos: list[SheetInfo] = []
    for name in reader.sheet_names:
        # One sampled row is enough for a listing; the values are not converted.
        loaded = _load(path, reader, name, 0, sample_rows=1)
        infos.append(SheetInfo(name, loaded.height, loaded.width, loaded.visible == "visible"))
    return tuple(infos)


def _probe_rows(sheet: fastexcel.ExcelSheet, frame: pl.DataFrame) -> list[Sequence[object]]:
    """The first rows of the sheet as written, with row 1 rebuilt from the header names."""
    header_row: list[object] = list(_raw_headers(sheet))
    return [header_row, *frame.head(HEADER_PROBE_ROWS - 1).rows()]


def _footer(frame: pl.DataFrame) -> list[FooterRow]:
    height = frame.height
    if height == 0:
        return []
    tail = frame.tail(MAX_FOOTER_ROWS + 1).rows()
    sample = frame.head(50).rows()
    return find_footer(tail, height - len(tail), typical_fill(sample))


def _cell_issues(
    problems: list[_CellProblem],
    sheet: fastexcel.ExcelSheet,
    names: list[str],
    first_data_row: int,
    data_rows: int,
) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    kept = [p for p in problems if p.row < data_rows]
    kept.sort(key=lambda p: (p.row, p.column))
    columns = sheet.selected_columns
    for problem in kept[:MAX_CELL_ISSUES]:
        excel_row = first_data_row + problem.row
        column = names[problem.column] if problem.column < len(names) else None
        cell = f"{_column_letter(columns[problem.column].absolute_index)}{excel_row}"
        match = _ERROR_DETAIL.search(problem.detail)
        if match:
            shown = _EXCEL_ERRORS.get(match.group(1), f"#{match.group(1).upper()}")
            issues.append(
                ValidationIssue(
                    Severity.WARNING,
                    "formula_error",
                    f"Cell {cell} shows the formula error {shown}; it is treated as empty. "
                    "Fix the formula in the workbook if this value matters.",
                    row=excel_row,
                    column=column,
                    value=shown,
                )
            )
        else:
            issues.append(
                ValidationIssue(
                    Severity.WARNING,
                    "unreadable_cell",
                    f"Cell {cell} could not be read ({problem.detail}); it is treated as empty.",
                    row=excel_row,
                    column=column,
                )
            )
    if len(kept) > MAX_CELL_ISSUES:
        issues.append(
            ValidationIssue(
                Severity.WARNING,
                "formula_error",
                f"{len(kept) - MAX_CELL_ISSUES:,} more cells show formula errors and are treated "
                f"as empty ({len(kept):,} in total); only the first {MAX_CELL_ISSUES} are listed.",
            )
        )
    return issues


def _header_decision(options: ReadOptions, reason: str | None, header_index: int) -> SniffDecision:
    if options.header_row is not None:
        return SniffDecision("header_row", str(header_index + 1), "the header row you chose")
    return SniffDecision("header_row", str(header_index + 1), reason or "row 1 holds the names")


def open_workbook(path: Path, detection: Detection, options: ReadOptions) -> SourceTable:
    """Read one sheet with types inferred over all rows; raises UnreadableFileError."""
    path = Path(path)
    reader = _open_reader(path, detection, options)
    sheet_name, preloaded, sheet_decision, sheets = _pick_sheet(path, reader, options)
    date_system = detect_date_system(path, detection.kind)

    header_index = 0 if options.header_row is None else max(options.header_row - 1, 0)
    sheet = preloaded if preloaded is not None and header_index == 0 else None
    if sheet is None:
        sheet = _load(path, reader, sheet_name, header_index)
    _check_width(sheet, options)
    frame, problems = _convert(path, sheet)

    header_reason: str | None = None
    if options.header_row is None and frame.height > 0:
        guess = find_header(_probe_rows(sheet, frame))
        header_reason = guess.reason
        if guess.index > 0:
            # Title rows were typed together with the data (making every column text),
            # so the sheet is read again from the real header.
            header_index = guess.index
            sheet = _load(path, reader, sheet_name, header_index)
            _check_width(sheet, options)
            frame, problems = _convert(path, sheet)

    first_data_row = header_index + 2  # 1-based Excel row just below the header
    footer = _footer(frame)
    if footer:
        data_rows = footer[0].offset
        # Footer cells took part in type inference (a 'Total' label turns a date column into
        # text), so the rows above them are read again on their own.
        sheet = _load(path, reader, sheet_name, header_index, n_rows=data_rows)
        frame, problems = _convert(path, sheet)
        frame = frame.head(data_rows)
    data_rows = frame.height

    raw = _raw_headers(sheet)
    loaded_names = [column.name for column in sheet.selected_columns]
    # Empty, unnamed columns are leftovers of the layout (a title in column A), not data.
    keep = [
        index
        for index, column in enumerate(sheet.selected_columns)
        if column.column_name_from == "looked_up" or frame[column.name].null_count() < data_rows
    ]
    names, header_issues = make_unique_headers([raw[i] for i in keep])
    all_names = list(loaded_names)
    for position, index in enumerate(keep):
        all_names[index] = names[position]

    issues: list[ValidationIssue] = []
    if detection.warning:
        issues.append(ValidationIssue(Severity.WARNING, "misnamed_file", detection.warning))
    issues.extend(header_issues)
    decisions = [
        sheet_decision,
        _header_decision(options, header_reason, header_index),
        SniffDecision(
            "date_system", "1904" if date_system.date1904 else "1900", date_system.reason
        ),
    ]
    if footer:
        decisions.append(
            SniffDecision("footer_rows", str(len(footer)), describe_footer(footer, first_data_row))
        )
        for item in footer:
            if item.kind == "blank":
                continue
            what = "a total line" if item.kind == "total" else "a note"
            issues.append(
                ValidationIssue(
                    Severity.WARNING,
                    "footer_row_excluded",
                    f"Row {first_data_row + item.offset} looks like {what} below the data and "
                    "is not loaded.",
                    row=first_data_row + item.offset,
                    value=item.text,
                )
            )
    if problems is None:
        issues.append(
            ValidationIssue(
                Severity.WARNING,
                "formula_errors_unchecked",
                "Cells with formula errors (#N/A, #DIV/0! ...) are read as empty but could not "
                "be listed, because the pyarrow package is not installed.",
            )
        )
    else:
        issues.extend(_cell_issues(problems, sheet, all_names, first_data_row, data_rows))

    selected = frame.select(
        [
            (
                pl.col(loaded_names[i]).cast(pl.String)
                if frame.schema[loaded_names[i]] == pl.Null
                else pl.col(loaded_names[i])
            ).alias(all_names[i])
            for i in keep
        ]
    )
    lazy = (
        selected.lazy()
        .with_row_index(ROW_COLUMN, offset=first_data_row)
        .select([*names, ROW_COLUMN])
    )
    chosen_info = SheetInfo(sheet_name, data_rows, len(names), sheet.visible == "visible")
    sheets = tuple(chosen_info if s.name == sheet_name else s for s in sheets) or (chosen_info,)
    return SourceTable(
        path=path,
        kind=SourceKind.EXCEL,
        frame=lazy,
        columns=tuple(names),
        source_names=tuple(raw[i] or "" for i in keep),
        decisions=tuple(decisions),
        issues=tuple(issues),
        sheet=sheet_name,
        sheets=sheets,
        date1904=date_system.date1904,
        footer_rows=len(footer),
    )
