"""Finds bundled files (icons, samples) from a source checkout and from a PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QIcon

SAMPLE_NAMES = ("sales_clean.csv", "stores_workbook.xlsx", "orders_with_errors.csv")


def resource_root() -> Path:
    """`resources/` beside the app package, or inside the bundle when frozen."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def resource_path(*parts: str) -> Path:
    return resource_root().joinpath(*parts)


def sample_files() -> list[Path]:
    """The bundled samples that exist (a trimmed bundle may ship fewer)."""
    return [path for name in SAMPLE_NAMES if (path := resource_path("samples", name)).is_file()]


def app_icon() -> QIcon:
    return QIcon(str(resource_path("icons", "ingest-desk.svg")))
