"""Generate the benchmark's sales data: a large CSV and an xlsx, deterministic for a given seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

REGIONS = ["North", "South", "East", "West", "Central"]
COUNTRIES = ["Germany", "France", "Spain", "Italy", "Poland", "Austria", "Belgium", "Netherlands"]
CHANNELS = ["online", "retail", "partner", "phone"]


def sales_frame(rows: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2023-01-01T00:00:00")
    seconds = rng.integers(0, 2 * 365 * 86400, rows)
    quantity = rng.integers(1, 50, rows)
    price = np.round(rng.uniform(0.5, 900.0, rows), 2)
    discount = np.round(rng.uniform(0, 0.3, rows), 3)
    return pl.DataFrame(
        {
            "order_id": np.arange(1, rows + 1, dtype=np.int64) + 10_000_000,
            "order_date": (start + seconds.astype("timedelta64[s]")).astype("datetime64[ms]"),
            "region": rng.choice(REGIONS, rows),
            "country": rng.choice(COUNTRIES, rows),
            "product_code": pl.Series(rng.integers(1, 99_999, rows)).cast(pl.String).str.zfill(6),
            "product_name": pl.Series(rng.integers(1, 5000, rows)).cast(pl.String).map_elements(
                lambda v: f"Product {v}", return_dtype=pl.String
            ) if rows <= 200_000 else ("Product " + pl.Series(rng.integers(1, 5000, rows)).cast(pl.String)),
            "quantity": quantity,
            "unit_price": price,
            "discount": discount,
            "revenue": np.round(quantity * price * (1 - discount), 2),
            "customer_id": rng.integers(1, 250_000, rows),
            "channel": rng.choice(CHANNELS, rows),
        }
    )


def write_csv(path: Path, rows: int, chunk: int = 500_000) -> Path:
    """Write in chunks so generating 5 million rows stays within a modest memory budget."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for index, offset in enumerate(range(0, rows, chunk)):
            part = sales_frame(min(chunk, rows - offset), seed=7 + index).with_columns(
                pl.col("order_id") + offset,
                pl.col("order_date").dt.strftime("%Y-%m-%d %H:%M:%S"),
            )
            part.write_csv(handle, include_header=index == 0)
    return path


def write_xlsx(path: Path, rows: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sales_frame(rows).write_excel(path, worksheet="Sales", autofit=False)
    return path
