"""Pipeline fixtures: moto's S3 server and the fake Druid for steps, the dev stack end to end."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from app.services.druid import DruidClient
from app.services.store import TaskStore

# Shared with the storage and Druid suites rather than copied: moto in its own process, the
# in-memory keyring, and the dev stack fixture with its log-tail report hook.
from tests.devstack.conftest import devstack, pytest_runtest_makereport  # noqa: F401
from tests.devstack.stack import DevStack
from tests.pipeline.cli_helpers import Cli
from tests.storage.conftest import bucket, isolated_credentials, moto, proxy  # noqa: F401

# -- the command line against the dev stack (the end-to-end suites) ---------------------------


@pytest.fixture(scope="module")
def cli(devstack: DevStack, tmp_path_factory: pytest.TempPathFactory) -> Cli:  # noqa: F811
    return Cli(devstack, tmp_path_factory.mktemp("data-home"))


@pytest.fixture(scope="module")
def store(cli: Cli) -> Iterator[TaskStore]:
    opened = cli.store()
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def druid(devstack: DevStack) -> Iterator[DruidClient]:  # noqa: F811
    with DruidClient(devstack.druid_url, timeout_s=60) as client:
        yield client


@pytest.fixture(scope="module")
def datasource(devstack: DevStack) -> Iterator[Callable[[str], str]]:  # noqa: F811
    """Names for new datasources, dropped from Druid when the module's tests are done."""
    made: list[str] = []

    def make(label: str) -> str:
        made.append(f"e2e_{label}_{uuid.uuid4().hex[:8]}")
        return made[-1]

    yield make
    for name in made:
        devstack.drop_datasource(name)
