"""Bad reading flags end with a clear message and exit 2, never a traceback; stage names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli

CSV = "day,v\n2024-01-01,1\n2024-01-02,2\n"


@pytest.fixture
def sales(tmp_path: Path) -> Path:
    path = tmp_path / "sales.csv"
    path.write_text(CSV)
    return path


@pytest.mark.parametrize("command", ["validate", "stage"])
@pytest.mark.parametrize(
    ("flag", "value", "phrase"),
    [
        ("--encoding", "bogus", "'bogus' is not a text encoding"),
        ("--encoding", "base64", "is a codec, not a text encoding"),
        ("--delimiter", "ab", "'ab' is not a delimiter: give one character"),
        ("--delimiter", "§", "is not a delimiter"),
        ("--timezone", "Mars/Phobos", "'Mars/Phobos' is not a time zone name"),
        ("--timezone", "America", "'America' is not a time zone name"),
        ("--header-row", "0", "the header row counts from 1"),
        ("--header-row", "-3", "the header row counts from 1"),
    ],
)
def test_a_bad_reading_flag_is_refused_with_exit_2(
    sales: Path, tmp_path: Path, command: str, flag: str, value: str, phrase: str
) -> None:
    extra = ["--out", str(tmp_path / "out")] if command == "stage" else []
    result = CliRunner().invoke(cli, [command, str(sales), *extra, flag, value])
    assert result.exit_code == 2, result.output
    assert phrase in result.output
    assert f"Invalid value for '{flag}'" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # click's usage error, not a crash


@pytest.mark.parametrize("value", ["\\t", "tab", ";"])
def test_good_delimiters_are_accepted(tmp_path: Path, value: str) -> None:
    separator = ";" if value == ";" else "\t"
    path = tmp_path / "t.txt"
    path.write_text(CSV.replace(",", separator))
    result = CliRunner().invoke(cli, ["validate", str(path), "--delimiter", value, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["delimiter"] == separator


def test_a_template_with_a_bad_correction_is_refused_the_same_way(
    sales: Path, tmp_path: Path
) -> None:
    template = tmp_path / "t.json"
    template.write_text(json.dumps({"name": "t", "timezone": "Mars/Phobos", "columns": []}))
    result = CliRunner().invoke(cli, ["validate", str(sales), "--template", str(template)])
    assert result.exit_code == 2
    assert "'Mars/Phobos' is not a time zone name" in result.output


def test_stage_names_its_output_from_the_whole_file_name(tmp_path: Path) -> None:
    out = tmp_path / "out"
    paths = []
    for year in ("2024", "2025"):
        source = tmp_path / f"sales.{year}.csv"
        source.write_text(CSV.replace("2024-", f"{year}-"))
        result = CliRunner().invoke(cli, ["stage", str(source), "--out", str(out), "--json"])
        assert result.exit_code == 0, result.output
        paths.append(Path(json.loads(result.output)["path"]))
    assert paths[0] != paths[1]
    assert all(path.exists() for path in paths)
    assert paths[0].name.startswith("sales.2024.csv")
