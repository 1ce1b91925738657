"""The dev stack ingests a file from its S3 bucket into Druid, and Druid SQL reads it back."""

from __future__ import annotations

import json
import uuid

import pytest

from .stack import DevStack

pytestmark = pytest.mark.druid

ROWS = [
    {"ts": "2024-01-01T00:00:00Z", "city": "Oslo", "amount": 10},
    {"ts": "2024-01-01T06:00:00Z", "city": "Bergen", "amount": 5},
    {"ts": "2024-01-02T12:00:00Z", "city": "Oslo", "amount": 7},
]


def _spec(datasource: str, uri: str) -> dict[str, object]:
    return {
        "type": "index_parallel",
        "spec": {
            "dataSchema": {
                "dataSource": datasource,
                "timestampSpec": {"column": "ts", "format": "iso"},
                "dimensionsSpec": {"dimensions": ["city", {"type": "long", "name": "amount"}]},
                "granularitySpec": {
                    "segmentGranularity": "day",
                    "queryGranularity": "none",
                    "rollup": False,
                },
            },
            "ioConfig": {
                "type": "index_parallel",
                "inputSource": {"type": "s3", "uris": [uri]},
                "inputFormat": {"type": "json"},
                "appendToExisting": False,
            },
            "tuningConfig": {"type": "index_parallel", "maxNumConcurrentSubTasks": 1},
        },
    }


def test_s3_ndjson_ingests_and_queries_back(devstack: DevStack) -> None:
    datasource = f"devstack_smoke_{uuid.uuid4().hex[:8]}"
    bucket = devstack.env["INGEST_DESK_S3_BUCKET"]
    key = f"{devstack.env['INGEST_DESK_S3_PREFIX']}/smoke/{datasource}.ndjson"
    body = "".join(json.dumps(row) + "\n" for row in ROWS).encode()
    devstack.s3_client().put_object(Bucket=bucket, Key=key, Body=body)

    task_id = devstack.submit_task(_spec(datasource, f"s3://{bucket}/{key}"))
    try:
        status = devstack.wait_for_task(task_id)
        assert status["status"] == "SUCCESS", devstack.task_log(task_id)[-4000:]
        expected = [
            {
                "n": 3,
                "total": 22,
                "first_ts": "2024-01-01T00:00:00.000Z",
                "last_ts": "2024-01-02T12:00:00.000Z",
            }
        ]
        # Each day is its own segment and the broker learns of them one by one: wait for both.
        rows = devstack.wait_for_rows(
            "SELECT COUNT(*) AS n, SUM(amount) AS total, MIN(__time) AS first_ts, "
            f'MAX(__time) AS last_ts FROM "{datasource}"',
            until=lambda found: found == expected,
        )
        assert rows == expected
    finally:
        devstack.drop_datasource(datasource)
