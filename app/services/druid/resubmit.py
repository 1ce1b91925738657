"""Whether the task Druid already holds under an id is the spec we submit again under it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from app.services.druid.errors import DruidTaskIdTakenError
from app.services.druid.spec import IngestionSpec

# Druid writes a standard period granularity back by name, an odd one as an object.
_PERIOD_NAMES = {
    "PT1S": "SECOND", "PT1M": "MINUTE", "PT15M": "FIFTEEN_MINUTE", "PT30M": "THIRTY_MINUTE",
    "PT1H": "HOUR", "PT6H": "SIX_HOUR", "P1D": "DAY", "P1W": "WEEK", "P1M": "MONTH",
    "P3M": "QUARTER", "P1Y": "YEAR",
}


def ensure_same_spec(spec: IngestionSpec, stored: str | None) -> None:
    """Accept Druid's "already exists" for `spec.task_id` only when the task it holds (its
    payload, `stored`) is this spec as Druid round-trips it: an earlier submit of ours whose
    answer was lost. Anything else means the id was used for other data (a task store that
    lost its rows gives a file its first id again), and waiting on that task would verify the
    wrong ingestion: DruidTaskIdTakenError, saying what differs."""
    if stored is None:
        raise DruidTaskIdTakenError(
            f"Druid says task {spec.task_id} already exists but does not show its spec, so it "
            "cannot be told apart from another ingestion. Retry the task to submit it under "
            "a new id."
        )
    differences = spec_differences(spec.payload(), json.loads(stored))
    if differences:
        raise DruidTaskIdTakenError(
            f"Druid already has a task {spec.task_id} with a different spec "
            f"({'; '.join(differences)}). The id was used by an earlier ingestion of this file "
            f"that the task store no longer records: its rows may already be in "
            f"{spec.datasource}. Check the datasource, then retry the task to submit it under "
            "a new id."
        )


def spec_differences(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> tuple[str, ...]:
    """The meaningful parts that differ, one phrase each; none when `theirs` is `ours` after
    Druid's round trip (defaults filled in, dimensions written out in full, granularities and
    intervals in its own notation, context keys added)."""
    mine, held = essence(ours), essence(theirs)
    return tuple(
        f"{name}: Druid has {_show(held[name])}, this task {_show(mine[name])}"
        for name in mine
        if mine[name] != held[name]
    )


def essence(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What decides which rows land where: the task type, the datasource, the input, how rows
    are read and typed, the time chunks and the append or replace choice. Tuning (retries,
    memory, subtask counts) and credentials (Druid may mask them) are left out."""
    spec = _dict(payload.get("spec"))
    schema, io = _dict(spec.get("dataSchema")), _dict(spec.get("ioConfig"))
    granularity = _dict(schema.get("granularitySpec"))
    timestamp = _dict(schema.get("timestampSpec"))
    return {
        "task type": payload.get("type"),
        "datasource": schema.get("dataSource"),
        "input source": _dict(io.get("inputSource")).get("type"),
        "input": _inputs(_dict(io.get("inputSource"))),
        "input format": _dict(io.get("inputFormat")).get("type"),
        "append": bool(io.get("appendToExisting")),
        "drop existing": bool(io.get("dropExisting")),
        "timestamp": (timestamp.get("column"), str(timestamp.get("format") or "auto").lower()),
        "dimensions": _dimensions(_dict(schema.get("dimensionsSpec")).get("dimensions")),
        "metrics": tuple(
            (str(_dict(m).get("type")), str(_dict(m).get("name")))
            for m in schema.get("metricsSpec") or []
        ),
        "transforms": tuple(
            (str(_dict(t).get("name")), str(_dict(t).get("expression")))
            for t in _dict(schema.get("transformSpec")).get("transforms") or []
        ),
        "segment granularity": _granularity(granularity.get("segmentGranularity"), "DAY"),
        "query granularity": _granularity(granularity.get("queryGranularity"), "NONE"),
        "rollup": granularity.get("rollup", True) is not False,
        "intervals": tuple(_interval(i) for i in granularity.get("intervals") or []),
        "file": _dict(_dict(payload.get("context")).get("ingestDesk")).get("sha256"),
    }


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(_show(v) for v in value) or "none"
    return str(value)


def _inputs(source: dict[str, Any]) -> tuple[str, ...]:
    """The objects read, however named: `uris`, `prefixes`, or `objects` (bucket and path)."""
    named = [str(u) for u in source.get("uris") or []]
    named += [str(p) for p in source.get("prefixes") or []]
    named += [
        f"s3://{_dict(o).get('bucket')}/{_dict(o).get('path')}" for o in source.get("objects") or []
    ]
    return tuple(sorted(named))


def _dimensions(listed: object) -> tuple[tuple[str, str], ...]:
    """(name, type) in order: Druid writes a bare name out as a string dimension object."""
    if not isinstance(listed, list):
        return ()
    out = []
    for item in listed:
        if isinstance(item, str):
            out.append((item, "string"))
        else:
            out.append((str(_dict(item).get("name")), str(_dict(item).get("type") or "string")))
    return tuple(out)


def _granularity(value: object, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, str):
        return value.upper()
    shape = _dict(value)
    kind = str(shape.get("type", "")).lower()
    if kind in ("none", "all"):
        return kind.upper()
    zone = shape.get("timeZone")
    if kind == "period" and zone in (None, "UTC", "Etc/UTC") and shape.get("origin") is None:
        period = str(shape.get("period"))
        return _PERIOD_NAMES.get(period, period)
    return json.dumps(shape, sort_keys=True)


def _interval(text: object) -> str:
    """An ISO interval in one notation (UTC, milliseconds, `Z`), as Druid writes it back."""
    start, _, end = str(text).partition("/")
    try:
        return "/".join(_iso(part) for part in (start, end))
    except ValueError:
        return str(text)


def _iso(moment: str) -> str:
    parsed = datetime.fromisoformat(moment)
    aware = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
