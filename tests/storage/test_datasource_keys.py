"""Every datasource name Druid accepts has its own ASCII folder; ASCII names keep theirs."""

from __future__ import annotations

import re
from datetime import date

import pytest

from app.services.storage import datasource_prefix, hash_marker_key, object_key

SHA = "ab" * 32
DAY = date(2026, 3, 4)
_ASCII_KEY = re.compile(r"[A-Za-z0-9._=/-]+")


@pytest.mark.parametrize("name", ["日本語", "売上", "Продажи", "مبيعات", "😀", "Umsätze 2024"])
def test_a_non_latin_datasource_gets_an_ascii_key(name: str) -> None:
    key = object_key("ingest-desk", name, DAY, "t-1", SHA, "ndjson.gz")
    assert _ASCII_KEY.fullmatch(key)
    folder = key.split("/")[1]
    assert re.fullmatch(r"[A-Za-z0-9_.-]+-[0-9a-f]{12}", folder)
    # Stable: the same name maps to the same key on every desk and every run.
    assert key == object_key("ingest-desk", name, DAY, "t-1", SHA, "ndjson.gz")
    assert _ASCII_KEY.fullmatch(hash_marker_key("ingest-desk", name, SHA))


def test_names_that_slug_alike_keep_separate_folders() -> None:
    # Both fold to the same slug; the hash of the exact name keeps their markers apart.
    assert datasource_prefix("p", "売上") != datasource_prefix("p", "日本語")
    assert datasource_prefix("p", "a日") != datasource_prefix("p", "a本")
    assert hash_marker_key("p", "a日", SHA) != hash_marker_key("p", "a本", SHA)


def test_accented_names_keep_their_letters() -> None:
    assert datasource_prefix("p", "Umsätze").startswith("p/Umsatze-")


@pytest.mark.parametrize(
    ("name", "folder"),
    [("sales", "sales"), ("Sales Q1", "Sales_Q1"), ("../sales/eu", "sales_eu"), ("a.b-c", "a.b-c")],
)
def test_ascii_names_keep_the_key_uploads_in_flight_resume_under(name: str, folder: str) -> None:
    key = object_key("ingest-desk", name, DAY, "t-1", SHA, "parquet")
    assert key == f"ingest-desk/{folder}/2026-03-04/t-1/{SHA[:16]}.parquet"


def test_an_ascii_name_of_only_symbols_gets_a_folder_too() -> None:
    assert re.fullmatch(r"p/ds-[0-9a-f]{12}/", datasource_prefix("p", "???"))


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_name_is_still_refused(name: str) -> None:
    with pytest.raises(ValueError):
        datasource_prefix("p", name)
