"""The Settings dialog's Test probes (pipeline/connections.py) against real services: SQLite and
PostgreSQL, moto's S3 over HTTP and the fake Overlord over HTTP; one verdict each, never a raise."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.pipeline.connections import Outcome, probe_database, probe_druid, probe_s3
from app.services.settings import Settings
from app.services.store import TaskStore
from tests.commands.overlord import CountingOverlord, ServedOverlord
from tests.storage.conftest import MotoServer
from tests.store.conftest import pg_server, pg_url  # noqa: F401

# -- task database -----------------------------------------------------------------------------


def test_a_new_embedded_store_is_ready(tmp_path: Path) -> None:
    check = probe_database(Settings(database_url=f"sqlite:///{tmp_path / 'new.sqlite3'}"))
    assert check.outcome is Outcome.OK and check.ok
    assert "created on first use" in check.message


def test_an_upgraded_store_is_up_to_date(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tasks.sqlite3'}"
    TaskStore.open(url).close()
    check = probe_database(Settings(database_url=url))
    assert check.outcome is Outcome.OK
    assert "schema up to date" in check.message


def test_an_empty_shared_database_is_a_warning_with_the_upgrade_hint(pg_url: str) -> None:  # noqa: F811
    check = probe_database(Settings(database_url=pg_url))
    assert check.outcome is Outcome.WARNING and check.ok
    assert "has no task tables yet" in check.message
    assert "ingest-desk db upgrade" in check.hint


def test_a_schema_newer_than_the_app_fails(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite3"
    TaskStore.open(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    check = probe_database(Settings(database_url=f"sqlite:///{path}"))
    assert check.outcome is Outcome.FAILED and not check.ok
    assert "9999_from_the_future" in check.message
    assert "Update Ingest Desk" in check.hint


@pytest.mark.parametrize("url", ["mysql://someone@host/db", "postgresql+psycopg://u@host:notaport/d"])
def test_an_unusable_url_fails_with_the_expected_form(url: str) -> None:
    check = probe_database(Settings(database_url=url))
    assert check.outcome is Outcome.FAILED
    assert check.message.startswith("Not a usable database URL")
    assert "postgresql+psycopg://user@host:5432/database" in check.hint


def test_a_server_that_does_not_answer_fails_with_where() -> None:
    closed = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    check = probe_database(Settings(database_url=closed))
    assert check.outcome is Outcome.FAILED
    assert check.message.startswith("Cannot connect to ")
    assert "127.0.0.1:9" in check.message


# -- S3 ----------------------------------------------------------------------------------------


def s3_settings(moto: MotoServer, bucket: str, **more: object) -> Settings:
    values: dict[str, object] = {
        "s3_bucket": bucket, "s3_endpoint_url": moto.endpoint, "s3_region": "us-east-1",
        "s3_path_style": True,
    }
    values.update(more)
    return Settings(**values)  # type: ignore[arg-type]


def test_s3_open_bucket(moto: MotoServer, bucket: str) -> None:
    check = probe_s3(s3_settings(moto, bucket))
    assert check.outcome is Outcome.OK
    assert f"bucket '{bucket}' is open" in check.message


def test_s3_with_keys_typed_but_not_saved(moto: MotoServer, bucket: str) -> None:
    check = probe_s3(s3_settings(moto, bucket), "typed-key", "typed-secret")
    assert check.outcome is Outcome.OK


def test_s3_without_a_bucket(moto: MotoServer) -> None:
    check = probe_s3(Settings())
    assert check.outcome is Outcome.FAILED
    assert check.message == "S3: no bucket is set."


def test_s3_missing_bucket(moto: MotoServer) -> None:
    check = probe_s3(s3_settings(moto, "no-such-bucket-here"))
    assert check.outcome is Outcome.FAILED
    assert "bucket 'no-such-bucket-here' not found at" in check.message


def test_s3_unreachable_endpoint(moto: MotoServer, bucket: str) -> None:
    settings = s3_settings(moto, bucket, s3_endpoint_url="http://127.0.0.1:9")
    check = probe_s3(settings)
    assert check.outcome is Outcome.FAILED
    assert check.message.startswith("S3: ")


def test_s3_unknown_profile(moto: MotoServer, bucket: str) -> None:
    check = probe_s3(s3_settings(moto, bucket, s3_profile="no-such-profile"))
    assert check.outcome is Outcome.FAILED
    assert "no-such-profile" in check.message


# -- Druid -------------------------------------------------------------------------------------


@pytest.fixture
def overlord() -> Iterator[ServedOverlord]:
    served = ServedOverlord(CountingOverlord()).start()
    yield served
    served.stop()


def test_druid_with_the_s3_extension(overlord: ServedOverlord) -> None:
    check = probe_druid(Settings(druid_url=overlord.url))
    assert check.outcome is Outcome.OK
    assert check.message.startswith("Druid 25.0.0, druid-s3-extensions")


def test_druid_without_a_url() -> None:
    check = probe_druid(Settings())
    assert check.outcome is Outcome.FAILED
    assert check.message == "Druid: no URL is set."


def test_druid_without_the_s3_extension(overlord: ServedOverlord) -> None:
    overlord.fake.modules = []
    check = probe_druid(Settings(druid_url=overlord.url))
    assert check.outcome is Outcome.FAILED
    assert "druid-s3-extensions" in check.message


def test_druid_refusing_the_user(overlord: ServedOverlord) -> None:
    overlord.fake.require_auth = ("admin", "right")
    check = probe_druid(Settings(druid_url=overlord.url, druid_username="admin"), "wrong")
    assert check.outcome is Outcome.FAILED
    assert "refused user 'admin' (HTTP 401)" in check.message
    accepted = probe_druid(Settings(druid_url=overlord.url, druid_username="admin"), "right")
    assert accepted.outcome is Outcome.OK


def test_druid_not_answering() -> None:
    check = probe_druid(Settings(druid_url="http://127.0.0.1:9"))
    assert check.outcome is Outcome.FAILED
    assert check.message.startswith("Cannot reach Druid at http://127.0.0.1:9: ")


def test_druid_answering_with_an_error(overlord: ServedOverlord) -> None:
    overlord.fake.inject("/proxy/overlord/status", httpx.Response(400, text="bad request"))
    check = probe_druid(Settings(druid_url=overlord.url))
    assert check.outcome is Outcome.FAILED
    assert check.message.startswith(f"Druid at {overlord.url}")
