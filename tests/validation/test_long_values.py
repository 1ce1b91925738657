"""A huge cell is echoed cut, with its length said, as issue value, min, max and preview."""

from __future__ import annotations

from pathlib import Path

from app.domain.rules import ColumnRule, Template
from app.services.validation import ValidateOptions
from app.services.validation.clipping import ECHO_LIMIT, clip
from tests.validation.conftest import validate_path

SAID = "… (5,000,000 characters)"


def test_clip_says_the_length() -> None:
    assert clip("a" * 10) == "a" * 10
    assert clip("a" * 5_000_000) == "a" * ECHO_LIMIT + SAID


def test_a_huge_cell_is_cut_in_every_echo_of_the_report(tmp_path: Path) -> None:
    huge = "z" * 5_000_000
    path = tmp_path / "huge.csv"
    path.write_text(f"day,code\n2024-01-01,{huge}\n2024-01-02,ok\n")
    template = Template(name="t", columns=(ColumnRule(name="code", regex="^[a-z]{2}$"),))
    report = validate_path(path, ValidateOptions(template=template)).report
    code = next(c for c in report.columns if c.name == "code")
    assert code.maximum == "z" * ECHO_LIMIT + SAID
    preview = [value for row in report.preview for value in row.values]
    assert "z" * ECHO_LIMIT + SAID in preview and huge not in preview
    issues = [i for i in report.issues if i.column == "code" and i.row is not None]
    assert {i.code for i in issues} >= {"pattern", "cell_too_large"}
    for issue in issues:
        assert issue.value == "z" * ECHO_LIMIT + SAID
        assert len(issue.message) < 1000
