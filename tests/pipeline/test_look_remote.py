"""The ingest dialog's Druid-facing checks (pipeline/look.py) against the fake Overlord over
HTTP: the datasource catalogue, the replace preview, the segment plan, the legacy-null note and
the drift report, each with the sentence it gives when Druid or the file cannot answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.druid import GranularitySource, SegmentGranularity
from app.domain.tasks import IngestMode
from app.domain.validation import ColumnType
from app.pipeline.choices import IngestChoices
from app.pipeline.look import (
    CheckFailed,
    FileLook,
    drift_report,
    druid_catalog,
    look_at_file,
    null_handling_note,
    replace_figures,
    segment_plan,
)
from app.services.settings import Settings
from tests.commands.overlord import CountingOverlord, ServedOverlord

NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
def overlord() -> Iterator[ServedOverlord]:
    served = ServedOverlord(CountingOverlord()).start()
    yield served
    served.stop()


@pytest.fixture
def fake(overlord: ServedOverlord) -> CountingOverlord:
    assert isinstance(overlord.fake, CountingOverlord)
    return overlord.fake


@pytest.fixture
def settings(overlord: ServedOverlord) -> Settings:
    return Settings(druid_url=overlord.url, druid_timeout_s=5)


def sales_look(tmp_path: Path, settings: Settings, rows: int = 30) -> FileLook:
    path = tmp_path / "sales.csv"
    lines = ["when,city,qty"] + [
        f"2024-04-{1 + i % 3:02d} 08:{i % 60:02d}:00,city{i % 2},{i}" for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    look = look_at_file(path, settings)
    assert look.problem is None, look.problem
    return look


def test_the_catalogue_lists_druids_datasources(settings: Settings, fake: CountingOverlord) -> None:
    fake.rows.update(sales=5, returns=2)
    catalog = druid_catalog(settings)
    assert catalog.available
    assert set(catalog.datasources) == {"sales", "returns"}
    assert catalog.note is None


def test_the_catalogue_is_a_note_when_druid_is_away() -> None:
    catalog = druid_catalog(Settings(druid_url=NOWHERE, druid_timeout_s=2))
    assert not catalog.available and catalog.datasources == ()
    assert catalog.note is not None
    assert catalog.note.startswith("Druid's datasources could not be listed: ")
    assert druid_catalog(Settings()).note is None  # no Druid configured: nothing to say


def test_the_replace_preview_has_the_files_range_and_druids_rows(
    tmp_path: Path, settings: Settings, fake: CountingOverlord
) -> None:
    fake.rows["sales"] = 17
    look = sales_look(tmp_path, settings)
    choices = IngestChoices("sales", IngestMode.REPLACE, timestamp_column="when")
    figures = replace_figures(look, choices, settings)
    assert figures.time_range.rows == 30
    assert figures.preview.datasource == "sales"
    assert figures.preview.rows_now == 17
    assert figures.preview.rows_incoming == 30


def test_the_segment_plan_honours_the_users_choice(
    tmp_path: Path, settings: Settings
) -> None:
    look = sales_look(tmp_path, settings)
    chosen = IngestChoices(
        "sales", timestamp_column="when", segment_granularity=SegmentGranularity.MONTH
    )
    plan = segment_plan(look, chosen, settings)
    assert plan.granularity is SegmentGranularity.MONTH
    assert plan.source is GranularitySource.CHOSEN
    fitted = segment_plan(look, IngestChoices("sales", timestamp_column="when"), settings)
    assert fitted.source is not GranularitySource.CHOSEN


def test_checks_that_need_dates_fail_with_a_sentence(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "no_dates.csv"
    path.write_text("city,qty\nOslo,1\nBergen,2\n", encoding="utf-8")
    look = look_at_file(path, settings)
    choices = IngestChoices("sales", IngestMode.REPLACE)
    with pytest.raises(CheckFailed, match=r"no_dates\.csv has no column that reads as dates"):
        replace_figures(look, choices, settings)
    with pytest.raises(CheckFailed, match=r"no_dates\.csv has no column that reads as dates"):
        segment_plan(look, choices, settings)


def test_checks_fail_with_a_sentence_when_druid_is_away(tmp_path: Path, settings: Settings) -> None:
    look = sales_look(tmp_path, settings)
    away = Settings(druid_url=NOWHERE, druid_timeout_s=2)
    choices = IngestChoices("sales", IngestMode.REPLACE, timestamp_column="when")
    for check in (replace_figures, segment_plan, drift_report):
        with pytest.raises(CheckFailed) as caught:
            check(look, choices, away)
        assert str(caught.value), check.__name__
    assert null_handling_note(away) is None  # the other checks say what is wrong


def test_a_legacy_null_cluster_gets_a_note(settings: Settings) -> None:
    note = null_handling_note(settings)  # the fake reports Druid 25 without the property
    assert note is not None
    assert "druid.generic.useDefaultValueForNull=false" in note


def test_drift_against_the_datasource_druid_holds(
    tmp_path: Path, settings: Settings, fake: CountingOverlord
) -> None:
    fake.rows["sales"] = 4
    fake.columns["sales"] = [
        ["__time", "TIMESTAMP"], ["city", "VARCHAR"], ["qty", "VARCHAR"], ["gone", "BIGINT"],
    ]
    look = sales_look(tmp_path, settings)
    drift = drift_report(look, IngestChoices("sales", timestamp_column="when"), settings)
    assert drift.datasource_exists
    assert drift.missing == ("gone",)
    assert [change.column for change in drift.type_changed] == ["qty"]
    assert look.sample_column("qty") is not None
    assert look.sample_column("qty").type is ColumnType.INTEGER  # type: ignore[union-attr]
    assert look.sample_column("absent") is None
