"""`ingest-desk validate` and `stage`: verdicts, exit codes, messages and the JSON contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from app.cli import cli
from tests.validation.conftest import WriteFile


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("name", "content", "verdict", "exit_code", "phrase"),
    [
        ("ok.csv", "day,v\n2024-01-01,1\n", "valid", 0, None),
        ("empty.csv", b"", "unreadable", 2, "is empty"),
        ("spaces.csv", b"  \n \n", "unreadable", 2, "only blank lines"),
        ("garbage.csv", bytes(range(256)) * 10, "unreadable", 2, "binary data"),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "unreadable", 2, "PNG image"),
        ("header.csv", "day,v\n", "invalid", 1, "no data rows"),
        ("nodate.csv", "a,b\nx,1\n", "invalid", 1, "same timestamp"),
        ("amb.csv", "d,v\n01/02/2024,1\n", "needs_review", 1, None),
        ("ragged.csv", "day,a\n2024-01-01,1,9\n", "invalid", 1, "would be lost"),
        ("misnamed.xlsx", "day,v\n2024-01-01,1\n", "valid", 0, "contains delimited text"),
    ],
)
def test_verdicts_and_exit_codes(
    write_file: WriteFile, name: str, content, verdict: str, exit_code: int, phrase: str | None
):
    path = write_file(name, content)
    code, output = _run("validate", str(path), "--json")
    data = json.loads(output)
    assert (data["verdict"], code) == (verdict, exit_code)
    if phrase:
        assert phrase in json.dumps(data)
    code_text, text = _run("validate", str(path))
    assert code_text == exit_code
    if phrase and verdict != "unreadable":
        assert phrase in text


def test_json_contract_fields(write_file: WriteFile):
    path = write_file(
        "s.csv", "order,when,amount\n1,2024-05-01T10:00:00Z,2.5\n2,2024-05-02T10:00:00Z,3\n"
    )
    code, output = _run("validate", str(path), "--json")
    data = json.loads(output)
    assert code == 0
    for key in (
        "verdict",
        "rows",
        "sheet",
        "timestamp_column",
        "columns",
        "issues",
        "encoding",
        "delimiter",
        "header_row",
    ):
        assert key in data
    when = next(c for c in data["columns"] if c["name"] == "when")
    assert when == when | {
        "type": "timestamp",
        "nulls": 0,
        "min": "2024-05-01T10:00:00Z",
        "max": "2024-05-02T10:00:00Z",
    }


def test_date_order_and_template_options(write_file: WriteFile, tmp_path: Path):
    path = write_file("d.csv", "d,v\n01/02/2024,1\n")
    assert _run("validate", str(path), "--date-order", "day_first")[0] == 0
    template = tmp_path / "t.toml"
    template.write_text('name = "t"\n[[columns]]\nname = "v"\nmin = 5\n')
    code, output = _run(
        "validate", str(path), "--date-order", "day_first", "--template", str(template)
    )
    assert code == 1 and "below the minimum 5" in output
    code, output = _run("validate", str(path), "--template", str(tmp_path / "missing.json"))
    assert code == 2 and "Cannot read the template" in output


def test_export_errors_option(write_file: WriteFile, tmp_path: Path):
    path = write_file("e.csv", "day,v\n2024-01-01,1\n1700-01-01,2\n")
    target = tmp_path / "errors.csv"
    code, _output = _run("validate", str(path), "--export-errors", str(target))
    assert code == 1 and target.exists()
    assert "1700-01-01" in target.read_text(encoding="utf-8-sig")


def test_stage_prints_its_figures(write_file: WriteFile, tmp_path: Path):
    path = write_file("s.csv", "day,v\n2024-01-01,1\n2024-01-02,2\n")
    code, output = _run("stage", str(path), "--out", str(tmp_path / "out"), "--json")
    figures = json.loads(output)
    assert code == 0 and figures["rows"] == 2 and len(figures["sha256"]) == 64
    assert Path(figures["path"]).exists()
    code, output = _run("stage", str(write_file("b.csv", "a\nx\n")), "--out", str(tmp_path / "o2"))
    assert code == 1


def test_installed_entry_point_runs(write_file: WriteFile):
    path = write_file("ok.csv", "day,v\n2024-01-01,1\n")
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "validate", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verdict"] == "valid"


def test_a_template_file_carries_the_windows_corrections_to_the_cli(tmp_path: Path) -> None:
    """The same choices the dialog keeps (encoding, header row, a type, a rename, a skip) from
    a template file: the file reads right and stages with the corrected columns."""
    names = ["José", "Zoë", "Müller", "Ørsted", "Françoise"] * 6
    lines = ["Visits export,,", "Made 2024-03-01,,", "day,client,visits"] + [
        f"2024-01-{i + 1:02d},{name},{'n/a' if i == 7 else i}" for i, name in enumerate(names)
    ]
    source = tmp_path / "visits.csv"
    source.write_bytes(("\n".join(lines) + "\n").encode("cp1252", errors="strict"))
    template = tmp_path / "visits.toml"
    template.write_text(
        'name = "visits"\nencoding = "cp1252"\nheader_row = 3\ntimestamp_column = "day"\n'
        '[[columns]]\nname = "client"\nrename = "customer"\n'
        '[[columns]]\nname = "visits"\ntype = "text"\nskip = true\n',
        encoding="utf-8",
    )
    code, out = _run("stage", str(source), "--template", str(template), "--out",
                     str(tmp_path / "out"), "--format", "parquet", "--json")
    assert code == 0, out
    staged = pl.read_parquet(json.loads(out)["path"])
    assert staged.columns == ["__time", "customer"]
    assert staged.get_column("customer").to_list()[:5] == ["José", "Zoë", "Müller", "Ørsted",
                                                          "Françoise"]


def test_stage_shows_rows_and_mb_per_second_on_stderr(
    write_file: WriteFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from app.services.validation import scan

    monkeypatch.setattr(scan, "BATCH_ROWS", 50)  # several progress calls
    lines = ["day,v"] + [f"2024-01-{i % 28 + 1:02d},{i}" for i in range(400)]
    path = write_file("p.csv", "\n".join(lines) + "\n")
    result = CliRunner().invoke(
        cli, ["stage", str(path), "--out", str(tmp_path / "o"), "--json", "--progress"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 400  # the figures stay clean JSON on stdout
    last = result.stderr.rstrip("\n").split("\r")[-1]
    assert last.startswith("400 rows  ") and "rows/s" in last and "MB/s" in last
    quiet = CliRunner().invoke(
        cli, ["stage", str(path), "--out", str(tmp_path / "q"), "--no-progress"]
    )
    assert quiet.exit_code == 0 and "rows/s" not in quiet.stderr
