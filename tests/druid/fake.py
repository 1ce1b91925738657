"""An in-process fake Overlord/broker for fault injection, answering with Druid 25's real shapes."""

from __future__ import annotations

import copy
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.services.druid import DruidClient, RetryPolicy

# Recorded from the dev stack's Druid 25.0.0 (`/status` through the router).
S3_MODULES = [
    {"name": "org.apache.druid.common.aws.AWSModule", "artifact": "druid-aws-common"},
    {
        "name": "org.apache.druid.data.input.s3.S3InputSourceDruidModule",
        "artifact": "druid-s3-extensions",
    },
]

Reply = httpx.Response | Exception


def druid_report(task_id: str, processed: int, errors: int = 0, parallel: bool = True) -> dict:
    """A task report in the shape Druid 25 writes (parallel mode nests rowStats in totals)."""
    build = {
        "processed": processed,
        "processedWithError": errors,
        "thrownAway": 0,
        "unparseable": 0,
    }
    row_stats = {"totals": {"buildSegments": build}} if parallel else {"buildSegments": build}
    return {
        "ingestionStatsAndErrors": {
            "type": "ingestionStatsAndErrors",
            "taskId": task_id,
            "payload": {
                "ingestionState": "COMPLETED" if not errors else "BUILD_SEGMENTS",
                "unparseableEvents": {"buildSegments": []},
                "rowStats": row_stats,
                "errorMsg": None,
                "segmentAvailabilityConfirmed": True,
                "segmentAvailabilityWaitTimeMs": 12,
            },
        }
    }


@dataclass
class FakeDruid:
    """Tasks live in a dict; `inject` queues faults (responses or exceptions) for a path prefix,
    served before the normal answer, so a test scripts e.g. "503, 503, then the real thing"."""

    modules: list[dict[str, str]] = field(default_factory=lambda: list(S3_MODULES))
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Submitted payloads (GET /task/{id} answers them) and task logs (served by byte offset).
    payloads: dict[str, dict[str, Any]] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    sql_answers: deque[Reply] = field(default_factory=deque)
    # sys.segments rows ("start", "end" ISO strings) every datasource answers with.
    segments: list[list[str]] = field(default_factory=list)
    faults: list[tuple[str, deque[Reply]]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    require_auth: tuple[str, str] | None = None
    proxy_overlord: bool = True
    running_reads_after_shutdown: int = 1
    ignore_shutdown: bool = False
    # Answer GET /task/{id} with the payload as Druid writes it back, not as it was sent.
    round_trip: bool = False

    def inject(self, prefix: str, *replies: Reply) -> None:
        self.faults.append((prefix, deque(replies)))

    def add_task(self, task_id: str, status: str = "RUNNING", error: str | None = None) -> None:
        self.tasks[task_id] = {"id": task_id, "statusCode": status, "errorMsg": error}

    def fail_like_parallel_druid(self, task_id: str, datasource: str, reason: str) -> None:
        """What Druid 25 shows when a subtask fails: the supervisor's generic message, and the
        real reason (with a Java stack) only in the failed subtask's report."""
        generic = "Failed in phase[segment generation]. See task logs for details."
        self.add_task(task_id, "FAILED", generic)
        self.tasks[task_id].update(dataSource=datasource, groupId=task_id)
        self.reports[task_id] = druid_report(task_id, processed=0)
        self.reports[task_id]["ingestionStatsAndErrors"]["payload"]["errorMsg"] = generic
        sub = f"single_phase_sub_task_{datasource}_abc"
        self.add_task(sub, "FAILED", reason[:100] + "...")
        self.tasks[sub].update(dataSource=datasource, groupId=task_id)
        self.reports[sub] = druid_report(sub, processed=0, parallel=False)
        stack = f"{reason}\n\tat org.apache.druid.X.y(X.java:1)\n\t... 16 more"
        self.reports[sub]["ingestionStatsAndErrors"]["payload"]["errorMsg"] = stack

    def client(self, **kwargs: Any) -> DruidClient:
        kwargs.setdefault("retry", RetryPolicy(attempts=3, initial_wait_s=0.01, max_wait_s=0.02))
        kwargs.setdefault("sleep", lambda _s: None)
        return DruidClient("http://druid.test:8888", transport=self.transport(), **kwargs)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        for prefix, queue in self.faults:
            if path.startswith(prefix) and queue:
                reply = queue.popleft()
                if isinstance(reply, Exception):
                    raise reply
                return reply
        if self.require_auth and not self._authorised(request):
            # Druid's basic-auth authenticator answers 401 with Jetty's HTML page.
            return httpx.Response(401, text="<html><body><h2>HTTP ERROR 401 Unauthorized</h2>")
        return self._route(request, path)

    def _authorised(self, request: httpx.Request) -> bool:
        assert self.require_auth is not None
        expected = httpx.BasicAuth(*self.require_auth)
        probe = httpx.Request("GET", "http://x")
        next(expected.auth_flow(probe))
        return request.headers.get("authorization") == probe.headers["authorization"]

    def _route(self, request: httpx.Request, path: str) -> httpx.Response:
        routes: dict[str, Callable[[httpx.Request, list[str]], httpx.Response]] = {
            "status": self._status,
            "druid": self._druid,
        }
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["proxy", "overlord"]:
            if not self.proxy_overlord:
                return httpx.Response(404, text="")
            parts = parts[2:]
        handler = routes.get(parts[0] if parts else "")
        if handler is None:
            return httpx.Response(404, text="")
        return handler(request, parts)

    def _status(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        if parts[1:] == ["health"]:
            return httpx.Response(200, json=True)
        return httpx.Response(200, json={"version": "25.0.0", "modules": self.modules})

    def _druid(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        if parts[1:3] == ["v2", "sql"]:
            reply = self.sql_answers.popleft() if self.sql_answers else self._sql(request)
            if isinstance(reply, Exception):
                raise reply
            return reply
        rest = parts[3:]  # after druid/indexer/v1
        if rest == ["task"] and request.method == "POST":
            return self._submit(json.loads(request.content))
        if rest == ["taskStatus"]:
            wanted = json.loads(request.content)
            return httpx.Response(
                200,
                json={
                    tid: {
                        "id": tid,
                        "status": self.tasks[tid]["statusCode"],
                        "duration": -1,
                        "errorMsg": self.tasks[tid]["errorMsg"],
                    }
                    for tid in wanted
                    if tid in self.tasks
                },
            )
        if rest == ["tasks"]:
            wanted = request.url.params.get("datasource")
            return httpx.Response(
                200, json=[t for t in self.tasks.values() if t.get("dataSource") == wanted]
            )
        if len(rest) == 3 and rest[0] == "task":
            return self._task(request, rest[1], rest[2])
        if len(rest) == 2 and rest[0] == "task" and request.method == "GET":
            payload = self.payloads.get(rest[1])
            if payload is None:
                return self._missing(rest[1])
            return httpx.Response(200, json={"task": rest[1], "payload": payload})
        return httpx.Response(404, text="")

    def _sql(self, request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content)["query"]
        if "FROM sys.segments" in query:
            return sql_rows(["start", "end"], *self.segments)
        table = re.search(r"\bFROM\s+\"?(\w+)", query)
        if table and table.group(1) != "INFORMATION_SCHEMA":
            # Druid 25's answer for an unknown table, as recorded from the dev stack.
            detail = (
                "org.apache.calcite.runtime.CalciteContextException: From line 1, column 22 "
                f"to line 1, column 40: Object '{table.group(1)}' not found"
            )
            return httpx.Response(
                400,
                json={
                    "error": "Plan validation failed",
                    "errorMessage": detail,
                    "errorClass": "org.apache.calcite.tools.ValidationException",
                    "host": None,
                },
            )
        return httpx.Response(200, json=[])

    def _submit(self, spec: dict[str, Any]) -> httpx.Response:
        task_id = spec["id"]
        if task_id in self.tasks:
            return httpx.Response(400, json={"error": f"Task[{task_id}] already exists!"})
        self.add_task(task_id)
        self.tasks[task_id]["dataSource"] = spec["spec"]["dataSchema"]["dataSource"]
        self.payloads[task_id] = as_druid_writes_it(spec) if self.round_trip else spec
        return httpx.Response(200, json={"task": task_id})

    def _missing(self, task_id: str) -> httpx.Response:
        return httpx.Response(404, text=f"Cannot find any task with id: [{task_id}]")

    def _task(self, request: httpx.Request, task_id: str, what: str) -> httpx.Response:
        task = self.tasks.get(task_id)
        if task is None:
            return self._missing(task_id)
        if what == "status":
            status = {
                "id": task_id,
                "statusCode": task["statusCode"],
                "status": task["statusCode"],
                "runnerStatusCode": "RUNNING",
                "duration": 1234 if task["statusCode"] != "RUNNING" else -1,
                "dataSource": task.get("dataSource", "sales"),
                "errorMsg": task["errorMsg"],
                "location": {"host": "indexer.test", "port": 8091, "tlsPort": -1},
            }
            return httpx.Response(200, json={"task": task_id, "status": status})
        if what == "shutdown":
            self._after_shutdown(task)
            return httpx.Response(200, json={"task": task_id})
        if what == "reports":
            report = self.reports.get(task_id)
            return httpx.Response(200, json=report) if report else self._missing(task_id)
        if what == "log":
            offset = int(request.url.params["offset"])
            if task_id in self.logs:
                # Druid reads a negative offset as "this many bytes from the end".
                data = self.logs[task_id].encode()
                return httpx.Response(200, content=data[offset:])
            return httpx.Response(200, text=f"log tail, offset={offset}")
        return httpx.Response(404, text="")

    def _after_shutdown(self, task: dict[str, Any]) -> None:
        if task["statusCode"] != "RUNNING" or self.ignore_shutdown:
            return
        task["statusCode"] = "FAILED"
        task["errorMsg"] = "Shutdown request from user"
        # Druid stops the task asynchronously: the next status reads may still say RUNNING.
        running = {"id": task["id"], "statusCode": "RUNNING", "status": "RUNNING", "duration": -1}
        self.inject(
            f"/druid/indexer/v1/task/{task['id']}/status",
            *[
                httpx.Response(200, json={"task": task["id"], "status": running})
                for _ in range(self.running_reads_after_shutdown)
            ],
        )


def sql_rows(header: list[str], *rows: list[Any]) -> httpx.Response:
    """A Druid SQL answer with resultFormat array and header true."""
    return httpx.Response(200, json=[header, *[list(r) for r in rows]])


def as_druid_writes_it(spec: dict[str, Any]) -> dict[str, Any]:
    """The payload Druid 25's GET /druid/indexer/v1/task/{id} answers for a submitted
    index_parallel spec: every default written out (dimension objects in full, the query
    granularity as an object, empty intervals and transforms, the JSON reader's flags, tuning
    defaults), the task's group, resource and datasource, and the Overlord's context keys."""
    payload = copy.deepcopy(spec)
    schema, io = payload["spec"]["dataSchema"], payload["spec"]["ioConfig"]
    schema["timestampSpec"].setdefault("missingValue", None)
    dimensions = schema["dimensionsSpec"]
    written = []
    for listed in dimensions["dimensions"]:
        item = {"type": "string", "name": listed} if isinstance(listed, str) else listed
        kind = item.get("type", "string")
        written.append(
            {
                "type": kind, "name": item["name"], "multiValueHandling": "SORTED_ARRAY",
                "createBitmapIndex": item.get("createBitmapIndex", kind == "string"),
            }
        )
    dimensions.update(dimensions=written, dimensionExclusions=["__time"],
                      includeAllDimensions=False)
    granularity = schema["granularitySpec"]
    granularity["queryGranularity"] = {"type": str(granularity["queryGranularity"]).lower()}
    granularity.setdefault("intervals", [])
    schema.setdefault("transformSpec", {"filter": None, "transforms": []})
    schema["transformSpec"].setdefault("filter", None)
    io["inputSource"].update(prefixes=None, objects=None)
    if io["inputFormat"]["type"] == "json":
        io["inputFormat"].update(
            flattenSpec={"useFieldDiscovery": True, "fields": []}, featureSpec={},
            keepNullColumns=False, assumeNewlineDelimited=False, useJsonNodeReader=False,
        )
    payload["spec"]["tuningConfig"].update(
        maxRowsInMemory=1_000_000, maxBytesInMemory=0, skipBytesInMemoryOverheadCheck=False,
        maxRetry=3, taskStatusCheckPeriodMs=1000, chatHandlerTimeout="PT10S",
        chatHandlerNumRetries=5, maxNumSegmentsToMerge=100, totalNumMergeTasks=10,
        forceGuaranteedRollup=False, reportParseExceptions=False, pushTimeout=0,
        maxColumnsToMerge=-1, numPersistThreadsPerTask=1,
    )
    payload.update(
        groupId=payload["id"], dataSource=schema["dataSource"],
        resource={"availabilityGroup": payload["id"], "requiredCapacity": 1},
    )
    payload["context"].update(forceTimeChunkLock=True, useLineageBasedSegmentAllocation=True)
    return payload
