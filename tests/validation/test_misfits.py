"""Columns typed despite a few misfits: each misfit is a row error; genuine text stays text."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli
from app.domain.rules import ColumnRule, Template
from app.domain.validation import ColumnType, Verdict
from app.services.reading import open_source
from app.services.staging import StagingOptions, validate_and_stage
from app.services.validation import ValidateOptions
from app.services.validation.sample import look_at_sample
from tests.validation.conftest import WriteFile, validate_path

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _row_issues(data: dict, code: str = "type_mismatch") -> list[tuple]:
    return [
        (i["row"], i["column"], i["value"], i["message"])
        for i in data["issues"]
        if i["code"] == code
    ]


def _column(data: dict, name: str) -> dict:
    return next(c for c in data["columns"] if c["name"] == name)


def _orders_500(path: Path) -> Path:
    """500 orders; row 253 has quantity 'three' and row 401 amount '12.5O' (row 1: header)."""
    rng = random.Random(3)
    lines = ["order_date,product,quantity,amount"]
    for i in range(500):
        quantity, amount = str(rng.randint(1, 20)), f"{rng.uniform(1, 300):.2f}"
        if i == 251:
            quantity = "three"
        if i == 399:
            amount = "12.5O"
        lines.append(f"2024-03-{(i % 28) + 1:02d},P{i % 40},{quantity},{amount}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bundled_sample_lists_each_typo_with_its_row():
    sample = str(SAMPLES / "orders_with_errors.csv")
    code, output = _run("validate", sample, "--json")
    data = json.loads(output)
    assert (code, data["verdict"], data["rows_with_errors"]) == (1, "invalid", 3)
    # Row issues come in file order, whichever check found them.
    assert [(i["row"], i["column"], i["value"], i["code"]) for i in data["issues"] if i["row"]] == [
        (9, "amount", "12.5O", "type_mismatch"),
        (25, "quantity", "three", "type_mismatch"),
        (43, "order_date", None, "missing_timestamp"),
    ]
    assert _row_issues(data) == [
        (9, "amount", "12.5O", "'12.5O' is not a number."),
        (25, "quantity", "three", "'three' is not a whole number."),
    ]
    quantity, amount = _column(data, "quantity"), _column(data, "amount")
    assert (quantity["type"], quantity["min"], quantity["max"], quantity["misfits"]) == (
        "integer",
        1,
        9,
        1,
    )
    # Typed, so the range is numeric: 197.66 is the largest amount, not '82.64' sorted as text.
    assert (amount["type"], amount["min"], amount["max"], amount["misfits"]) == (
        "decimal",
        6.78,
        197.66,
        1,
    )
    assert quantity["evidence"] == (
        "integer: 59 of 60 values are whole numbers; 1 does not fit (row 25: 'three')"
    )

    code, text = _run("validate", sample)
    assert code == 1
    assert "ERROR (row 25, column 'quantity'): 'three' is not a whole number." in text
    assert "ERROR (row 9, column 'amount'): '12.5O' is not a number." in text
    assert "Verdict: INVALID (3 rows with errors)" in text


def test_the_quick_look_types_the_sample_by_the_same_rule():
    source = open_source(SAMPLES / "orders_with_errors.csv")
    try:
        look = look_at_sample(source)
    finally:
        source.close()
    types = {c.name: c.type for c in look.columns}
    assert types == {
        "order_date": ColumnType.TIMESTAMP,
        "customer": ColumnType.TEXT,
        "quantity": ColumnType.INTEGER,
        "amount": ColumnType.DECIMAL,
    }


@pytest.mark.parametrize("suffix", ["json", "toml"])
def test_typos_make_500_rows_invalid_until_a_template_says_text(tmp_path: Path, suffix: str):
    path = str(_orders_500(tmp_path / "orders.csv"))
    code, output = _run("validate", path, "--json")
    data = json.loads(output)
    assert (code, data["verdict"], data["rows_with_errors"]) == (1, "invalid", 2)
    assert _row_issues(data) == [
        (253, "quantity", "three", "'three' is not a whole number."),
        (401, "amount", "12.5O", "'12.5O' is not a number."),
    ]
    code, text = _run("validate", path)
    assert code == 1
    assert "ERROR (row 253, column 'quantity'): 'three' is not a whole number." in text
    assert "ERROR (row 401, column 'amount'): '12.5O' is not a number." in text

    template = tmp_path / f"orders.{suffix}"
    if suffix == "json":
        rules = [{"name": "quantity", "type": "text"}, {"name": "amount", "type": "text"}]
        template.write_text(json.dumps({"name": "orders", "columns": rules}), encoding="utf-8")
    else:
        template.write_text(
            'name = "orders"\n[[columns]]\nname = "quantity"\ntype = "text"\n'
            '[[columns]]\nname = "amount"\ntype = "text"\n',
            encoding="utf-8",
        )
    code, output = _run("validate", path, "--template", str(template), "--json")
    data = json.loads(output)
    assert (code, data["verdict"], data["rows_with_errors"]) == (0, "valid", 0)
    assert not [i for i in data["issues"] if i["severity"] == "error"]
    quantity = _column(data, "quantity")
    assert (quantity["type"], quantity["overridden"], quantity["misfits"]) == ("text", True, 0)
    assert quantity["evidence"].startswith("text: set by the template (inferred integer: 499 of")


def test_staging_carries_typed_columns_and_leaves_out_the_misfit_rows(tmp_path: Path):
    path = _orders_500(tmp_path / "orders.csv")

    def stage(options: ValidateOptions, out: str):
        source = open_source(path)
        try:
            return validate_and_stage(
                source, options, tmp_path / out, "orders", StagingOptions(format="ndjson.gz")
            )
        finally:
            source.close()

    outcome, result = stage(ValidateOptions(), "strict")
    assert outcome.report.verdict is Verdict.INVALID and result is None

    outcome, result = stage(ValidateOptions(max_error_rows=2), "lenient")
    assert result is not None and (result.rows, result.excluded_rows) == (498, 2)
    assert dict(result.columns)["quantity"] is ColumnType.INTEGER
    assert dict(result.columns)["amount"] is ColumnType.DECIMAL
    with gzip.open(result.path, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    assert len(rows) == 498
    assert all(isinstance(r["quantity"], int) for r in rows)
    assert all(isinstance(r["amount"], float) for r in rows)

    text = Template(
        "t",
        columns=(
            ColumnRule("quantity", type=ColumnType.TEXT),
            ColumnRule("amount", type=ColumnType.TEXT),
        ),
    )
    outcome, result = stage(ValidateOptions(template=text), "as_text")
    assert result is not None and (result.rows, result.excluded_rows) == (500, 0)
    with gzip.open(result.path, "rt", encoding="utf-8") as handle:
        staged = [json.loads(line) for line in handle]
    assert staged[251]["quantity"] == "three" and staged[399]["amount"] == "12.5O"


def test_mixed_codes_stay_text_without_issues(write_file: WriteFile):
    codes = ["00123", "A-17", "B-9", "C-3", "00042", "X-1", "D-22", "00007"]
    lines = ["day,id"] + [f"2024-01-{(i % 28) + 1:02d},{codes[i % 8]}" for i in range(80)]
    outcome = validate_path(write_file("ids.csv", "\n".join(lines) + "\n"))
    column = next(c for c in outcome.report.columns if c.name == "id")
    assert column.type is ColumnType.TEXT and column.misfits == 0
    assert "leading zeros" in column.evidence
    assert not [i for i in outcome.report.issues if i.column == "id"]
    assert outcome.report.verdict is Verdict.VALID


def test_numeric_ids_with_many_letter_codes_stay_text(write_file: WriteFile):
    # 480 numeric ids and 20 different letter codes: 96% numbers, but 20 distinct misfits
    # are a second vocabulary (more than max(5, 1% of 500 distinct values)), not typos.
    ids = [str(10_234 + i) for i in range(480)] + [f"{chr(65 + i)}-{i + 3}" for i in range(20)]
    random.Random(5).shuffle(ids)
    lines = ["day,id"] + [f"2024-01-{(i % 28) + 1:02d},{v}" for i, v in enumerate(ids)]
    outcome = validate_path(write_file("codes.csv", "\n".join(lines) + "\n"))
    column = next(c for c in outcome.report.columns if c.name == "id")
    assert column.type is ColumnType.TEXT and column.misfits == 0
    assert column.evidence.startswith(
        "text, because 20 of 500 values are not numbers (20 different values, too many to be typos)"
    )
    assert not [i for i in outcome.report.issues if i.column == "id"]
    assert outcome.report.verdict is Verdict.VALID


@pytest.mark.parametrize(("numbers", "typed"), [(19, True), (18, False)])
def test_share_threshold_is_95_percent(write_file: WriteFile, numbers: int, typed: bool):
    # One word among 19 numbers is 95%: typed, with the word as a row error. Among 18 it is
    # 94.7%: the column stays text and its evidence names the word.
    lines = ["day,qty"] + [f"2024-01-{i + 1:02d},{i + 1}" for i in range(numbers)]
    lines.append("2024-01-28,lots")
    outcome = validate_path(write_file("share.csv", "\n".join(lines) + "\n"))
    qty = next(c for c in outcome.report.columns if c.name == "qty")
    issues = [(i.row, i.value) for i in outcome.report.issues if i.code == "type_mismatch"]
    if typed:
        assert qty.type is ColumnType.INTEGER
        assert issues == [(numbers + 2, "lots")]
        assert outcome.report.verdict is Verdict.INVALID
    else:
        assert qty.type is ColumnType.TEXT
        assert qty.evidence == (
            f"text, because 1 of {numbers + 1} values are not numbers (row {numbers + 2}: 'lots')"
        )
        assert issues == []
        assert outcome.report.verdict is Verdict.VALID


@pytest.mark.parametrize(("forms", "typed"), [(5, True), (6, False)])
def test_at_most_five_different_misfits_in_a_small_column(
    write_file: WriteFile, forms: int, typed: bool
):
    # 400 values of 20 different numbers (1% of the distinct values is below 5), plus words.
    words = ["one", "two", "three", "four", "five", "six"][:forms]
    at = {10 + 60 * k: word for k, word in enumerate(words)}
    lines = ["day,qty"] + [f"2024-02-{(i % 28) + 1:02d},{at.get(i, i % 20)}" for i in range(400)]
    outcome = validate_path(write_file("forms.csv", "\n".join(lines) + "\n"))
    qty = next(c for c in outcome.report.columns if c.name == "qty")
    misfit_values = {i.value for i in outcome.report.issues if i.code == "type_mismatch"}
    if typed:
        assert qty.type is ColumnType.INTEGER
        assert misfit_values == set(words)
    else:
        assert qty.type is ColumnType.TEXT and misfit_values == set()
        assert "6 different values, too many to be typos" in qty.evidence


def test_a_date_column_with_a_typo_is_typed_and_the_typo_reported(write_file: WriteFile):
    lines = ["day,shipped"] + [
        f"2024-01-{(i % 28) + 1:02d},2024-02-{(i % 28) + 1:02d}" for i in range(40)
    ]
    lines[12] = "2024-01-12,tomorrow"
    outcome = validate_path(write_file("ship.csv", "\n".join(lines) + "\n"))
    shipped = next(c for c in outcome.report.columns if c.name == "shipped")
    assert shipped.type is ColumnType.TIMESTAMP and shipped.misfits == 1
    assert outcome.report.timestamp is not None and outcome.report.timestamp.column == "day"
    issues = [
        (i.row, i.column, i.value, i.message)
        for i in outcome.report.issues
        if i.code == "type_mismatch"
    ]
    assert issues == [
        (13, "shipped", "tomorrow", "'tomorrow' is not a date in the format ISO date.")
    ]
    assert outcome.report.verdict is Verdict.INVALID


def test_a_typo_in_the_time_column_is_reported_once(write_file: WriteFile):
    lines = ["when,v"] + [f"2024-01-{(i % 28) + 1:02d},{i}" for i in range(40)]
    lines[6] = "2024-13-45,5"
    outcome = validate_path(write_file("t.csv", "\n".join(lines) + "\n"))
    found = [(i.code, i.row, i.value) for i in outcome.report.issues if i.row is not None]
    assert found == [("bad_timestamp", 7, "2024-13-45")]
    when = next(c for c in outcome.report.columns if c.name == "when")
    assert when.type is ColumnType.TIMESTAMP
    assert outcome.report.timestamp is not None
    assert outcome.report.timestamp.reason == "39 of 40 values read as ISO date"


def test_a_boolean_column_with_a_typo(write_file: WriteFile):
    lines = ["day,active"] + [
        f"2024-01-{(i % 28) + 1:02d},{'true' if i % 3 else 'false'}" for i in range(40)
    ]
    lines[31] = "2024-01-30,maybe"
    outcome = validate_path(write_file("b.csv", "\n".join(lines) + "\n"))
    active = next(c for c in outcome.report.columns if c.name == "active")
    assert active.type is ColumnType.BOOLEAN
    assert active.evidence == (
        "boolean: 39 of 40 values are true or false; 1 does not fit (row 32: 'maybe')"
    )
    issues = [
        (i.row, i.value, i.message) for i in outcome.report.issues if i.code == "type_mismatch"
    ]
    assert issues == [(32, "maybe", "'maybe' is not true or false.")]


def test_a_genuinely_mixed_column_stays_text(write_file: WriteFile):
    sizes = ["S", "M", "L", "XL"]
    lines = ["day,size"] + [
        f"2024-01-{(i % 28) + 1:02d},{sizes[i % 4] if i % 10 == 0 else 36 + i % 8}"
        for i in range(200)
    ]
    outcome = validate_path(write_file("sizes.csv", "\n".join(lines) + "\n"))
    size = next(c for c in outcome.report.columns if c.name == "size")
    assert size.type is ColumnType.TEXT
    assert size.evidence.startswith("text, because 20 of 200 values are not numbers (row 2: 'S'")
    assert outcome.report.verdict is Verdict.VALID
