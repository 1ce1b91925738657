"""Generate the bundled sample files in resources/samples/ (deterministic; re-run to refresh)."""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import xlsxwriter

SAMPLES = Path(__file__).resolve().parent.parent / "resources" / "samples"
REGIONS = ("North", "South", "East", "West")
PRODUCTS = (
    ("00017", "Espresso beans 1kg", 18.50),
    ("00042", "Filter papers x100", 3.20),
    ("00108", "Milk frother", 39.99),
    ("00215", "Ceramic mug", 7.45),
    ("01003", "Grinder burr set", 24.00),
)


def _sales_rows(rng: random.Random, count: int, start: date) -> list[list[object]]:
    rows: list[list[object]] = []
    for index in range(count):
        day = start + timedelta(days=index // 4)
        sku, name, price = rng.choice(PRODUCTS)
        quantity = rng.randint(1, 40)
        rows.append(
            [day, rng.choice(REGIONS), sku, name, quantity, price, round(quantity * price, 2)]
        )
    return rows


def write_clean_csv(rng: random.Random) -> Path:
    target = SAMPLES / "sales_clean.csv"
    header = ["order_date", "region", "sku", "product", "quantity", "unit_price", "revenue"]
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in _sales_rows(rng, 200, date(2024, 3, 1)):
            writer.writerow([row[0].isoformat(), *row[1:5], f"{row[5]:.2f}", f"{row[6]:.2f}"])  # type: ignore[union-attr]
    return target


def write_workbook(rng: random.Random) -> Path:
    target = SAMPLES / "stores_workbook.xlsx"
    book = xlsxwriter.Workbook(str(target))
    bold = book.add_format({"bold": True})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    money = book.add_format({"num_format": "#,##0.00"})

    visits = book.add_worksheet("Visits")
    header = ["visited_at", "store", "visitors", "conversion_rate"]
    visits.write_row(0, 0, header, bold)
    start = datetime(2024, 5, 1, 9, 0)
    for index in range(120):
        row = index + 1
        visits.write_datetime(row, 0, start + timedelta(hours=index * 6), stamp)
        visits.write_string(row, 1, rng.choice(("Leeds", "York", "Hull")))
        visits.write_number(row, 2, rng.randint(20, 400))
        visits.write_number(row, 3, round(rng.uniform(0.05, 0.4), 3))
    visits.set_column(0, 0, 18)

    refunds = book.add_worksheet("Refunds")
    refunds.write_row(0, 0, ["refunded_at", "store", "amount", "reason"], bold)
    for index in range(30):
        row = index + 1
        refunds.write_datetime(row, 0, start + timedelta(days=index, hours=3), stamp)
        refunds.write_string(row, 1, rng.choice(("Leeds", "York", "Hull")))
        refunds.write_number(row, 2, round(rng.uniform(2, 80), 2), money)
        refunds.write_string(row, 3, rng.choice(("damaged", "wrong size", "changed mind")))

    notes = book.add_worksheet("Read me")
    notes.write_string(0, 0, "Sample workbook for Ingest Desk: two data sheets and this note.")
    book.close()
    return target


def write_errors_csv(rng: random.Random) -> Path:
    """Day-first dates (days above 12 make the order unambiguous), bad numbers, one blank date."""
    target = SAMPLES / "orders_with_errors.csv"
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_date", "customer", "quantity", "amount"])
        start = date(2024, 1, 13)
        for index in range(60):
            day = start + timedelta(days=index)
            quantity: object = rng.randint(1, 9)
            amount: object = f"{rng.uniform(5, 200):.2f}"
            when = day.strftime("%d/%m/%Y")
            if index == 7:
                amount = "12.5O"  # a letter O typed for a zero
            if index == 23:
                quantity = "three"
            if index == 41:
                when = ""  # the timestamp is missing
            writer.writerow([when, f"C{rng.randint(100, 999)}", quantity, amount])
    return target


def main() -> None:
    SAMPLES.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20240301)
    for path in (write_clean_csv(rng), write_workbook(rng), write_errors_csv(rng)):
        print(f"wrote {path.relative_to(SAMPLES.parent.parent)}")


if __name__ == "__main__":
    main()
