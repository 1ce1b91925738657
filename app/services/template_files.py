"""Validation templates as JSON or TOML files: column rules, reading corrections, choices."""

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
        skip=bool(raw.get("skip", False)),
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
        encoding=raw.get("encoding"),
        delimiter=raw.get("delimiter"),
        header_row=int(raw["header_row"]) if raw.get("header_row") is not None else None,
        segment_granularity=_granularity(raw.get("segment_granularity")),
    )


def _rule_dict(rule: ColumnRule) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": rule.name,
        "type": rule.type.value if rule.type else None,
        "rename": rule.rename,
        "required": rule.required or None,
        "regex": rule.regex,
        "allowed": list(rule.allowed) if rule.allowed is not None else None,
        "min": rule.minimum,
        "max": rule.maximum,
        "skip": rule.skip or None,
    }
    # TOML has no null: absent keys mean "as the file says", in both formats.
    return {key: value for key, value in raw.items() if value is not None}


def template_to_dict(template: Template) -> dict[str, Any]:
    """The inverse of template_from_dict (what `load_template` reads back)."""
    raw: dict[str, Any] = {
        "name": template.name,
        "datasource": template.datasource,
        "timestamp_column": template.timestamp_column,
        "date_order": template.date_order.value if template.date_order else None,
        "timezone": template.timezone,
        "sheet": template.sheet,
        "mode": template.mode,
        "encoding": template.encoding,
        "delimiter": template.delimiter,
        "header_row": template.header_row,
        "segment_granularity": template.segment_granularity,
        "unique": [list(key) for key in template.unique] or None,
        "columns": [_rule_dict(rule) for rule in template.columns],
    }
    return {key: value for key, value in raw.items() if value is not None}


_GRANULARITIES = ("HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR")


def _granularity(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).upper()
    if text not in _GRANULARITIES:
        raise TemplateError(
            f"segment_granularity {value!r} is not one of {', '.join(_GRANULARITIES)}"
        )
    return text


def write_template(template: Template, path: Path) -> None:
    """Write a template file; `.toml` gets TOML, anything else JSON."""
    raw = template_to_dict(template)
    text = _toml(raw) if path.suffix.lower() == ".toml" else json.dumps(raw, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _toml(raw: dict[str, Any]) -> str:
    lines = [f"{key} = {_toml_value(value)}" for key, value in raw.items() if key != "columns"]
    for column in raw.get("columns", []):
        lines += ["", "[[columns]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in column.items()]
    return "\n".join(lines) + "\n"


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
