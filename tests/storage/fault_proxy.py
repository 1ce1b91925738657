"""A loopback HTTP proxy in front of moto that injects S3 faults: errors, resets, bit flips."""

from __future__ import annotations

import http.client
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import parse_qs, urlsplit

FaultKind = Literal["status", "reset", "corrupt"]
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "expect"}


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    fault: str | None

    @property
    def part_number(self) -> int | None:
        values = self.query.get("partNumber")
        return int(values[0]) if values else None

    @property
    def is_upload_part(self) -> bool:
        return self.method == "PUT" and self.part_number is not None


@dataclass
class Fault:
    """Answer matching requests with a fault, `times` times (None: forever)."""

    kind: FaultKind
    match: Callable[[SeenRequest], bool]
    times: int | None = 1
    status: int = 500
    code: str = "InternalError"
    message: str = "injected fault"
    hits: int = field(default=0)


def upload_part(number: int | None = None) -> Callable[[SeenRequest], bool]:
    return lambda r: r.is_upload_part and (number is None or r.part_number == number)


def any_request(_: SeenRequest) -> bool:
    return True


class FaultProxy:
    """Forwards to `upstream` (host, port) unless a registered fault matches first."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.seen: list[SeenRequest] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive and 100-continue, as botocore expects

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                proxy._serve(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.seen.clear()

    def parts_sent(self) -> list[int]:
        return [r.part_number for r in self.seen if r.is_upload_part and r.part_number]

    def _pick(self, request: SeenRequest) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if (fault.times is None or fault.hits < fault.times) and fault.match(request):
                    fault.hits += 1
                    return fault
        return None

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        probe = SeenRequest(
            handler.command, url.path, parse_qs(url.query, keep_blank_values=True), None
        )
        fault = self._pick(probe)
        with self._lock:
            self.seen.append(
                SeenRequest(probe.method, probe.path, probe.query, fault.kind if fault else None)
            )
        length = int(handler.headers.get("Content-Length") or 0)
        if fault is not None and fault.kind == "reset":
            # Take some of the body, then drop the connection with an RST (SO_LINGER 0).
            handler.rfile.read(min(length, 64 * 1024))
            handler.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            handler.connection.close()
            handler.close_connection = True
            return
        body = handler.rfile.read(length) if length else b""
        if fault is not None and fault.kind == "status":
            payload = (
                f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{fault.code}</Code>'
                f"<Message>{fault.message}</Message><RequestId>fault</RequestId></Error>"
            ).encode()
            handler.send_response(fault.status)
            handler.send_header("Content-Type", "application/xml")
            handler.send_header(
                "Content-Length", str(len(payload) if handler.command != "HEAD" else 0)
            )
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(payload)
            return
        if fault is not None and fault.kind == "corrupt" and body:
            middle = len(body) // 2
            body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]
        self._forward(handler, body)

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        upstream = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
            upstream.request(handler.command, handler.path, body=body, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
            handler.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP | {"content-length", "server", "date"}:
                    handler.send_header(name, value)
            content_length = response.getheader("Content-Length")
            if handler.command == "HEAD":
                handler.send_header("Content-Length", content_length or "0")
            else:
                handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(payload)
        finally:
            upstream.close()
