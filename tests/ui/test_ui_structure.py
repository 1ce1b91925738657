"""The window's satellites get its parts, not the window: only the entry point imports it."""

from __future__ import annotations

import ast
from pathlib import Path

import app.ui

UI = Path(app.ui.__file__).resolve().parent
MAIN_WINDOW = "app.ui.main_window"
# The entry point builds the window; nothing the window builds may import it back.
ALLOWED = {"app.py", "main_window.py"}


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it: top level, functions, TYPE_CHECKING blocks."""
    found: set[str] = set()
    package = "app.ui"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import main_window, from .main_window import X
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_the_parser_sees_imports_inside_type_checking_blocks(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from app.ui.main_window import MainWindow\n"
        "def later():\n"
        "    from . import main_window\n"
    )
    assert MAIN_WINDOW in _imported_modules(sample)


def test_only_the_entry_point_imports_the_main_window() -> None:
    offenders = sorted(
        path.name
        for path in UI.glob("*.py")
        if path.name not in ALLOWED and MAIN_WINDOW in _imported_modules(path)
    )
    assert offenders == [], f"import app.ui.main_window; take WindowParts instead: {offenders}"

