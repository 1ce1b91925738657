"""Compaction advice: said when appends left many small segments, never acted on."""

from __future__ import annotations

import json

from app.domain.druid import Interval
from app.services.druid.compaction import compaction_advice
from tests.druid.fake import FakeDruid, sql_rows

MARCH = Interval(1_709_251_200_000, 1_711_929_600_000)  # 2024-03-01 .. 2024-04-01


def test_many_small_segments_get_the_compaction_task_an_operator_could_submit() -> None:
    fake = FakeDruid()
    fake.sql_answers.append(sql_rows(["n", "r"], [31, 6_200]))
    advice = compaction_advice(fake.client(), "sales", MARCH)
    assert advice is not None and (advice.segments, advice.rows) == (31, 6_200)
    assert "31 segments averaging 200 rows" in advice.sentence
    task = json.loads(advice.task_json)
    assert task["type"] == "compact" and task["dataSource"] == "sales"
    assert task["ioConfig"]["inputSpec"]["interval"] == MARCH.iso
    assert [r.method for r in fake.requests if "/task" in r.url.path] == []  # nothing submitted


def test_few_or_large_segments_need_no_advice() -> None:
    fake = FakeDruid()
    fake.sql_answers.extend([sql_rows(["n", "r"], [3, 600]),
                             sql_rows(["n", "r"], [40, 40_000_000])])
    assert compaction_advice(fake.client(), "sales", MARCH) is None
    assert compaction_advice(fake.client(), "sales", MARCH) is None
