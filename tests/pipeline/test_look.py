"""The quick look before a task exists, and the one-column time range, against real files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from app.domain.rules import ColumnRule, Template
from app.domain.tasks import IngestMode
from app.domain.validation import ColumnType, DateOrder, SourceKind
from app.pipeline.choices import IngestChoices
from app.pipeline.look import (
    datasource_problem,
    look_at_drop,
    look_at_file,
    matching_template,
    save_template,
    staged_columns,
    time_range_of,
)
from app.pipeline.session import DeskSession
from app.services.reading import UnreadableFileError
from app.services.settings import Settings
from app.services.store import TaskStore
from app.services.validation.time_range import TimeRangeRequest, file_time_range

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"
START = datetime(2024, 6, 3, 8, 30)


@pytest.fixture
def settings() -> Settings:
    return Settings(database_url=None)


@pytest.fixture
def store(tmp_path: Path) -> TaskStore:
    opened = TaskStore.open(f"sqlite:///{tmp_path / 'tasks.sqlite3'}")
    yield opened  # type: ignore[misc]
    opened.close()


def _ms(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def test_csv_look_types_candidates_and_suggestion(settings: Settings) -> None:
    look = look_at_file(SAMPLES / "sales_clean.csv", settings)
    assert look.problem is None and look.kind is SourceKind.DELIMITED
    assert look.suggested_datasource == "sales_clean"
    types = {column.name: column.type for column in look.columns}
    assert types == {
        "order_date": ColumnType.TIMESTAMP,
        "region": ColumnType.TEXT,
        "sku": ColumnType.TEXT,  # leading zeros: a code, not a number
        "product": ColumnType.TEXT,
        "quantity": ColumnType.INTEGER,
        "unit_price": ColumnType.DECIMAL,
        "revenue": ColumnType.DECIMAL,
    }
    assert [c.column for c in look.candidates] == ["order_date"]
    assert look.candidates[0].formats == ("%Y-%m-%d",)
    assert not look.date_order_ambiguous and look.sheets == () and look.sample_rows == 200


def test_workbook_with_two_sheets_lists_both_and_looks_at_the_chosen_one(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "book.xlsx"
    import xlsxwriter  # a polars optional dependency, installed for write_excel

    with xlsxwriter.Workbook(path) as book:
        pl.DataFrame(
            {"when": [START + timedelta(hours=i) for i in range(30)], "qty": list(range(30))}
        ).write_excel(book, worksheet="Sales")
        pl.DataFrame({"code": ["a", "b"], "label": ["x", "y"]}).write_excel(
            book, worksheet="Lookup"
        )
    look = look_at_file(path, settings)
    assert look.kind is SourceKind.EXCEL
    assert [s.name for s in look.sheets] == ["Sales", "Lookup"]
    assert look.sheet == "Sales" and look.data_rows == 30
    assert [c.column for c in look.candidates] == ["when"]
    assert look.candidates[0].formats == ("native",)
    other = look_at_file(path, settings, sheet="Lookup")
    assert other.sheet == "Lookup" and [s.name for s in other.sheets] == ["Sales", "Lookup"]
    assert other.column_names == ("code", "label") and other.candidates == ()


def test_ambiguous_day_month_order_and_its_counts(settings: Settings, tmp_path: Path) -> None:
    ambiguous = tmp_path / "visits.csv"
    ambiguous.write_text("day,visits\n01/02/2024,3\n03/04/2024,5\n05/06/2024,8\n")
    look = look_at_file(ambiguous, settings)
    first = look.candidates[0]
    assert look.date_order_ambiguous and first.ambiguous
    assert (first.sampled, first.day_first, first.month_first) == (3, 3, 3)
    assert first.format_for(DateOrder.MONTH_FIRST) == "%m/%d/%Y"
    assert first.format_for(DateOrder.DAY_FIRST) == "%d/%m/%Y"

    clear = tmp_path / "clear.csv"
    clear.write_text("day,visits\n13/02/2024,3\n03/04/2024,5\n")
    counted = look_at_file(clear, settings).candidates[0]
    assert not counted.ambiguous and (counted.day_first, counted.month_first) == (2, 1)
    assert counted.format_for(None) == "%d/%m/%Y"


def test_broken_file_gives_a_problem_sentence(settings: Settings, tmp_path: Path) -> None:
    broken = tmp_path / "report.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not really a workbook")
    look = look_at_file(broken, settings)
    assert look.problem is not None and "ZIP structure is damaged" in look.problem
    assert look.columns == () and look.suggested_datasource == "report"


def test_time_range_matches_polars_for_text_and_workbook(
    settings: Settings, tmp_path: Path
) -> None:
    moments = [START + timedelta(days=i % 4, minutes=37 * i) for i in range(500)]
    csv = tmp_path / "events.csv"
    pl.DataFrame(
        {"when": [m.strftime("%d/%m/%Y %H:%M") for m in moments], "n": list(range(500))}
    ).write_csv(csv)
    xlsx = tmp_path / "events.xlsx"
    pl.DataFrame({"when": moments, "n": list(range(500))}).write_excel(xlsx, worksheet="events")

    expected_min, expected_max = _ms(min(moments)), _ms(max(moments))
    from_csv = time_range_of(
        look_at_file(csv, settings), IngestChoices("events", date_order=DateOrder.DAY_FIRST),
        settings,
    )
    frame = pl.read_csv(csv).with_columns(
        pl.col("when").str.strptime(pl.Datetime("ms"), "%d/%m/%Y %H:%M")
    )
    assert (from_csv.rows, from_csv.dated) == (frame.height, frame.height)
    assert from_csv.min_ms == frame["when"].dt.epoch("ms").min() == expected_min
    assert from_csv.max_ms == frame["when"].dt.epoch("ms").max() == expected_max

    book = look_at_file(xlsx, settings)
    from_xlsx = time_range_of(book, IngestChoices("events"), settings)
    read = pl.read_excel(xlsx)
    epoch = read["when"].cast(pl.Datetime("ms")).dt.epoch("ms")
    assert (from_xlsx.rows, from_xlsx.min_ms, from_xlsx.max_ms) == (
        read.height, epoch.min(), epoch.max()
    )
    # The service alone: a column that does not exist says so.
    with pytest.raises(UnreadableFileError, match=r"not in events\.csv"):
        file_time_range(TimeRangeRequest(csv, "missing", "%Y-%m-%d"))


def test_templates_match_by_columns_and_datasource(
    settings: Settings, store: TaskStore, tmp_path: Path
) -> None:
    sales = SAMPLES / "sales_clean.csv"
    look = look_at_file(sales, settings)
    other = Template("other", datasource="elsewhere", columns=(ColumnRule("no_such"),))
    loose = Template("loose", columns=(ColumnRule("region"),))
    exact = Template("sales", datasource="sales_clean", columns=(ColumnRule("region"),))
    assert matching_template(look.column_names, "sales_clean", [other, loose, exact]) is exact
    assert matching_template(look.column_names, "x", [other]) is None

    choices = IngestChoices("sales", mode=IngestMode.REPLACE, timestamp_column="order_date")
    stored = save_template(store, "desk", "sales", look, choices)
    assert stored.template.version == 1 and stored.template.mode == "replace"
    again = save_template(store, "desk", "sales", look, choices)
    assert again.template.version == 2

    copy = tmp_path / "sales_2024_07.csv"
    copy.write_bytes(sales.read_bytes())
    drop = look_at_drop([copy, tmp_path / "notes.pdf"], settings, store)
    assert drop.all_match_templates and drop.files[0].template is not None
    assert drop.files[0].template.name == "sales" and drop.files[0].template.version == 2
    assert len(drop.refused) == 1 and not drop.uploads_configured
    assert drop.catalog.datasources == () and drop.catalog.note is None


def test_datasource_rules_and_staged_columns(settings: Settings) -> None:
    assert datasource_problem("sales_q1") is None
    problem = datasource_problem("sales/q1")
    assert problem is not None and "contains '/'" in problem
    look = look_at_file(SAMPLES / "sales_clean.csv", settings)
    rule = ColumnRule("quantity", type=ColumnType.DECIMAL, rename="qty")
    template = Template("t", columns=(rule,))
    staged = dict(staged_columns(look, IngestChoices("s", template=template)))
    assert "order_date" not in staged and staged["qty"] is ColumnType.DECIMAL


def test_enqueue_keeps_the_choices_and_validation_uses_them(
    settings: Settings, tmp_path: Path
) -> None:
    ambiguous = tmp_path / "visits.csv"
    ambiguous.write_text("day,visits\n01/02/2024,3\n03/04/2024,5\n")
    session = DeskSession.open(settings, database_url=f"sqlite:///{tmp_path / 'desk.sqlite3'}")
    try:
        pipeline = session.pipeline
        plain = pipeline.enqueue(ambiguous).task
        assert plain.datasource == "visits" and plain.mode is IngestMode.APPEND
        assert pipeline.run(plain.id).report.pending  # type: ignore[union-attr]
        chosen = IngestChoices("visits_eu", mode=IngestMode.REPLACE, date_order=DateOrder.DAY_FIRST)
        task = pipeline.enqueue(ambiguous, chosen).task
        assert (task.datasource, task.mode) == ("visits_eu", IngestMode.REPLACE)
        assert pipeline.choices(task.id) == chosen
        report = pipeline.run(task.id).report
        assert report is not None and not report.pending
        assert report.timestamp is not None and report.timestamp.date_order is DateOrder.DAY_FIRST
    finally:
        session.close()
