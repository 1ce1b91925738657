"""The Settings dialog: fields, TOML without secrets, keyring, and Test against real endpoints."""

from __future__ import annotations

import socket
import tomllib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from pytestqt.qtbot import QtBot

from app.pipeline.connections import ConnectionCheck, Outcome
from app.services.settings import Settings, settings_file
from app.services.storage import S3Config, make_client
from app.services.store import TaskStore
from app.ui.connection_section import ConnectionSection
from app.ui.main_window import MainWindow
from app.ui.settings_dialog import SettingsDialog
from app.ui.settings_save import SavedSettings
from app.ui.workers import WorkerPool
from tests.storage.conftest import MotoServer
from tests.support.credentials import (
    MemoryKeyring,
    memory_keyring_installed,
    without_aws_credentials,
)

TEST_TIMEOUT_MS = 20_000
Screenshot = Callable[[QWidget, str], Path]


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[MemoryKeyring]:
    """Never the OS keyring, ~/.aws or the developer's AWS variables."""
    without_aws_credentials(monkeypatch, tmp_path)
    with memory_keyring_installed() as backend:
        yield backend


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[MotoServer]:
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def bucket(moto_s3: MotoServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    name = f"settings-{uuid.uuid4().hex[:10]}"
    config = S3Config(bucket=name, endpoint_url=moto_s3.endpoint, path_style=True,
                      region="us-east-1", credentials="chain")
    make_client(config).create_bucket(Bucket=name)
    return name


@pytest.fixture
def open_dialog(qtbot: QtBot) -> Callable[[Settings], SettingsDialog]:
    def make(settings: Settings) -> SettingsDialog:
        dialog = SettingsDialog(settings, WorkerPool())
        qtbot.addWidget(dialog)
        with qtbot.waitSignal(dialog.secretsLoaded, timeout=TEST_TIMEOUT_MS):
            dialog.show()
        settle(qtbot)
        return dialog

    return make


def settle(qtbot: QtBot) -> None:
    """A worker's result arrives a moment before its pool thread returns; wait for that too."""
    pool = QThreadPool.globalInstance()
    qtbot.waitUntil(lambda: pool.activeThreadCount() == 0, timeout=TEST_TIMEOUT_MS)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_test(qtbot: QtBot, section: ConnectionSection) -> ConnectionCheck:
    with qtbot.waitSignal(section.testFinished, timeout=TEST_TIMEOUT_MS) as blocker:
        section.test_button.click()
    settle(qtbot)
    check = blocker.args[0]
    assert isinstance(check, ConnectionCheck)
    assert section.result.text() and section.test_button.isEnabled()
    return check


def test_fields_load_from_settings_and_the_keyring(
    open_dialog: Callable[[Settings], SettingsDialog], memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.set_password("ingest-desk", "druid_password", "stored-pw")
    dialog = open_dialog(Settings(
        database_url="postgresql+psycopg://ann@db.example.com/tasks",
        s3_bucket="staging", s3_prefix="team-a", s3_path_style=True, s3_sse="AES256",
        druid_url="https://druid.example.com", druid_username="ann", druid_verify_tls=False,
    ))
    assert dialog.database_url.text() == "postgresql+psycopg://ann@db.example.com/tasks"
    assert (dialog.s3_bucket.text(), dialog.s3_prefix.text()) == ("staging", "team-a")
    assert dialog.s3_path_style.isChecked() and dialog.s3_sse.currentData() == "AES256"
    assert not dialog.s3_kms_key.isEnabled()  # only meaningful for SSE-KMS
    assert dialog.druid_username.text() == "ann" and not dialog.druid_verify_tls.isChecked()
    # A stored secret is announced, never loaded into the widget.
    assert dialog.druid_password.text() == ""
    assert "Stored in the OS keyring" in dialog.druid_password.placeholderText()
    assert dialog.s3_secret_key.placeholderText() == "Not stored"
    for widget in (dialog.database_url, dialog.s3_bucket, dialog.druid_password,
                   dialog.s3.test_button, dialog.s3_sse):
        assert widget.accessibleName() and widget.toolTip()


def test_save_writes_toml_without_secrets_and_the_keyring_gets_them(
    qtbot: QtBot, open_dialog: Callable[[Settings], SettingsDialog],
    memory_keyring: MemoryKeyring, caplog: pytest.LogCaptureFixture,
) -> None:
    dialog = open_dialog(Settings())
    # A password pasted into the URL must be moved to the keyring.
    dialog.database_url.setText("postgresql+psycopg://ann:db-secret@db.example.com:5432/tasks")
    assert dialog.database_note.isVisible()
    dialog.s3_bucket.setText("staging")
    dialog.s3_endpoint.setText("http://127.0.0.1:9000")
    dialog.s3_path_style.setChecked(True)
    qtbot.keyClicks(dialog.s3_access_key, "AKIDEXAMPLE")
    qtbot.keyClicks(dialog.s3_secret_key, "s3-secret")
    dialog.druid_url.setText("http://127.0.0.1:8888")
    dialog.druid_username.setText("admin")
    qtbot.keyClicks(dialog.druid_password, "druid-secret")
    with qtbot.waitSignal(dialog.saved, timeout=TEST_TIMEOUT_MS) as blocker:
        dialog.save_button.click()
    settle(qtbot)
    saved = blocker.args[0]
    assert isinstance(saved, SavedSettings)
    assert saved.database_changed and saved.s3_changed and saved.druid_changed
    assert dialog.result() == QDialog.DialogCode.Accepted

    text = settings_file().read_text()
    assert tomllib.loads(text) == {
        "database_url": "postgresql+psycopg://ann@db.example.com:5432/tasks",
        "s3_bucket": "staging",
        "s3_endpoint_url": "http://127.0.0.1:9000",
        "s3_path_style": True,
        "druid_url": "http://127.0.0.1:8888",
        "druid_username": "admin",
    }
    assert memory_keyring.secrets == {
        ("ingest-desk", "database_password"): "db-secret",
        ("ingest-desk", "s3_access_key_id"): "AKIDEXAMPLE",
        ("ingest-desk", "s3_secret_access_key"): "s3-secret",
        ("ingest-desk", "druid_password"): "druid-secret",
    }
    for secret in ("db-secret", "AKIDEXAMPLE", "s3-secret", "druid-secret"):
        assert secret not in text and secret not in caplog.text
    assert dialog.druid_password.text() == ""  # no copy left in the widget
    assert Settings().druid_username == "admin"  # the app's loader reads the file back


def test_forget_a_secret_and_leave_environment_values_alone(
    qtbot: QtBot, open_dialog: Callable[[Settings], SettingsDialog],
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch,
) -> None:
    memory_keyring.set_password("ingest-desk", "druid_password", "old")
    monkeypatch.setenv("INGEST_DESK_S3_BUCKET", "from-env")
    dialog = open_dialog(Settings())
    assert dialog.s3_bucket.text() == "from-env" and not dialog.s3_bucket.isEnabled()
    assert "INGEST_DESK_S3_BUCKET" in dialog.s3_bucket.toolTip()
    forget = next(a for a in dialog.druid_password.actions() if a.isVisible())
    forget.trigger()
    assert "Removed from the keyring" in dialog.druid_password.placeholderText()
    dialog.druid_url.setText("https://druid.example.com")
    with qtbot.waitSignal(dialog.saved, timeout=TEST_TIMEOUT_MS):
        dialog.save_button.click()
    settle(qtbot)
    assert memory_keyring.secrets == {}
    assert tomllib.loads(settings_file().read_text()) == {"druid_url": "https://druid.example.com"}


def test_a_bad_url_is_refused_in_its_section(
    open_dialog: Callable[[Settings], SettingsDialog],
) -> None:
    dialog = open_dialog(Settings())
    dialog.druid_url.setText("druid.example.com:8888")
    dialog.save_button.click()
    assert dialog.isVisible() and not settings_file().exists()
    assert "must start with http://" in dialog.druid.result.text()


def test_database_test_on_an_embedded_store(
    qtbot: QtBot, open_dialog: Callable[[Settings], SettingsDialog], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'store' / 'tasks.sqlite3'}"
    dialog = open_dialog(Settings())
    dialog.database_url.setText(url)
    fresh = run_test(qtbot, dialog.database)
    assert fresh.outcome is Outcome.OK
    assert fresh.message.startswith("Ready: embedded SQLite 3.")
    TaskStore.open(url).close()  # the app's own first start creates the schema
    current = run_test(qtbot, dialog.database)
    assert current.outcome is Outcome.OK
    assert current.message.startswith("Connected: SQLite 3.")
    assert current.message.endswith("schema up to date")


def test_database_test_names_a_refused_connection(
    qtbot: QtBot, open_dialog: Callable[[Settings], SettingsDialog]
) -> None:
    port = closed_port()
    dialog = open_dialog(Settings())
    dialog.database_url.setText(f"postgresql+psycopg://ann@127.0.0.1:{port}/tasks")
    qtbot.keyClicks(dialog.database_password, "typed-secret")
    check = run_test(qtbot, dialog.database)
    assert check.outcome is Outcome.FAILED
    assert check.message.startswith(f"Cannot connect to postgresql+psycopg://ann@127.0.0.1:{port}")
    assert "refused" in check.message.lower() and "typed-secret" not in check.message


def test_s3_test_against_moto(
    qtbot: QtBot, open_dialog: Callable[[Settings], SettingsDialog],
    moto_s3: MotoServer, bucket: str, screenshot: Screenshot, tmp_path: Path,
) -> None:
    dialog = open_dialog(Settings(
        database_url=f"sqlite:///{tmp_path / 'tasks.sqlite3'}",
        s3_endpoint_url=moto_s3.endpoint, s3_region="us-east-1", s3_path_style=True,
        druid_url=f"http://127.0.0.1:{closed_port()}",
    ))
    dialog.s3_bucket.setText("no-such-bucket")
    missing = run_test(qtbot, dialog.s3)
    assert missing.message == f"S3: bucket 'no-such-bucket' not found at {moto_s3.endpoint}"

    dialog.s3_bucket.setText(bucket)
    qtbot.keyClicks(dialog.s3_access_key, "typed-key")  # tried before it is saved
    qtbot.keyClicks(dialog.s3_secret_key, "typed-secret")
    found = run_test(qtbot, dialog.s3)
    assert found.outcome is Outcome.OK
    assert found.message == (
        f"S3: bucket '{bucket}' is open at {moto_s3.endpoint}; files go under ingest-desk/"
    )
    assert "✓" in dialog.s3.result.text()

    run_test(qtbot, dialog.database)
    run_test(qtbot, dialog.druid)
    dialog.layout().activate()  # lay the verdicts out now, for their heights
    dialog.resize(760, dialog.layout().totalHeightForWidth(760))
    screenshot(dialog, "04-settings")


def test_druid_test_on_a_closed_port_says_so(
    qtbot: QtBot, open_dialog: Callable[[Settings], SettingsDialog]
) -> None:
    port = closed_port()
    dialog = open_dialog(Settings(druid_url=f"http://127.0.0.1:{port}"))
    check = run_test(qtbot, dialog.druid)
    assert check.outcome is Outcome.FAILED
    assert check.message == (
        f"Cannot reach Druid at http://127.0.0.1:{port}: could not connect: "
        "[Errno 111] Connection refused"
    )
    assert "✗" in dialog.druid.result.text()


def test_enter_tests_the_section_being_edited(
    qtbot: QtBot, open_dialog: Callable[[Settings], SettingsDialog]
) -> None:
    dialog = open_dialog(Settings(druid_url=f"http://127.0.0.1:{closed_port()}"))
    dialog.activateWindow()
    dialog.druid_url.setFocus()
    qtbot.waitUntil(dialog.druid_url.hasFocus)
    with qtbot.waitSignal(dialog.druid.testFinished, timeout=TEST_TIMEOUT_MS):
        qtbot.keyClick(dialog.druid_url, Qt.Key.Key_Return)
    settle(qtbot)
    assert dialog.isVisible() and not settings_file().exists()  # Enter did not save
    assert dialog.database.result.text() == "" and dialog.s3.result.text() == ""


def test_settings_from_the_window_refresh_the_status_bar(
    qtbot: QtBot, window: MainWindow
) -> None:
    assert window.settings_action.shortcut().toString() == "Ctrl+,"
    window.empty_state.body.linkActivated.emit("settings:")
    dialog = window.findChild(SettingsDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.s3_access_key.placeholderText() == "Not stored")
    settle(qtbot)
    dialog.s3_bucket.setText("staging")
    dialog.druid_url.setText("http://127.0.0.1:8888")
    with qtbot.waitSignal(dialog.saved, timeout=TEST_TIMEOUT_MS):
        dialog.save_button.click()
    settle(qtbot)
    assert window.status.s3.text() == "S3: configured (after restart)"
    assert window.status.druid.text() == "Druid: configured (after restart)"
    assert "Restart Ingest Desk" in window.banner.text()
    assert window.controller.settings.s3_bucket == "staging"


def test_window_layout_is_remembered(
    qtbot: QtBot, window: MainWindow, settings: Settings, database_url: str
) -> None:
    from app.ui.app import build_window

    window.table.setColumnWidth(0, 333)
    window.close()
    again = build_window(settings, database_url=database_url)
    qtbot.addWidget(again)
    assert again.table.columnWidth(0) == 333


# -- no keyring, URLs without a scheme, the keyboard ----------------------------------------------


def test_without_a_keyring_nothing_is_saved_until_the_user_keeps_secrets_in_memory(
    qtbot: QtBot, open_dialog: Callable[[Settings], SettingsDialog], screenshot: Screenshot
) -> None:
    import keyring
    from keyring.backends import fail

    from app.services.secrets import Secret, get_secret

    keyring.set_keyring(fail.Keyring())  # restored by the memory_keyring fixture
    dialog = open_dialog(Settings())
    assert dialog.keyring_note.isVisible() and "no OS keyring" in dialog.keyring_note.text()
    dialog.database_url.setText("postgresql+psycopg://ann@db.example.com/tasks")
    qtbot.keyClicks(dialog.database_password, "db-secret")
    dialog.druid_url.setText("http://127.0.0.1:8888")
    dialog.save_button.click()
    qtbot.waitUntil(dialog.offer.isVisible, timeout=TEST_TIMEOUT_MS)
    settle(qtbot)
    assert dialog.isVisible() and not settings_file().exists()  # all or nothing
    assert "no OS keyring" in dialog.problem.text()
    assert "The settings were not changed" in dialog.problem.text()
    assert "No recommended backend" not in dialog.problem.text()
    assert "the database password" in dialog.offer.question.text()
    assert "enter it again" in dialog.offer.question.text()
    screenshot(dialog, "settings-no-keyring")

    with qtbot.waitSignal(dialog.saved, timeout=TEST_TIMEOUT_MS) as blocker:
        dialog.offer.keep_button.click()
    settle(qtbot)
    saved = blocker.args[0]
    assert isinstance(saved, SavedSettings)
    assert saved.held_in_memory == {Secret.DATABASE_PASSWORD}
    text = settings_file().read_text()
    assert tomllib.loads(text) == {
        "database_url": "postgresql+psycopg://ann@db.example.com/tasks",
        "druid_url": "http://127.0.0.1:8888",
    }
    assert "db-secret" not in text
    assert get_secret(Secret.DATABASE_PASSWORD) == "db-secret"  # this run uses it

    again = open_dialog(Settings())
    assert "Kept in memory until Ingest Desk closes" in again.database_password.placeholderText()


@pytest.mark.parametrize("field", ["druid", "s3"])
def test_a_url_without_a_scheme_gets_a_hint_before_test_or_save(
    qtbot: QtBot, open_dialog: Callable[[Settings], SettingsDialog], field: str
) -> None:
    dialog = open_dialog(Settings())
    edit, hint, section = (
        (dialog.druid_url, dialog.druid_url_hint, dialog.druid)
        if field == "druid"
        else (dialog.s3_endpoint, dialog.s3_endpoint_hint, dialog.s3)
    )
    dialog.activateWindow()
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus)
    qtbot.keyClicks(edit, "localhost:8888")
    assert not hint.isVisible()  # not while typing
    qtbot.keyClick(edit, Qt.Key.Key_Tab)  # leaving the field
    assert hint.isVisible()
    assert hint.text().endswith(
        "dd http:// or https:// at the start, for example http://localhost:8888"
    )
    assert hint.text().startswith("Add" if field == "druid" else "Endpoint: add")

    section.test_button.click()  # nothing to reach without a scheme: no probe runs
    assert section.test_button.isEnabled() and section.last_check is None
    assert "needs http:// or https://" in section.result.text()
    dialog.save_button.click()
    assert dialog.isVisible() and not settings_file().exists()
    assert "(for example http://localhost:8888)" in section.result.text()

    edit.setText("ftp://localhost:8888")
    assert "ftp:// is not supported" in hint.text()
    edit.setText("http://localhost:8888")
    assert not hint.isVisible()  # fixed: the hint goes at once


def test_settings_opens_on_its_first_field_and_each_test_follows_its_fields(
    qtbot: QtBot, open_dialog: Callable[[Settings], SettingsDialog]
) -> None:
    dialog = open_dialog(Settings())
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.database_url)

    order = [QApplication.focusWidget()]
    for _ in range(20):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget())
    expected = [
        dialog.database_url, dialog.database_password, dialog.database.test_button,
        dialog.s3_bucket, dialog.s3_prefix, dialog.s3_endpoint, dialog.s3_region,
        dialog.s3_profile, dialog.s3_path_style, dialog.s3_sse,  # KMS key: off without SSE-KMS
        dialog.s3_access_key, dialog.s3_secret_key, dialog.s3.test_button,
        dialog.druid_url, dialog.druid_username, dialog.druid_password,
        dialog.druid_verify_tls, dialog.druid.test_button, dialog.desktop.theme,
    ]
    assert order[: len(expected)] == expected
    dialog.druid.test_button.setFocus()
    qtbot.keyClick(dialog.druid.test_button, Qt.Key.Key_Backtab)
    assert QApplication.focusWidget() is dialog.druid_verify_tls


def test_settings_with_a_field_set_by_the_environment_opens_on_the_next_one(
    qtbot: QtBot, open_dialog: Callable[[Settings], SettingsDialog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INGEST_DESK_DATABASE_URL", "postgresql+psycopg://ann@db/tasks")
    dialog = open_dialog(Settings())
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.database_password)


def test_secrets_kept_in_memory_are_named_in_the_window(qtbot: QtBot, window: MainWindow) -> None:
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())  # restored by the memory_keyring fixture
    dialog = window.open_settings()
    qtbot.waitUntil(dialog.keyring_note.isVisible, timeout=TEST_TIMEOUT_MS)
    settle(qtbot)
    dialog.druid_url.setText("http://127.0.0.1:8888")
    dialog.druid_username.setText("admin")
    qtbot.keyClicks(dialog.druid_password, "druid-secret")
    dialog.save_button.click()
    qtbot.waitUntil(dialog.offer.isVisible, timeout=TEST_TIMEOUT_MS)
    settle(qtbot)
    with qtbot.waitSignal(dialog.saved, timeout=TEST_TIMEOUT_MS):
        dialog.offer.keep_button.click()
    settle(qtbot)
    assert "Restart Ingest Desk" in window.banner.text()
    assert (
        "The Druid password is kept in memory only until Ingest Desk closes (no OS keyring "
        "here): enter it again in Settings after the next start."
    ) in window.banner.text()
    assert window.controller.settings.druid_username == "admin"
