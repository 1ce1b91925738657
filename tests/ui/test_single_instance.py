"""One desk per user: a second `ingest-desk FILE` hands its file to the running window and exits."""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, Qt
from PySide6.QtNetwork import QLocalSocket
from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow
from app.ui.single_instance import InstanceServer, bring_to_front, server_name

from .ui_helpers import SAMPLES

HOST = Path(__file__).with_name("instance_host.py")
ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 90.0


def _env(home: Path) -> dict[str, str]:
    """This test's own settings, data and logs (and so its own server name)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_DESK_")}
    env.update(
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        INGEST_DESK_SETTINGS_FILE=str(home / "settings.toml"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
    )
    return env


class Lines:
    """A process's output, line by line, read on a thread so the test can wait with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert process.stdout is not None
        stdout = process.stdout
        threading.Thread(target=lambda: [self._queue.put(line) for line in stdout],
                         daemon=True).start()

    def wait_for(self, prefix: str, deadline: float) -> str:
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left).rstrip("\n")
            except queue.Empty:
                break
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no line starting {prefix!r}; the desk printed: {self.seen}")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def _stale_socket(name: str) -> Path:
    """What a crashed desk leaves behind: the socket file, with nobody listening on it."""
    path = Path(tempfile.gettempdir()) / name
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(path))
    leftover.close()
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="the stale socket is a Unix socket file")
def test_a_second_launch_hands_its_file_to_the_running_desk(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(home)
    monkeypatch.setenv("XDG_DATA_HOME", env["XDG_DATA_HOME"])
    name = server_name()
    stale = _stale_socket(name)  # a crash's leftover must not stop the next desk listening
    assert stale.exists()

    process = subprocess.Popen(
        [sys.executable, str(HOST)], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        lines = Lines(process)
        deadline = time.monotonic() + DEADLINE_S
        assert lines.wait_for("LISTENING ", deadline) == f"LISTENING {name}"

        sample = tmp_path / "handed" / "sales_clean.csv"
        sample.parent.mkdir()
        shutil.copy(SAMPLES / "sales_clean.csv", sample)
        entry = Path(sys.executable).with_name("ingest-desk")
        second = subprocess.run(
            [str(entry), str(sample)], env=env, cwd=tmp_path, capture_output=True, text=True,
            timeout=DEADLINE_S, check=False,
        )
        assert second.returncode == 0, second.stderr
        assert lines.wait_for("HANDED ", deadline) == f"HANDED {sample}"
        assert lines.wait_for("TASK ", deadline) == "TASK sales_clean.csv ready"
        assert process.wait(timeout=DEADLINE_S) == 0  # the desk closed itself when done
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_the_listener_takes_a_message_in_pieces_and_ignores_garbage(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    server = InstanceServer(f"ingest-desk-test-{os.getpid()}-{id(tmp_path)}")
    assert server.listen()
    received: list[list[Path]] = []
    server.pathsReceived.connect(received.append)
    try:
        garbage = QLocalSocket()
        garbage.connectToServer(server.name)
        qtbot.waitUntil(lambda: garbage.state() == QLocalSocket.LocalSocketState.ConnectedState)
        garbage.write(QByteArray(b"not json\n"))
        qtbot.waitUntil(
            lambda: garbage.state() == QLocalSocket.LocalSocketState.UnconnectedState
        )
        assert received == []  # dropped, and the listener goes on

        client = QLocalSocket()
        client.connectToServer(server.name)
        qtbot.waitUntil(lambda: client.state() == QLocalSocket.LocalSocketState.ConnectedState)
        message = json.dumps({"paths": [str(tmp_path / "a.csv")]}).encode()
        client.write(QByteArray(message[:5]))  # a message may arrive in pieces
        client.flush()
        qtbot.waitUntil(lambda: client.bytesToWrite() == 0)
        client.write(QByteArray(message[5:] + b"\n"))
        qtbot.waitUntil(lambda: received == [[tmp_path / "a.csv"]])
        qtbot.waitUntil(lambda: client.bytesAvailable() > 0 or client.state()
                        == QLocalSocket.LocalSocketState.UnconnectedState)
        assert bytes(client.readAll().data()) == b"ok\n"
    finally:
        server.close()


# The offscreen platform has no window stack to raise a window in; the un-minimise is checked.
@pytest.mark.qt_log_ignore(
    "This plugin does not support raise", "This plugin does not support propagateSizeHints"
)
def test_coming_to_the_front_undoes_a_minimised_window(qtbot: QtBot, window: MainWindow) -> None:
    window.showMinimized()
    qtbot.waitUntil(lambda: bool(window.windowState() & Qt.WindowState.WindowMinimized))
    bring_to_front(window)
    assert not window.windowState() & Qt.WindowState.WindowMinimized
    assert window.isVisible()
