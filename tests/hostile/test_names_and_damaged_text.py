"""File names are never patterns, and damaged text files are verdicts (exit 2), not tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli
from app.services.reading import open_source
from app.services.staging import validate_and_stage
from app.services.validation import ValidateOptions
from tests.hostile.child import run_cli


def _validate(path: Path) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(cli, ["validate", str(path), "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.output)


def _rows(day: int, count: int) -> str:
    return "".join(f"2024-01-{day:02d},{value}\n" for value in range(count))


def test_a_name_with_a_question_mark_reads_only_its_own_rows(tmp_path: Path) -> None:
    (tmp_path / "q1.csv").write_text("day,v\n" + _rows(1, 500), encoding="utf-8")
    own = tmp_path / "q?.csv"
    own.write_text("day,v\n" + _rows(2, 3), encoding="utf-8")
    code, report = _validate(own)
    assert (code, report["verdict"], report["rows"]) == (0, "valid", 3)


def test_a_name_with_brackets_reads_fine(tmp_path: Path) -> None:
    path = tmp_path / "sales[2024].csv"
    path.write_text("day,v\n" + _rows(3, 4), encoding="utf-8")
    code, report = _validate(path)
    assert (code, report["verdict"], report["rows"]) == (0, "valid", 4)


def test_staging_a_patterned_stem_leaves_other_files_parts_alone(tmp_path: Path) -> None:
    source_path = tmp_path / "q?.csv"
    source_path.write_text("day,v\n" + _rows(2, 3), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    neighbour = out / "q1.part0000.ndjson.gz.partial"
    neighbour.write_bytes(b"another run's part")
    source = open_source(source_path)
    try:
        _, staged = validate_and_stage(source, ValidateOptions(), out, "q?")
    finally:
        source.close()
    assert staged is not None and staged.rows == 3
    assert neighbour.read_bytes() == b"another run's part"


def _unterminated(tmp_path: Path, rows: int = 200_000) -> Path:
    lines = ["day,name,v"] + [f"2024-01-{i % 28 + 1:02d},n{i},{i}" for i in range(rows)]
    lines.insert(20, '2024-01-05,"broken\x1b[31m,5')
    path = tmp_path / "quote.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_unterminated_quote_names_its_line_without_echoing_the_file(tmp_path: Path) -> None:
    path = _unterminated(tmp_path)
    assert path.stat().st_size > 3_000_000
    run = run_cli(["validate", str(path)], tmp_path)
    assert run.code == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert "opens on line 21" in run.stderr and "never closed" in run.stderr
    assert "n500" not in run.stderr and len(run.stderr) < 600  # no echo of the file
    assert "\x1b" not in run.stderr and "\\x1b" in run.stderr  # the excerpt is escaped


def test_an_unterminated_quote_is_unreadable_in_json_too(tmp_path: Path) -> None:
    code, report = _validate(_unterminated(tmp_path, rows=100))
    assert (code, report["verdict"], report["code"]) == (2, "unreadable", "unclosed_quote")


def test_old_mac_line_endings_read_every_row_and_column(tmp_path: Path) -> None:
    lines = ["day,name,v"] + [f"2024-01-{i % 28 + 1:02d},n{i},{i}" for i in range(400)]
    path = tmp_path / "mac.csv"
    path.write_bytes(("\r".join(lines) + "\r").encode())
    code, report = _validate(path)
    assert (code, report["verdict"], report["rows"]) == (0, "valid", 400)
    columns = report["columns"]
    assert isinstance(columns, list)
    assert [c["name"] for c in columns] == ["day", "name", "v"]


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
def test_title_lines_above_a_csv_header_are_skipped_like_a_workbooks(
    tmp_path: Path, line_end: str
) -> None:
    lines = [
        "Quarterly sales report,,,,",
        "Exported 2024-04-02,,,,",
        "",
        "day,region,product,units,price",
        *(f"2024-01-{i + 1:02d},north,p{i},{i},{i}.5" for i in range(20)),
    ]
    path = tmp_path / "report.csv"
    path.write_bytes((line_end.join(lines) + line_end).encode())
    code, report = _validate(path)
    assert (code, report["verdict"], report["rows"]) == (0, "valid", 20)
    columns = report["columns"]
    assert isinstance(columns, list)
    assert [c["name"] for c in columns] == ["day", "region", "product", "units", "price"]
    decisions = report["decisions"]
    assert isinstance(decisions, list)
    header = next(d for d in decisions if d["name"] == "header_row")
    assert header["value"] == "4" and "Quarterly sales report" in header["reason"]
