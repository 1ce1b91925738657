"""Processes the dev stack started (tracked by PID and start time) and their health probes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from layout import LOG_DIR, PG_DIR, PID_DIR, PORTS, StackError, log

# --- processes we started, tracked by PID plus the kernel's start time (guards PID reuse) -------


def _proc_start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime) counted after the parenthesised command name, which may hold spaces.
    return stat.rsplit(")", 1)[1].split()[19]


def _pid_file(name: str) -> Path:
    return PID_DIR / f"{name}.json"


def record_pid(name: str, pid: int) -> None:
    PID_DIR.mkdir(parents=True, exist_ok=True)
    start = _proc_start_time(pid)
    _pid_file(name).write_text(json.dumps({"pid": pid, "start": start}))


def running_pid(name: str) -> int | None:
    path = _pid_file(name)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    pid = int(data["pid"])
    start = _proc_start_time(pid)
    if start is None or start != data.get("start"):
        return None
    with contextlib.suppress(OSError):
        # A zombie still has /proc/PID; its state letter is Z.
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return None
    return pid


def stop_pid(name: str, timeout_s: float = 40.0) -> None:
    pid = running_pid(name)
    if pid is None:
        _pid_file(name).unlink(missing_ok=True)
        return
    log(f"stopping {name} (pid {pid})")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and running_pid(name) is not None:
        time.sleep(0.3)
    if running_pid(name) is not None:
        log(f"{name} ignored SIGTERM for {timeout_s:.0f}s; sending SIGKILL")
        os.kill(pid, signal.SIGKILL)
    _pid_file(name).unlink(missing_ok=True)


def spawn(
    name: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> int:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{name}.log"
    with log_path.open("ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}\n".encode())
        out.flush()
        # A new session detaches the service from our terminal, so it outlives this command.
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    record_pid(name, proc.pid)
    log(f"started {name} (pid {proc.pid}), log {log_path}")
    return proc.pid


def log_tail(name: str, lines: int = 40) -> str:
    path = PG_DIR / "postgres.log" if name == "postgres" else LOG_DIR / f"{name}.log"
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:])


# --- health probes -------------------------------------------------------------------------------


def http_get(url: str, timeout_s: float = 3.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def http_ok(url: str) -> bool:
    return http_get(url)[0] == 200


def druid_health(port: int) -> bool:
    status, body = http_get(f"http://127.0.0.1:{port}/status/health")
    return status == 200 and body.strip() == b"true"


def zookeeper_ok() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", PORTS["zookeeper"]), timeout=2) as conn:
            conn.sendall(b"ruok")
            return conn.recv(16) == b"imok"
    except OSError:
        return False


def coordinator_ready() -> bool:
    port = PORTS["coordinator-overlord"]
    # The Overlord half answers /leader only after it won leadership and started its task queue.
    return druid_health(port) and http_ok(f"http://127.0.0.1:{port}/druid/indexer/v1/leader")


def broker_ready() -> bool:
    return http_ok(f"http://127.0.0.1:{PORTS['broker']}/druid/broker/v1/readiness")


def historical_ready() -> bool:
    return http_ok(f"http://127.0.0.1:{PORTS['historical']}/druid/historical/v1/readiness")


def router_ready() -> bool:
    port = PORTS["router"]
    if not druid_health(port):
        return False
    # Through the router, the Overlord must see the indexer, or submitted tasks would just wait.
    status, body = http_get(f"http://127.0.0.1:{port}/druid/indexer/v1/workers")
    try:
        return status == 200 and len(json.loads(body)) > 0
    except ValueError:
        return False


def moto_ok() -> bool:
    return http_ok(f"http://127.0.0.1:{PORTS['moto']}/moto-api/")


def wait_for(name: str, probe: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if probe():
            return
        if name != "postgres" and _pid_file(name).exists() and running_pid(name) is None:
            raise StackError(f"{name} exited during startup; last log lines:\n{log_tail(name)}")
        time.sleep(1.0)
    raise StackError(
        f"{name} not healthy after {timeout_s:.0f}s; last log lines:\n{log_tail(name)}"
    )
