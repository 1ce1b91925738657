"""Druid's "already exists": accepted for our own spec as Druid writes it back, refused (with what
differs) for another spec under the same id, against the fake Overlord."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.domain.tasks import IngestMode
from app.domain.validation import ColumnType, StagingResult
from app.services.druid import DruidTaskIdTakenError, IngestionSpec, build_spec
from app.services.druid.resubmit import spec_differences

from .fake import FakeDruid, as_druid_writes_it

STAGING = StagingResult(
    path=Path("/tmp/s.ndjson.gz"),
    format="ndjson.gz",
    rows=3,
    bytes=10,
    sha256="34" * 32,
    min_time_ms=1_706_745_600_000,  # 2024-02-01
    max_time_ms=1_706_918_400_000,  # 2024-02-03
    columns=(("city", ColumnType.TEXT), ("qty", ColumnType.INTEGER),
             ("paid", ColumnType.BOOLEAN)),
)
URI = "s3://bucket/ingest-desk/sales/2026-12-05/task-a/3434343434343434.ndjson.gz"


def _spec(mode: IngestMode = IngestMode.APPEND, uri: str = URI,
          staging: StagingResult = STAGING) -> IngestionSpec:
    return build_spec("sales", staging, [uri], mode)


def _payload(spec: IngestionSpec) -> dict[str, Any]:
    return spec.payload()


@pytest.mark.parametrize("mode", [IngestMode.APPEND, IngestMode.REPLACE])
def test_our_spec_as_druid_writes_it_back_is_the_same_spec(mode: IngestMode) -> None:
    ours = _payload(_spec(mode))
    theirs = as_druid_writes_it(ours)
    assert theirs != ours  # the round trip really changed the notation ...
    assert spec_differences(ours, theirs) == ()  # ... and not the meaning


def test_druids_other_notations_for_granularity_and_intervals_compare_equal() -> None:
    ours = _payload(_spec(IngestMode.REPLACE))
    theirs = as_druid_writes_it(ours)
    granularity = theirs["spec"]["dataSchema"]["granularitySpec"]
    assert granularity["segmentGranularity"] == "DAY" and granularity["intervals"]
    granularity["segmentGranularity"] = {
        "type": "period", "period": "P1D", "timeZone": "UTC", "origin": None,
    }
    start, end = granularity["intervals"][0].split("/")
    granularity["intervals"] = [f"{start.replace('.000Z', '+00:00')}/{end}"]
    theirs["spec"]["dataSchema"]["dimensionsSpec"]["dimensions"][0] = "city"  # a bare name
    assert spec_differences(ours, theirs) == ()


def _changed(path: list[str], value: object) -> dict[str, Any]:
    theirs = as_druid_writes_it(_payload(_spec()))
    target = theirs
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return theirs


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (["spec", "dataSchema", "dataSource"], "sales_eu", "datasource"),
        (["spec", "ioConfig", "inputSource", "uris"], [URI.replace("task-a", "task-b")], "input"),
        (["spec", "ioConfig", "appendToExisting"], False, "append"),
        (["spec", "dataSchema", "granularitySpec", "segmentGranularity"], "MONTH",
         "segment granularity"),
        (["spec", "dataSchema", "granularitySpec", "intervals"],
         ["2024-01-01T00:00:00.000Z/2024-02-01T00:00:00.000Z"], "intervals"),
        (["spec", "dataSchema", "dimensionsSpec", "dimensions"],
         [{"type": "string", "name": "city"}, {"type": "string", "name": "qty"},
          {"type": "long", "name": "paid"}], "dimensions"),
        (["context", "ingestDesk", "sha256"], "56" * 32, "file"),
    ],
)
def test_each_meaningful_difference_is_named(path: list[str], value: object, named: str) -> None:
    differences = spec_differences(_payload(_spec()), _changed(path, value))
    assert [d.split(":")[0] for d in differences] == [named]


def test_a_resubmit_of_the_same_spec_is_accepted(fake: FakeDruid) -> None:
    fake.round_trip = True
    client = fake.client()
    spec = _spec()
    assert client.submit(spec) == spec.task_id
    assert fake.payloads[spec.task_id] != spec.payload()  # held in Druid's notation
    assert client.submit(spec) == spec.task_id
    assert list(fake.tasks) == [spec.task_id]


def test_another_spec_under_the_id_fails_with_what_differs(fake: FakeDruid) -> None:
    fake.round_trip = True
    client = fake.client()
    first = _spec()
    client.submit(first)
    # The same file into the same datasource gets the same id; its new upload has a new key.
    again = _spec(uri=URI.replace("task-a", "task-b"))
    assert again.task_id == first.task_id
    with pytest.raises(DruidTaskIdTakenError) as caught:
        client.submit(again)
    message = str(caught.value)
    assert f"already has a task {first.task_id} with a different spec" in message
    assert "task-a" in message and "task-b" in message
    assert "retry the task" in message
    held = fake.payloads[first.task_id]["spec"]["ioConfig"]["inputSource"]["uris"]
    assert held == [URI]  # Druid's task is left as it was


def test_already_exists_without_a_spec_to_compare_fails(fake: FakeDruid) -> None:
    spec = _spec()
    fake.add_task(spec.task_id)  # known to the Overlord, but GET /task/{id} answers 404
    with pytest.raises(DruidTaskIdTakenError, match="does not show its spec"):
        fake.client().submit(spec)
