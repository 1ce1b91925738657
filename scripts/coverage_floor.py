"""Fails the test run when coverage of app/ falls under the floor (reads coverage's JSON report)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

# The floor. Change these numbers here; scripts/test.sh runs this after pytest.
TOTAL_FLOOR = 92.0  # percent of app/'s statements, all modules together
MODULE_FLOOR = 80.0  # percent of each module's statements under MODULE_PACKAGES
MODULE_PACKAGES = ("app/commands/", "app/pipeline/")  # subpackages (pipeline/steps) included

DEFAULT_REPORT = Path(".test-artifacts/coverage.json")


def shortfalls(report: dict) -> list[str]:
    """One line per figure under its floor (empty when the run meets it)."""
    problems: list[str] = []
    total = float(report["totals"]["percent_covered"])
    if total < TOTAL_FLOOR:
        problems.append(f"app/ total {total:.1f}% is under the floor of {TOTAL_FLOOR:g}%")
    for name, figures in sorted(report["files"].items()):
        path = name.replace("\\", "/")
        if not path.startswith(MODULE_PACKAGES):
            continue
        summary = figures["summary"]
        if summary["num_statements"] == 0:
            continue
        percent = float(summary["percent_covered"])
        if percent < MODULE_FLOOR:
            problems.append(f"{path} {percent:.1f}% is under the module floor of {MODULE_FLOOR:g}%")
    return problems


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT_REPORT
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"coverage floor: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    problems = shortfalls(report)
    total = float(report["totals"]["percent_covered"])
    if problems:
        print("coverage floor: FAILED", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(
        f"coverage floor: ok (app/ {total:.1f}% >= {TOTAL_FLOOR:g}%; every module in "
        f"{', '.join(MODULE_PACKAGES)} >= {MODULE_FLOOR:g}%)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
