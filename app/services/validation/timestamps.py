"""Date and time formats we recognise, and Polars expressions that parse them to UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from app.domain.validation import DateOrder

EXCEL_SERIAL = "excel_serial"
NATIVE = "native"

# Excel serial day 0: 1899-12-30 in the 1900 system (which counts a fictional 29 Feb 1900),
# 1904-01-01 in the 1904 system used by old Mac workbooks.
_EXCEL_EPOCH_MS_1900 = -2_209_161_600_000
_EXCEL_EPOCH_MS_1904 = -2_082_844_800_000
_DAY_MS = 86_400_000

NAME_HINTS = re.compile(
    r"(^|[_\s.-])(date|time|timestamp|datetime|day|ts|created|updated|modified|when|period|"
    r"datum|fecha|data|zeit|jour|dt)($|[_\s.-])|date|time",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class TimestampFormat:
    pattern: str
    label: str
    order: DateOrder | None = None  # set for all-numeric day/month formats
    twin: str | None = None  # the same layout with day and month swapped
    has_zone: bool = False


def _pair(day_first: str, month_first: str, label: str) -> list[TimestampFormat]:
    return [
        TimestampFormat(day_first, f"{label} (day first)", DateOrder.DAY_FIRST, month_first),
        TimestampFormat(month_first, f"{label} (month first)", DateOrder.MONTH_FIRST, day_first),
    ]


FORMATS: tuple[TimestampFormat, ...] = (
    TimestampFormat("%Y-%m-%d", "ISO date"),
    TimestampFormat("%Y-%m-%d %H:%M", "ISO date and time"),
    TimestampFormat("%Y-%m-%d %H:%M:%S", "ISO date and time"),
    TimestampFormat("%Y-%m-%d %H:%M:%S%.f", "ISO date and time with fractions"),
    TimestampFormat("%Y-%m-%dT%H:%M", "ISO 8601"),
    TimestampFormat("%Y-%m-%dT%H:%M:%S", "ISO 8601"),
    TimestampFormat("%Y-%m-%dT%H:%M:%S%.f", "ISO 8601 with fractions"),
    TimestampFormat("%Y-%m-%dT%H:%M:%S%#z", "ISO 8601 with zone", has_zone=True),
    TimestampFormat("%Y-%m-%dT%H:%M:%S%.f%#z", "ISO 8601 with fractions and zone", has_zone=True),
    TimestampFormat("%Y-%m-%d %H:%M:%S%#z", "ISO date and time with zone", has_zone=True),
    TimestampFormat("%Y/%m/%d", "year/month/day"),
    TimestampFormat("%Y/%m/%d %H:%M:%S", "year/month/day and time"),
    *_pair("%d/%m/%Y", "%m/%d/%Y", "dd/mm/yyyy"),
    *_pair("%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "dd/mm/yyyy hh:mm"),
    *_pair("%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "dd/mm/yyyy hh:mm:ss"),
    *_pair("%d.%m.%Y", "%m.%d.%Y", "dd.mm.yyyy"),
    *_pair("%d.%m.%Y %H:%M", "%m.%d.%Y %H:%M", "dd.mm.yyyy hh:mm"),
    *_pair("%d.%m.%Y %H:%M:%S", "%m.%d.%Y %H:%M:%S", "dd.mm.yyyy hh:mm:ss"),
    *_pair("%d-%m-%Y", "%m-%d-%Y", "dd-mm-yyyy"),
)
BY_PATTERN = {fmt.pattern: fmt for fmt in FORMATS}


def _localise(naive: pl.Expr, zone: str) -> pl.Expr:
    # DST gaps have no local time: such values become null and are reported, not shifted.
    local = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
    return local.dt.convert_time_zone("UTC")


def parse_text(expr: pl.Expr, fmt: TimestampFormat, zone: str) -> pl.Expr:
    """Parse text to a UTC-aware millisecond datetime; values without a zone are read in `zone`."""
    if fmt.has_zone:
        parsed = expr.str.strptime(pl.Datetime("ms", "UTC"), fmt.pattern, strict=False)
        return parsed
    naive = expr.str.strptime(pl.Datetime("ms"), fmt.pattern, strict=False)
    return _localise(naive, zone)


def native_to_utc(expr: pl.Expr, dtype: pl.DataType, zone: str) -> pl.Expr:
    """A typed date or datetime column (Excel, Parquet) as a UTC-aware millisecond datetime."""
    if isinstance(dtype, pl.Datetime) and dtype.time_zone:
        return expr.cast(pl.Datetime("ms", dtype.time_zone)).dt.convert_time_zone("UTC")
    naive = expr.cast(pl.Datetime("ms"))
    return _localise(naive, zone)


def excel_serial_to_utc(expr: pl.Expr, date1904: bool, zone: str) -> pl.Expr:
    epoch = _EXCEL_EPOCH_MS_1904 if date1904 else _EXCEL_EPOCH_MS_1900
    millis = (expr.cast(pl.Float64) * _DAY_MS).round(0).cast(pl.Int64) + epoch
    naive = millis.cast(pl.Datetime("ms"))
    return _localise(naive, zone)


def serial_to_datetime(serial: float, date1904: bool, zone: str) -> datetime:
    """One Excel serial as an aware UTC datetime (the same maths as excel_serial_to_utc)."""
    epoch = _EXCEL_EPOCH_MS_1904 if date1904 else _EXCEL_EPOCH_MS_1900
    millis = round(serial * _DAY_MS) + epoch
    naive = datetime(1970, 1, 1) + timedelta(milliseconds=millis)
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def epoch_ms(expr: pl.Expr) -> pl.Expr:
    return expr.dt.epoch("ms")


def looks_like_time_name(name: str) -> bool:
    return bool(NAME_HINTS.search(name))
