"""Load a validation template from a JSON or TOML file (the shared database store comes later)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from app.domain.rules import ColumnRule, Template
from app.domain.validation import ColumnType, DateOrder


class TemplateError(Exception):
    """The template file is missing, malformed or names an unknown type."""


def _rule(raw: dict[str, Any]) -> ColumnRule:
    allowed = raw.get("allowed")
    return ColumnRule(
        name=str(raw["name"]),
        type=ColumnType(raw["type"]) if raw.get("type") else None,
        rename=raw.get("rename"),
        required=bool(raw.get("required", False)),
        regex=raw.get("regex"),
        allowed=tuple(str(v) for v in allowed) if allowed is not None else None,
        minimum=raw.get("min"),
        maximum=raw.get("max"),
    )


def template_from_dict(raw: dict[str, Any]) -> Template:
    unique = raw.get("unique", [])
    return Template(
        name=str(raw.get("name", "template")),
        datasource=raw.get("datasource"),
        columns=tuple(_rule(c) for c in raw.get("columns", [])),
        unique=tuple((k,) if isinstance(k, str) else tuple(k) for k in unique),
        timestamp_column=raw.get("timestamp_column"),
        date_order=DateOrder(raw["date_order"]) if raw.get("date_order") else None,
        timezone=raw.get("timezone"),
        sheet=raw.get("sheet"),
        mode=raw.get("mode"),
    )


def load_template(path: Path) -> Template:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"Cannot read the template {path}: {exc.strerror}.") from exc
    try:
        raw = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        return template_from_dict(raw)
    except (ValueError, KeyError, TypeError) as exc:
        raise TemplateError(f"The template {path.name} is not valid: {exc}.") from exc
