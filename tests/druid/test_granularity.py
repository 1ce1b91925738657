"""Segment granularity: fitted to the file's span, or the datasource's own, or the user's."""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.druid import SegmentGranularity as G
from app.services.druid.granularity import (
    GranularitySource,
    choose_granularity,
    chunk_count,
    fit_granularity,
    granularity_of,
)
from tests.druid.fake import FakeDruid


def ms(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)


def test_the_finest_granularity_with_at_most_sixty_chunks() -> None:
    superstore = fit_granularity(ms(2014, 1, 3), ms(2017, 12, 30), 9_994)
    assert superstore.granularity is G.MONTH and superstore.reason == (
        "MONTH: 9,994 rows over 48 months"
    )
    assert fit_granularity(ms(2016, 6, 27), ms(2016, 7, 9, 23), 39_244).reason == (
        "DAY: 39,244 rows over 13 days"
    )
    assert fit_granularity(ms(2024, 1, 1), ms(2024, 12, 31, 23), 2_000_000).granularity is G.MONTH
    assert fit_granularity(ms(2024, 5, 1, 9), ms(2024, 5, 1, 17), 5_000).granularity is G.HOUR
    # Few rows: one chunk rather than sixty nearly empty ones.
    assert fit_granularity(ms(2024, 2, 1, 10), ms(2024, 2, 3, 10), 120).reason == (
        "MONTH: 120 rows over 1 month"
    )
    assert fit_granularity(ms(1900, 1, 1), ms(1969, 7, 1), 120).granularity is G.YEAR
    assert fit_granularity(ms(2019, 1, 1), ms(2024, 12, 1), 7_200).granularity is G.QUARTER


def test_chunks_follow_druids_alignment() -> None:
    assert chunk_count(ms(2024, 1, 31, 23), ms(2024, 2, 1, 1), G.DAY) == 2
    assert chunk_count(ms(2024, 1, 1), ms(2024, 1, 1), G.YEAR) == 1
    assert chunk_count(ms(1969, 12, 31), ms(1970, 1, 1), G.MONTH) == 2


def test_a_datasource_keeps_the_granularity_its_segments_have() -> None:
    days = [(ms(2024, 6, d), ms(2024, 6, d + 1)) for d in range(1, 6)]
    assert granularity_of([*days, (ms(2024, 1, 1), ms(2024, 2, 1))]) is G.DAY
    assert granularity_of([(ms(2024, 2, 1), ms(2024, 3, 1))]) is G.MONTH
    assert granularity_of([]) is None


def test_the_choice_says_where_it_came_from() -> None:
    fake = FakeDruid()
    client = fake.client()
    span = (ms(2014, 1, 3), ms(2017, 12, 30), 9_994)
    fitted = choose_granularity(client, "sales", *span)
    assert fitted.source is GranularitySource.FITTED and fitted.granularity is G.MONTH
    fake.segments = [["2024-06-03T00:00:00.000Z", "2024-06-04T00:00:00.000Z"]]
    kept = choose_granularity(client, "sales", *span)
    assert kept.source is GranularitySource.DATASOURCE and kept.granularity is G.DAY
    assert kept.reason == "DAY: 9,994 rows over 1,458 days (as sales already has)"
    mine = choose_granularity(client, "sales", *span, chosen=G.YEAR)
    assert mine.reason == "YEAR: 9,994 rows over 4 years (your choice)"
