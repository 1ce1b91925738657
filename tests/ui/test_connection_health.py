"""The status bar says whether S3 and Druid answer, not only that they are configured."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.services.settings import Settings
from app.ui.main_window import MainWindow
from tests.storage.conftest import MotoServer, bucket, isolated_credentials, moto  # noqa: F401


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once the socket closes


@pytest.fixture
def settings(
    moto: MotoServer, bucket: str, isolated_credentials: object  # noqa: F811
) -> Iterator[Settings]:
    # A real S3 (moto over HTTP) and a Druid URL where nothing listens.
    yield Settings(
        s3_bucket=bucket, s3_endpoint_url=moto.endpoint, s3_path_style=True,
        s3_region="us-east-1", druid_url=f"http://127.0.0.1:{_closed_port()}",
        druid_timeout_s=2.0,
    )


def test_status_bar_shows_what_answers(qtbot: QtBot, window: MainWindow) -> None:
    status = window.status
    qtbot.waitUntil(lambda: "●" in status.s3.text() and "●" in status.druid.text(),
                    timeout=30_000)
    assert status.s3.text() == "S3: ● reachable"
    assert status.druid.text() == "Druid: ● unreachable"
    assert "Cannot reach Druid" in status.druid.toolTip()
    assert "checked every minute" in status.druid.toolTip()
