"""A keyring backend in a JSON file, so a test can give `ingest-desk` subprocesses a keyring.

Chosen with PYTHON_KEYRING_BACKEND=tests.commands.file_keyring.JsonFileKeyring and the file named
by INGEST_DESK_TEST_KEYRING_FILE (keyring's own chooser, as a user's OS keyring would be)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend

BACKEND = "tests.commands.file_keyring.JsonFileKeyring"
FILE_VARIABLE = "INGEST_DESK_TEST_KEYRING_FILE"


class JsonFileKeyring(KeyringBackend):
    # Below keyring's own "fail" backend: only chosen by name, never by a test process that
    # merely imported this module and asks keyring for its default.
    priority = -1  # type: ignore[assignment]

    @property
    def _file(self) -> Path:
        return Path(os.environ[FILE_VARIABLE])

    def _load(self) -> dict[str, str]:
        if not self._file.exists():
            return {}
        loaded: dict[str, str] = json.loads(self._file.read_text(encoding="utf-8"))
        return loaded

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        stored = self._load()
        stored[f"{service}/{username}"] = password
        self._file.write_text(json.dumps(stored), encoding="utf-8")

    def delete_password(self, service: str, username: str) -> None:
        stored = self._load()
        stored.pop(f"{service}/{username}", None)
        self._file.write_text(json.dumps(stored), encoding="utf-8")
