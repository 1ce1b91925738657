"""Pipeline fixtures: moto's S3 server and the fake Druid for steps, the dev stack end to end."""

from __future__ import annotations

# Shared with the storage and Druid suites rather than copied: moto in its own process, the
# in-memory keyring, and the dev stack fixture with its log-tail report hook.
from tests.devstack.conftest import devstack, pytest_runtest_makereport  # noqa: F401
from tests.storage.conftest import bucket, isolated_credentials, moto  # noqa: F401
