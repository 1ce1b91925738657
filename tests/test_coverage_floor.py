"""scripts/coverage_floor.py: the run fails on a low total or a low command/pipeline module."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "coverage_floor.py"


def floor() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coverage_floor", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def report(total: float, files: dict[str, tuple[int, float]]) -> dict:
    return {
        "totals": {"percent_covered": total},
        "files": {
            name: {"summary": {"num_statements": count, "percent_covered": percent}}
            for name, (count, percent) in files.items()
        },
    }


def test_a_run_over_the_floor_passes(tmp_path: Path) -> None:
    script = floor()
    good = report(script.TOTAL_FLOOR + 1, {
        "app/commands/ingest.py": (100, script.MODULE_FLOOR),
        "app/ui/app.py": (100, script.MODULE_FLOOR - 30),  # outside the module floor's packages
        "app/pipeline/__init__.py": (0, 0.0),  # nothing to run
    })
    path = tmp_path / "coverage.json"
    path.write_text(json.dumps(good))
    assert script.shortfalls(good) == []
    assert script.main(["coverage_floor.py", str(path)]) == 0


def test_a_low_total_and_each_low_module_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = floor()
    low = report(script.TOTAL_FLOOR - 0.5, {
        "app/commands/doctor.py": (50, script.MODULE_FLOOR - 0.1),
        "app/pipeline/steps/undo.py": (30, 10.0),
        "app/pipeline/look.py": (200, 99.0),
    })
    path = tmp_path / "coverage.json"
    path.write_text(json.dumps(low))
    assert script.main(["coverage_floor.py", str(path)]) == 1
    said = capsys.readouterr().err
    assert "app/ total" in said
    assert "app/commands/doctor.py" in said and "app/pipeline/steps/undo.py" in said
    assert "look.py" not in said


def test_a_missing_report_is_its_own_error(tmp_path: Path) -> None:
    assert floor().main(["coverage_floor.py", str(tmp_path / "none.json")]) == 2
