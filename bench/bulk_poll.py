"""Overlord requests per second to follow N Druid tasks: one shared bulk poller vs a poll per task.

Starts a fake Overlord over real HTTP on 127.0.0.1 (a ThreadingHTTPServer in this process,
answering with Druid 25's shapes) that counts the requests it serves. For each N in --tasks,
N followed tasks are watched by N threads (one per task, as the pipeline runs one follow step
per task), each way in turn:

  baseline  each thread reads GET /druid/indexer/v1/task/{id}/status, then waits one interval
            (the follow loop before the poller: DruidClient.task_status per task)
  ours      each thread blocks in DruidPoller.wait_for_change; the poller's one thread sends one
            POST /druid/indexer/v1/taskStatus with every id per interval

Threads start at random phases within the first interval (tasks are submitted at different
times); counting starts after a warm-up of 1.5 intervals and lasts --seconds. Both ways share
one DruidClient (one connection pool), as a desk does. "answers/s" counts statuses handed to the
follow threads, to show both ways keep every task as fresh (about one answer per task per
interval).

    .venv/bin/python bench/bulk_poll.py [--seconds 5] [--interval 1.0] [--tasks 1,50,200]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.domain.druid import DruidTaskStatus
from app.pipeline.druid_poller import DruidPoller
from app.services.druid import DruidClient

TASK_API = "/druid/indexer/v1"
_ONE_STATUS = re.compile(rf"^{TASK_API}/task/([^/]+)/status$")
LOCATION = {"host": "127.0.0.1", "port": 8100, "tlsPort": -1}


class FakeOverlord(ThreadingHTTPServer):
    """Every task is RUNNING; counts requests by kind."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.counts = {"single": 0, "bulk": 0, "other": 0}
        self.bulk_ids = 0

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def count(self, kind: str, ids: int = 0) -> None:
        with self.lock:
            self.counts[kind] += 1
            self.bulk_ids += ids

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)


def running(task_id: str) -> dict[str, Any]:
    # TaskStatus as the Overlord serialises it in the bulk answer.
    return {"id": task_id, "status": "RUNNING", "duration": -1, "errorMsg": None,
            "location": LOCATION}


class _Handler(BaseHTTPRequestHandler):
    server: FakeOverlord
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx and Druid's Jetty use it

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, code: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        match = _ONE_STATUS.match(self.path)
        if match is None:
            self.server.count("other")
            self._answer(404, {"error": "not found"})
            return
        self.server.count("single")
        task_id = unquote(match.group(1))
        # TaskStatusPlus inside {"task", "status"}, as GET /task/{id}/status answers.
        status = {
            "id": task_id, "groupId": task_id, "type": "index_parallel",
            "createdTime": "2026-11-25T10:00:00.000Z",
            "queueInsertionTime": "1970-01-01T00:00:00.000Z",
            "statusCode": "RUNNING", "status": "RUNNING", "runnerStatusCode": "RUNNING",
            "duration": -1, "location": LOCATION, "dataSource": "sales", "errorMsg": None,
        }
        self._answer(200, {"task": task_id, "status": status})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != f"{TASK_API}/taskStatus":
            self.server.count("other")
            self._answer(404, {"error": "not found"})
            return
        wanted = json.loads(body)
        self.server.count("bulk", len(wanted))
        self._answer(200, {task_id: running(task_id) for task_id in wanted})


@dataclass
class Run:
    contender: str
    tasks: int
    seconds: float
    requests: int
    answers: int
    other: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def answers_per_s(self) -> float:
        return self.answers / self.seconds


class Answers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self) -> None:
        with self._lock:
            self.count += 1

    def read(self) -> int:
        with self._lock:
            return self.count


def baseline_follow(
    client: DruidClient, task_id: str, interval: float, stop: threading.Event, answers: Answers
) -> None:
    stop.wait(random.uniform(0, interval))
    while not stop.is_set():
        client.task_status(task_id)
        answers.add()
        stop.wait(interval)


def ours_follow(
    poller: DruidPoller, task_id: str, interval: float, stop: threading.Event, answers: Answers
) -> None:
    stop.wait(random.uniform(0, interval))
    seen: DruidTaskStatus | None = None
    while not stop.is_set():
        status = poller.wait_for_change(
            task_id, seen, timeout_s=10 * interval, cancelled=stop.is_set
        )
        if status is not None:
            seen = status
            answers.add()


def measure(
    server: FakeOverlord,
    contender: str,
    tasks: int,
    interval: float,
    seconds: float,
    follow: Callable[[str, threading.Event, Answers], None],
) -> Run:
    stop = threading.Event()
    answers = Answers()
    threads = [
        threading.Thread(target=follow, args=(f"index_parallel_sales_{n:04d}", stop, answers))
        for n in range(tasks)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.5 * interval)
    before, answered_before, started = server.snapshot(), answers.read(), time.monotonic()
    time.sleep(seconds)
    after, answered_after, ended = server.snapshot(), answers.read(), time.monotonic()
    stop.set()
    for thread in threads:
        thread.join()
    return Run(
        contender,
        tasks,
        ended - started,
        after["single"] + after["bulk"] - before["single"] - before["bulk"],
        answered_after - answered_before,
        after["other"] - before["other"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="counting window per run")
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval, seconds")
    parser.add_argument("--tasks", default="1,50,200", help="comma-separated N to measure")
    args = parser.parse_args()
    sizes = [int(n) for n in args.tasks.split(",")]
    interval = args.interval

    server = FakeOverlord()
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    print(f"fake Overlord at {server.url}; interval {interval:g} s, window {args.seconds:g} s",
          flush=True)

    runs: list[Run] = []
    for tasks in sizes:
        with DruidClient(server.url) as client:
            runs.append(measure(
                server, "baseline", tasks, interval, args.seconds,
                lambda tid, stop, ans, c=client: baseline_follow(c, tid, interval, stop, ans),
            ))
        with DruidClient(server.url) as client:
            poller = DruidPoller(client, interval_s=interval)
            runs.append(measure(
                server, "ours", tasks, interval, args.seconds,
                lambda tid, stop, ans, p=poller: ours_follow(p, tid, interval, stop, ans),
            ))
            poller.close()
        print(f"  N={tasks}: baseline {runs[-2].rps:.2f} req/s, ours {runs[-1].rps:.2f} req/s",
              flush=True)
    server.shutdown()
    server.server_close()

    labels = {
        "baseline": "baseline: GET status per task",
        "ours": "ours: one DruidPoller (bulk)",
    }
    print(f"\n{'tasks':>5}  {'contender':32} {'requests':>9} {'req/s':>8} {'answers/s':>10} "
          f"{'req/answer':>11} {'ours/base':>10}")
    result: list[str] = []
    for base, ours in zip(runs[::2], runs[1::2], strict=True):
        for run in (base, ours):
            ratio = f"{ours.rps / base.rps:10.3f}" if run is ours and base.rps else ""
            per_answer = run.requests / run.answers if run.answers else float("nan")
            print(f"{run.tasks:>5}  {labels[run.contender]:32} {run.requests:>9} "
                  f"{run.rps:>8.2f} {run.answers_per_s:>10.2f} {per_answer:>11.3f} {ratio:>10}")
            if run.other:
                print(f"       ({run.other} unexpected requests)")
        result += [f"n{base.tasks}_baseline_rps={base.rps:.2f}", f"n{ours.tasks}_ours_rps={ours.rps:.2f}"]
    print("RESULT " + " ".join(result))


if __name__ == "__main__":
    main()
