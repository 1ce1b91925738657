"""Keeps the status bar's S3 and Druid labels honest: a quick probe at start and every minute."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.pipeline.connections import ConnectionCheck, Outcome, probe_druid, probe_s3
from app.pipeline.session import SessionInfo
from app.services.settings import Settings
from app.ui.window_parts import WindowParts
from app.ui.workers import WorkerContext, WorkerFailure

# Often enough to notice an expired key or a Druid restart before the next upload needs it, and
# rare enough to cost nothing: each probe is one small request.
HEALTH_INTERVAL_MS = 60_000


class ConnectionHealth(QObject):
    """Probes the session's S3 and Druid (the ones in use, not unsaved Settings) on a worker."""

    checked = Signal(object)  # ConnectionCheck

    def __init__(self, parts: WindowParts, interval_ms: int = HEALTH_INTERVAL_MS) -> None:
        super().__init__(parts.window)
        self._controller = parts.controller
        self._in_flight: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check_now)
        parts.controller.sessionReady.connect(self._session_ready)
        self.checked.connect(parts.status.show_health)

    @Slot(SessionInfo)
    def _session_ready(self, _info: SessionInfo) -> None:
        self.check_now()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @Slot()
    def check_now(self) -> None:
        session = self._controller.session
        if session is None:
            return
        settings: Settings = session.settings
        probes: list[tuple[str, Callable[[], ConnectionCheck]]] = []
        if settings.s3_bucket:
            probes.append(("s3", partial(probe_s3, settings)))
        if settings.druid_url:
            probes.append(("druid", partial(probe_druid, settings)))
        for service, probe in probes:
            if service in self._in_flight:
                continue  # a slow answer is still coming; do not pile up requests
            self._in_flight.add(service)
            self._start(service, probe)

    def _start(self, service: str, probe: Callable[[], ConnectionCheck]) -> None:
        def run(_context: WorkerContext[None]) -> ConnectionCheck:
            return probe()

        def failed(failure: WorkerFailure) -> None:
            self._probe_failed(service, failure)

        self._controller.workers.start(
            f"check the {service} connection", run,
            on_finished=self._answered, on_failed=failed,
        )

    @Slot(object)
    def _answered(self, check: ConnectionCheck) -> None:
        self._in_flight.discard(check.service)
        self.checked.emit(check)

    def _probe_failed(self, service: str, failure: WorkerFailure) -> None:
        self._in_flight.discard(service)
        self.checked.emit(ConnectionCheck(service, Outcome.FAILED, failure.message))


def install_connection_health(parts: WindowParts) -> ConnectionHealth:
    return ConnectionHealth(parts)
