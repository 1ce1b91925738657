"""Null markers ('n/a', 'NULL', '-', ...) read as empty cells, and reported with their counts."""

from __future__ import annotations

import json

from click.testing import CliRunner

from app.cli import cli
from app.domain.validation import ColumnType, NullMarkerCount, Severity, Verdict
from tests.validation.conftest import WriteFile, validate_path


def _amounts(markers: dict[int, str]) -> str:
    lines = ["day,amount,note"]
    for i in range(60):
        amount = markers.get(i, f"{i * 1.5 + 0.25:.2f}")
        lines.append(f"2024-01-{(i % 28) + 1:02d},{amount},{'x' if i % 2 else ''}")
    return "\n".join(lines) + "\n"


def test_markers_in_a_decimal_column_are_warned_about(write_file: WriteFile):
    markers = {3: "n/a", 7: "n/a", 9: "n/a", 11: "n/a", 20: "n/a", 30: "n/a", 40: "n/a"}
    markers |= {50: "NULL", 51: "-", 52: "-", 53: ""}
    outcome = validate_path(write_file("m.csv", _amounts(markers)))
    amount = next(c for c in outcome.report.columns if c.name == "amount")
    assert amount.type is ColumnType.DECIMAL and amount.nulls == 11 and amount.misfits == 0
    assert amount.null_markers == (
        NullMarkerCount("n/a", 7),
        NullMarkerCount("-", 2),
        NullMarkerCount("NULL", 1),
    )
    warnings = [
        (i.severity, i.column, i.value, i.message)
        for i in outcome.report.issues
        if i.code == "null_marker"
    ]
    assert warnings == [
        (Severity.WARNING, "amount", "n/a", "7 values 'n/a' in 'amount' read as empty."),
        (Severity.WARNING, "amount", "-", "2 values '-' in 'amount' read as empty."),
        (Severity.WARNING, "amount", "NULL", "1 value 'NULL' in 'amount' read as empty."),
    ]
    # Blank cells (the note column's) are empty without a word: the null count shows them.
    assert not [i for i in outcome.report.issues if i.column == "note"]
    assert outcome.report.verdict is Verdict.VALID


def test_every_listed_marker_is_read_as_empty(write_file: WriteFile):
    listed = ["n/a", "N/A", "NA", "#N/A", "-", "NULL", "null", "None"]
    outcome = validate_path(write_file("all.csv", _amounts(dict(enumerate(listed)))))
    amount = next(c for c in outcome.report.columns if c.name == "amount")
    assert amount.type is ColumnType.DECIMAL and amount.nulls == len(listed)
    assert sorted(m.marker for m in amount.null_markers) == sorted(listed)


def test_padded_markers_are_counted_once_trimmed(write_file: WriteFile):
    text = "day,qty\n2024-01-01, 5 \n2024-01-02, n/a \n2024-01-03,n/a\n"
    outcome = validate_path(write_file("pad.csv", text))
    qty = next(c for c in outcome.report.columns if c.name == "qty")
    assert qty.type is ColumnType.INTEGER and qty.null_markers == (NullMarkerCount("n/a", 2),)


def test_cli_prints_the_warning_and_json_carries_the_counts(write_file: WriteFile):
    path = str(write_file("c.csv", _amounts({4: "n/a", 5: "N/A"})))
    result = CliRunner().invoke(cli, ["validate", path], catch_exceptions=False)
    assert result.exit_code == 0
    assert "WARNING (column 'amount'): 1 value 'n/a' in 'amount' read as empty." in result.output
    assert "WARNING (column 'amount'): 1 value 'N/A' in 'amount' read as empty." in result.output
    result = CliRunner().invoke(cli, ["validate", path, "--json"], catch_exceptions=False)
    amount = next(c for c in json.loads(result.output)["columns"] if c["name"] == "amount")
    assert amount["null_markers"] == [
        {"marker": "n/a", "count": 1},
        {"marker": "N/A", "count": 1},
    ]
