"""One window per user: a second launch hands its files to the running one over a local socket."""

from __future__ import annotations

import enum
import getpass
import hashlib
import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QByteArray, QObject, Qt, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

from app.services.settings import data_dir

log = logging.getLogger(__name__)

# Connecting to a live window is immediate; the answer comes from its event loop, which may be
# busy for a moment (a large table filling): wait for it rather than open a second window.
_CONNECT_MS = 2_000
_ANSWER_MS = 15_000
_MAX_MESSAGE = 1 << 20  # a list of paths; anything larger is not from us
_ACK = b"ok\n"


def server_name(folder: Path | None = None) -> str:
    """Per user and per data folder, so test runs (and portable installs) never meet."""
    user = re.sub(r"[^A-Za-z0-9_.-]", "_", getpass.getuser())[:32]
    where = str((folder or data_dir()).resolve())
    digest = hashlib.sha256(where.encode("utf-8")).hexdigest()[:12]
    return f"ingest-desk-{user}-{digest}"


class Handover(enum.Enum):
    DELIVERED = "delivered"  # the running window has the files; this launch exits
    NO_WINDOW = "no_window"  # nothing listens (or a crashed window's stale socket): go on
    NO_ANSWER = "no_answer"  # a window took the connection but did not confirm in time


def hand_over(paths: Sequence[Path], name: str | None = None) -> Handover:
    """Send `paths` (absolute) to the window already running for this user and data folder."""
    socket = QLocalSocket()
    socket.connectToServer(name or server_name())
    if not socket.waitForConnected(_CONNECT_MS):
        return Handover.NO_WINDOW
    message = json.dumps({"paths": [str(Path(p).absolute()) for p in paths]}).encode("utf-8")
    socket.write(QByteArray(message + b"\n"))
    socket.flush()
    answer = b""
    while _ACK not in answer and socket.waitForReadyRead(_ANSWER_MS):
        answer += bytes(socket.readAll().data())
    socket.disconnectFromServer()
    return Handover.DELIVERED if _ACK in answer else Handover.NO_ANSWER


class InstanceServer(QObject):
    """Listens for later launches; each sends one line of JSON and gets `ok` once it is taken."""

    pathsReceived = Signal(list)  # list[Path]; empty: a plain second launch (come to the front)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or server_name()
        self._server = QLocalServer(self)
        # Only this user may connect (the socket file is 0700 on Unix, a user-only ACL on Windows).
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        """Call only after `hand_over` found no window: a socket left by a crash is removed."""
        if self._server.listen(self.name):
            return True
        # Nothing answered on it (hand_over said so), so the name is a dead window's leftover.
        QLocalServer.removeServer(self.name)
        if self._server.listen(self.name):
            return True
        log.warning("cannot listen for later launches on %s: %s", self.name,
                    self._server.errorString())
        return False

    def close(self) -> None:
        self._server.close()

    @Slot()
    def _accept(self) -> None:
        while (socket := self._server.nextPendingConnection()) is not None:
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(lambda s=socket: self._forget(s))

    def _read(self, socket: QLocalSocket) -> None:
        data = self._buffers.get(socket, b"") + bytes(socket.readAll().data())
        if len(data) > _MAX_MESSAGE:
            socket.abort()
            return
        self._buffers[socket] = data
        if b"\n" not in data:
            return  # the rest is on its way
        line = data.split(b"\n", 1)[0]
        try:
            paths = [Path(str(p)) for p in json.loads(line)["paths"]]
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed message from a later launch")
            socket.abort()
            return
        socket.write(QByteArray(_ACK))
        socket.flush()
        socket.disconnectFromServer()
        log.info("a later launch handed over %d file(s)", len(paths))
        self.pathsReceived.emit(paths)

    def _forget(self, socket: QLocalSocket) -> None:
        self._buffers.pop(socket, None)
        socket.deleteLater()


def bring_to_front(window: QWidget) -> None:
    """Un-minimise, raise and ask for the focus (the window manager may only flash it)."""
    window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()
