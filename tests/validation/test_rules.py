"""Druid's rules and template rules: every issue names the row, column and value."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from app.domain.rules import ColumnRule, Template
from app.domain.validation import ColumnType, Severity, Verdict
from app.services.report_export import export_bad_rows, report_to_dict
from app.services.validation import REASON_COLUMN, ValidateOptions
from tests.validation.conftest import WriteFile, validate_path

SALES = (
    "order_id,day,region,amount,sku\n"
    "1,2024-01-01,North,10.5,AB-001\n"
    "2,2024-01-02,South,-3,AB-002\n"
    "2,2024-01-03,Mars,7,XX\n"
    "4,2024-01-04,,99999,AB-004\n"
)


def _issues(outcome, code: str):
    return [i for i in outcome.report.issues if i.code == code]


def test_datasource_name_rules(write_file: WriteFile):
    path = write_file("s.csv", SALES)
    bad = validate_path(path, ValidateOptions(datasource=".hidden/sales"))
    issue = _issues(bad, "bad_datasource_name")[0]
    assert "starts with '.'" in issue.message and "contains '/'" in issue.message
    assert bad.report.verdict is Verdict.INVALID
    assert validate_path(path, ValidateOptions(datasource="sales 2024")).report.verdict is (
        Verdict.VALID
    )


def test_reserved_time_column_and_renames_that_collide(write_file: WriteFile):
    path = write_file("r.csv", "day,__time,a,b\n2024-01-01,x,1,2\n")
    outcome = validate_path(path)
    assert _issues(outcome, "reserved_column")[0].column == "__time"
    template = Template("t", columns=(ColumnRule("b", rename="a"),))
    clash = validate_path(
        write_file("c.csv", "day,a,b\n2024-01-01,1,2\n"), ValidateOptions(template=template)
    )
    assert _issues(clash, "colliding_columns")


def test_timestamps_out_of_range_are_row_errors(write_file: WriteFile):
    path = write_file("y.csv", "day,v\n2024-01-01,1\n1850-06-01,2\n2999-01-01,3\n")
    outcome = validate_path(path)
    rows = sorted(i.row for i in _issues(outcome, "timestamp_out_of_range"))
    assert rows == [3, 4]
    assert outcome.report.rows_with_errors == 2
    assert outcome.report.verdict is Verdict.INVALID


def test_integer_overflow_is_an_error(write_file: WriteFile):
    path = write_file("o.csv", "day,big\n2024-01-01,12\n2024-01-02,99999999999999999999\n")
    outcome = validate_path(path)
    big = next(c for c in outcome.report.columns if c.name == "big")
    assert big.type is ColumnType.INTEGER and "64-bit" in big.evidence
    issue = _issues(outcome, "type_mismatch")[0]
    assert (issue.row, issue.value) == (3, "99999999999999999999")


def test_cell_size_limit(write_file: WriteFile):
    path = write_file("l.csv", "day,text\n2024-01-01," + "x" * 300 + "\n2024-01-02,ok\n")
    outcome = validate_path(path, ValidateOptions(max_cell_chars=100))
    assert _issues(outcome, "cell_too_large")[0].row == 2


def test_template_rules_each_report_row_column_and_value(write_file: WriteFile):
    template = Template(
        "sales",
        columns=(
            ColumnRule("region", required=True, allowed=("North", "South", "East", "West")),
            ColumnRule("amount", minimum=0, maximum=10000),
            ColumnRule("sku", regex=r"AB-\d{3}"),
            ColumnRule("day", maximum="2024-01-03"),
            ColumnRule("customer", required=True),
        ),
        unique=(("order_id",), ("order_id", "region")),
    )
    outcome = validate_path(write_file("s.csv", SALES), ValidateOptions(template=template))
    found = {(i.code, i.row, i.column, i.value) for i in outcome.report.issues if i.row}
    assert ("not_allowed", 4, "region", "Mars") in found
    assert ("required_value", 5, "region", None) in found
    assert ("below_minimum", 3, "amount", "-3") in found
    assert ("above_maximum", 5, "amount", "99999") in found
    assert ("pattern", 4, "sku", "XX") in found
    assert ("after_maximum", 5, "day", "2024-01-04") in found
    assert ("duplicate_key", 3, "order_id", "2") in found
    assert ("duplicate_key", 4, "order_id", "2") in found
    assert _issues(outcome, "missing_column")[0].column == "customer"
    assert all(i.severity is Severity.ERROR for i in outcome.report.errors)
    assert outcome.report.verdict is Verdict.INVALID


def test_composite_unique_key_only_flags_full_duplicates(write_file: WriteFile):
    text = "day,store,sku\n2024-01-01,A,1\n2024-01-01,A,2\n2024-01-01,A,1\n"
    template = Template("t", unique=(("store", "sku"),))
    outcome = validate_path(write_file("u.csv", text), ValidateOptions(template=template))
    assert sorted(i.row for i in _issues(outcome, "duplicate_key")) == [2, 4]


def test_type_override_turns_misfits_into_row_errors(write_file: WriteFile):
    text = "day,qty\n2024-01-01,1\n2024-01-02,two\n2024-01-03,3\n"
    template = Template("t", columns=(ColumnRule("qty", type=ColumnType.INTEGER),))
    outcome = validate_path(write_file("q.csv", text), ValidateOptions(template=template))
    qty = next(c for c in outcome.report.columns if c.name == "qty")
    assert qty.overridden and qty.type is ColumnType.INTEGER
    issue = _issues(outcome, "type_mismatch")[0]
    assert (issue.row, issue.value) == (3, "two")


def test_error_threshold_allows_excluding_rows(write_file: WriteFile):
    text = "day,qty\n2024-01-01,1\n2024-01-02,2\nnot a date,3\n"
    strict = validate_path(write_file("e.csv", text), ValidateOptions(timestamp_column="day"))
    assert strict.report.verdict is Verdict.INVALID
    lenient = validate_path(
        write_file("e.csv", text), ValidateOptions(timestamp_column="day", max_error_rows=1)
    )
    assert lenient.report.verdict is Verdict.VALID
    assert lenient.plan is not None and lenient.plan.rows == 2 and lenient.plan.excluded_rows == 1
    assert _issues(lenient, "rows_excluded")


def test_report_json_and_bad_rows_export(write_file: WriteFile, tmp_path: Path):
    path = write_file("y.csv", "day,v\n2024-01-01,1\n1850-06-01,2\n")
    outcome = validate_path(path)
    data = report_to_dict(outcome.report)
    assert data["verdict"] == "invalid" and data["rows"] == 2
    assert data["timestamp_column"] == "day"
    day = next(c for c in data["columns"] if c["name"] == "day")
    assert day["min"] == "1850-06-01T00:00:00Z"
    assert data["encoding"] == "utf-8" and data["delimiter"] == "," and data["header_row"] == 1
    assert any(i["row"] == 3 and i["column"] == "day" for i in data["issues"])
    assert outcome.bad_rows is not None
    target = export_bad_rows(outcome.bad_rows, tmp_path / "errors.xlsx")
    exported = pl.read_excel(target)
    assert exported.get_column("row").to_list() == [3]
    assert "outside the years" in exported.get_column(REASON_COLUMN)[0]
    csv_target = export_bad_rows(outcome.bad_rows, tmp_path / "errors.csv")
    assert csv_target.read_bytes().startswith(b"\xef\xbb\xbf")
