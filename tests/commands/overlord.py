"""The fake Overlord (tests/druid/fake.py) over real HTTP: in a thread, or in its own process
(`python -m tests.commands.overlord`) so it outlives a SIGKILLed pipeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.druid.fake import FakeDruid, druid_report, sql_rows

REPO = Path(__file__).resolve().parents[2]
READY = "fake overlord listening on "


@dataclass
class CountingOverlord(FakeDruid):
    """Submitted tasks end as `finish` says (None: they stay RUNNING); the broker counts the
    rows each succeeded task brought; every submission is recorded (GET /fake/submissions)."""

    finish: str | None = "SUCCESS"
    rows: dict[str, int] = field(default_factory=dict)
    # INFORMATION_SCHEMA.COLUMNS per datasource: [name, SQL type] pairs (a schema to drift from).
    columns: dict[str, list[list[str]]] = field(default_factory=dict)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: httpx.Request) -> httpx.Response:
        # The HTTP server answers on several threads; the fake's dicts are not thread-safe.
        with self.lock:
            return super().handle(request)

    def _route(self, request: httpx.Request, path: str) -> httpx.Response:
        if path == "/fake/submissions":
            return httpx.Response(200, json=self.submissions)
        if path == "/fake/tasks":
            return httpx.Response(200, json=self.tasks)
        return super()._route(request, path)

    def _submit(self, spec: dict[str, Any]) -> httpx.Response:
        answer = super()._submit(spec)
        task_id, datasource = spec["id"], spec["spec"]["dataSchema"]["dataSource"]
        intervals = spec["spec"]["dataSchema"]["granularitySpec"].get("intervals", [])
        self.submissions.append({
            "id": task_id, "datasource": datasource, "intervals": intervals,
            "accepted": answer.status_code == 200,
        })
        if answer.status_code != 200 or self.finish is None:
            return answer
        rows = int(spec["context"]["ingestDesk"]["rows"])
        self.tasks[task_id]["statusCode"] = self.finish
        if self.finish == "FAILED":
            self.tasks[task_id]["errorMsg"] = "java.lang.RuntimeException: refused by the fake"
        else:
            self.reports[task_id] = druid_report(task_id, processed=rows, parallel=False)
            self.rows[datasource] = self.rows.get(datasource, 0) + rows
        return answer

    def _sql(self, request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content)["query"]
        if "INFORMATION_SCHEMA.TABLES" in query:
            return sql_rows(["TABLE_NAME"], *[[name] for name in self.rows])
        if "INFORMATION_SCHEMA.COLUMNS" in query:
            asked = json.loads(request.content).get("parameters") or [{}]
            known = self.columns.get(str(asked[0].get("value")), [])
            return sql_rows(["COLUMN_NAME", "DATA_TYPE"], *known)
        for name, count in self.rows.items():
            if f'"{name}"' in query:
                return sql_rows(["n"], [count])
        return super()._sql(request)


def _handler(fake: FakeDruid) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = httpx.Request(
                self.command, f"http://{self.headers.get('Host', 'fake')}{self.path}",
                headers=dict(self.headers.items()), content=body,
            )
            try:
                reply = fake.handle(request)
            except Exception:  # an injected fault: the connection drops, as a dead Overlord's
                self.close_connection = True
                return
            content = reply.content
            self.send_response(reply.status_code)
            self.send_header("Content-Type", reply.headers.get("content-type", "text/plain"))
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: pytest shows the test's own output

    return Handler


class ServedOverlord:
    """A fake Overlord answering on 127.0.0.1 from a thread of this process."""

    def __init__(self, fake: FakeDruid | None = None) -> None:
        self.fake = fake or CountingOverlord()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.fake))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ServedOverlord:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class OverlordProcess:
    """A CountingOverlord in its own process: what it recorded survives a kill of the pipeline."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.commands.overlord"], cwd=REPO, env=env,
            stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # blocks until it listens, or it died
        if not line.startswith(READY):
            self.stop()
            raise RuntimeError(f"the fake Overlord did not start: {line!r}")
        self.url = line.removeprefix(READY).strip()

    def submissions(self, datasource: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/fake/submissions", timeout=10).json()
        return [s for s in answer if s["datasource"] == datasource]

    def status(self, task_id: str) -> str:
        return str(httpx.get(f"{self.url}/fake/tasks", timeout=10).json()[task_id]["statusCode"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def main() -> None:
    served = ServedOverlord()
    print(f"{READY}{served.url}", flush=True)
    served.serve_forever()  # until the test terminates the process


if __name__ == "__main__":
    main()
