"""The data folder and the embedded task database hold report samples with row values: the
folder is this user's only (0700), the SQLite file and its -wal/-shm files too (0600)."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.tasks import TaskState
from app.pipeline.session import ClientRole, DeskSession
from app.services.settings import Settings, data_dir
from app.services.store import TaskStore

pytestmark = pytest.mark.skipif(os.name == "nt", reason="Windows has no POSIX modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask most machines have (022): left to it, new files are 0644, folders 0755."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def fresh_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A user with no settings and no data folder yet: the desk uses the embedded database."""
    for name in list(os.environ):
        if name.startswith("INGEST_DESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("INGEST_DESK_SETTINGS_FILE", str(tmp_path / "settings.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert data_dir() == tmp_path / "data" / "ingest-desk"
    return data_dir()


def database_files(folder: Path) -> dict[str, int]:
    return {p.name: mode(p) for p in folder.iterdir() if p.name.startswith("tasks.sqlite3")}


def test_a_new_desk_makes_its_data_folder_and_database_private(fresh_home: Path) -> None:
    assert not fresh_home.exists()
    session = DeskSession.open(Settings(), role=ClientRole.COMMAND_LINE)
    try:
        assert session.store.url.endswith(str(fresh_home / "tasks.sqlite3"))
        assert mode(fresh_home) == 0o700
        files = database_files(fresh_home)
        # Open in WAL mode: SQLite's -wal and -shm files are there beside the database.
        assert set(files) == {"tasks.sqlite3", "tasks.sqlite3-wal", "tasks.sqlite3-shm"}
        assert files == dict.fromkeys(files, 0o600)
    finally:
        session.close()


def test_a_data_folder_an_older_version_left_open_is_made_private(fresh_home: Path) -> None:
    DeskSession.open(Settings(), role=ClientRole.COMMAND_LINE).close()
    database = fresh_home / "tasks.sqlite3"
    # As an older version left them: the folder 0755, the database files every user can read;
    # another desk keeps the database open, so its -wal and -shm files are there.
    fresh_home.chmod(0o755)
    database.chmod(0o644)
    other = sqlite3.connect(database)
    try:
        other.execute("SELECT count(*) FROM tasks").fetchone()
        for suffix in ("-wal", "-shm"):
            database.with_name(database.name + suffix).chmod(0o644)
        assert set(database_files(fresh_home).values()) == {0o644}
        session = DeskSession.open(Settings(), role=ClientRole.COMMAND_LINE)
        try:
            assert mode(fresh_home) == 0o700
            files = database_files(fresh_home)
            assert len(files) == 3 and files == dict.fromkeys(files, 0o600)
        finally:
            session.close()
    finally:
        other.close()


def test_a_database_placed_in_a_folder_of_the_users_own_leaves_that_folder_as_it_is(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    with TaskStore.open(f"sqlite:///{shared / 'tasks.sqlite3'}") as store:
        assert store.tasks.list_tasks(states={TaskState.QUEUED}) == []
        assert mode(shared) == 0o755  # the user's folder: not ours to close
        files = database_files(shared)
        assert "tasks.sqlite3" in files and files == dict.fromkeys(files, 0o600)
    # Folders the desk makes for the file are private, every one of them.
    deeper = tmp_path / "new" / "deeper"
    with TaskStore.open(f"sqlite:///{deeper / 'tasks.sqlite3'}"):
        assert (mode(tmp_path / "new"), mode(deeper)) == (0o700, 0o700)
        assert mode(deeper / "tasks.sqlite3") == 0o600
