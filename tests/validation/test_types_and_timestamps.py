"""Column types with evidence, and the timestamp decision, over every row."""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.rules import ColumnRule, Template
from app.domain.validation import ColumnType, DateOrder, Verdict
from app.services.validation import ValidateOptions
from tests.validation.conftest import WriteFile, validate_path


def _types(outcome) -> dict[str, ColumnType]:
    return {c.name: c.type for c in outcome.report.columns}


def test_types_are_inferred_from_every_row_not_just_the_sample(write_file: WriteFile):
    # 2,500 clean rows, then one decimal and one word beyond the 2,000-row sample.
    lines = ["day,count,price,code,note"]
    lines += [f"2024-01-{(i % 28) + 1:02d},{i},{i}.5,{i:05d},ok" for i in range(2500)]
    lines.append("2024-02-01,7.25,1.5,00001,late")
    lines.append("2024-02-02,8,oops,00002,late")
    outcome = validate_path(write_file("t.csv", "\n".join(lines) + "\n"))
    types = _types(outcome)
    assert types["count"] is ColumnType.DECIMAL
    # One word among 2,502 numbers is a typo in a number column, not a text column.
    assert types["price"] is ColumnType.DECIMAL
    price = next(c for c in outcome.report.columns if c.name == "price")
    assert price.disagreeing == 1 and price.misfits == 1
    assert price.evidence == (
        "decimal: 2,501 of 2,502 values are numbers; 1 does not fit (row 2503: 'oops')"
    )
    assert price.examples[0].row == 2503 and price.examples[0].value == "oops"
    mismatch = [i for i in outcome.report.issues if i.code == "type_mismatch"]
    assert [(i.row, i.column, i.value) for i in mismatch] == [(2503, "price", "oops")]
    assert outcome.report.verdict is Verdict.INVALID
    assert types["code"] is ColumnType.TEXT and "leading zeros" in _evidence(outcome, "code")
    assert outcome.report.rows == 2502


def _evidence(outcome, name: str) -> str:
    return next(c.evidence for c in outcome.report.columns if c.name == name)


def test_profile_counts_nulls_distinct_min_max(write_file: WriteFile):
    text = (
        "when,qty,city\n2024-03-01,5,Oslo\n2024-03-02,,Rome\n2024-03-03,-2,Oslo\n2024-03-04,NULL,\n"
    )
    outcome = validate_path(write_file("p.csv", text))
    qty = next(c for c in outcome.report.columns if c.name == "qty")
    assert (qty.type, qty.nulls, qty.minimum, qty.maximum) == (ColumnType.INTEGER, 2, -2, 5)
    city = next(c for c in outcome.report.columns if c.name == "city")
    assert (city.nulls, city.distinct_estimate) == (1, 2)
    assert outcome.report.verdict is Verdict.VALID


def test_yes_no_stays_text_unless_the_template_says_boolean(write_file: WriteFile):
    path = write_file("b.csv", "day,active\n2024-01-01,Yes\n2024-01-02,No\n")
    assert _types(validate_path(path))["active"] is ColumnType.TEXT
    template = Template("t", columns=(ColumnRule("active", type=ColumnType.BOOLEAN),))
    outcome = validate_path(path, ValidateOptions(template=template))
    assert _types(outcome)["active"] is ColumnType.BOOLEAN
    assert outcome.report.verdict is Verdict.VALID


def test_true_false_is_boolean(write_file: WriteFile):
    path = write_file("tf.csv", "day,flag\n2024-01-01,true\n2024-01-02,FALSE\n")
    assert _types(validate_path(path))["flag"] is ColumnType.BOOLEAN


def test_day_first_dates_are_decided_with_evidence(write_file: WriteFile):
    rows = [f"{d:02d}/03/2024,{d}" for d in range(1, 29)]
    outcome = validate_path(write_file("d.csv", "date,n\n" + "\n".join(rows) + "\n"))
    choice = outcome.report.timestamp
    assert choice is not None and choice.date_order is DateOrder.DAY_FIRST
    assert "only valid day-first" in choice.reason
    assert outcome.report.verdict is Verdict.VALID
    first = next(c for c in outcome.report.columns if c.name == "date").minimum
    assert first == datetime(2024, 3, 1, tzinfo=UTC)


def test_day_first_evidence_counts_across_the_whole_column(write_file: WriteFile):
    # The sample (first 2,000 rows) cannot tell; row 2,302 can: 13 is not a month.
    rows = ["01/02/2024,1"] * 2300 + ["13/02/2024,2"]
    outcome = validate_path(write_file("d2.csv", "date,n\n" + "\n".join(rows) + "\n"))
    choice = outcome.report.timestamp
    assert choice is not None and choice.date_order is DateOrder.DAY_FIRST
    assert "1 values are only valid day-first" in choice.reason


def test_ambiguous_dates_need_a_decision_then_validate(write_file: WriteFile):
    path = write_file("amb.csv", "date,n\n03/04/2024,1\n05/06/2024,2\n")
    outcome = validate_path(path)
    assert outcome.report.verdict is Verdict.NEEDS_REVIEW
    pending = outcome.report.pending[0]
    assert pending.code == "date_order" and pending.column == "date"
    assert "valid both ways" in pending.evidence
    assert outcome.plan is None
    decided = validate_path(path, ValidateOptions(date_order=DateOrder.MONTH_FIRST))
    assert decided.report.verdict is Verdict.VALID
    assert decided.report.timestamp.date_order is DateOrder.MONTH_FIRST
    low = next(c for c in decided.report.columns if c.name == "date").minimum
    assert low in (datetime(2024, 3, 4, tzinfo=UTC), datetime(2024, 4, 3, tzinfo=UTC))


def test_naive_times_are_read_in_the_configured_zone(write_file: WriteFile):
    path = write_file("z.csv", "ts,v\n2024-07-01 12:00:00,1\n")
    outcome = validate_path(path, ValidateOptions(timezone="Europe/Berlin"))
    choice = outcome.report.timestamp
    assert choice.zone == "Europe/Berlin"
    assert outcome.time_range[0] == datetime(2024, 7, 1, 10, 0, tzinfo=UTC)


def test_times_with_a_zone_keep_it(write_file: WriteFile):
    path = write_file("tz.csv", "ts,v\n2024-07-01T12:00:00+02:00,1\n2024-07-01T12:00:00Z,2\n")
    outcome = validate_path(path, ValidateOptions(timezone="America/New_York"))
    assert outcome.time_range == (
        datetime(2024, 7, 1, 10, 0, tzinfo=UTC),
        datetime(2024, 7, 1, 12, 0, tzinfo=UTC),
    )


def test_no_timestamp_names_the_options_and_constant_fixes_it(write_file: WriteFile):
    path = write_file("n.csv", "product,qty\nA,1\nB,2\n")
    outcome = validate_path(path)
    assert outcome.report.verdict is Verdict.INVALID
    issue = next(i for i in outcome.report.issues if i.code == "no_timestamp")
    assert "same timestamp" in issue.message and "add a date column" in issue.message
    fixed = validate_path(
        path, ValidateOptions(constant_timestamp=datetime(2024, 5, 31, tzinfo=UTC))
    )
    assert fixed.report.verdict is Verdict.VALID


def test_semicolon_and_decimal_comma(write_file: WriteFile):
    text = "Datum;Betrag;Menge\n31.01.2024;1.234,50;3\n29.02.2024;-0,75;4\n"
    outcome = validate_path(write_file("de.csv", text, encoding="cp1252"))
    amount = next(c for c in outcome.report.columns if c.name == "Betrag")
    assert amount.type is ColumnType.DECIMAL
    assert (amount.minimum, amount.maximum) == (-0.75, 1234.5)
    assert outcome.report.timestamp.column == "Datum"


def test_header_only_file_is_invalid_with_a_specific_issue(write_file: WriteFile):
    outcome = validate_path(write_file("h.csv", "date,amount\n"))
    assert outcome.report.verdict is Verdict.INVALID
    assert any(i.code == "no_rows" for i in outcome.report.issues)
