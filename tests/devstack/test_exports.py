"""scripts/devstack exports every setting the app needs, under Settings' own names."""

from __future__ import annotations

import subprocess
import sys

from app.services.settings import ENV_PREFIX, Settings

from .stack import REPO, parse_exports


def _exports() -> dict[str, str]:
    # `env` only prints; it starts nothing, so this runs in every test session.
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "devstack.d" / "devstack.py"), "env"],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_exports(result.stdout)


def test_exports_cover_the_service_settings() -> None:
    env = _exports()
    for field in ("database_url", "s3_endpoint_url", "s3_bucket", "s3_prefix", "druid_url"):
        assert env.get(f"{ENV_PREFIX}{field.upper()}"), field
    unknown = [
        key
        for key in env
        if key.startswith(ENV_PREFIX)
        and key.removeprefix(ENV_PREFIX).lower() not in Settings.model_fields
    ]
    assert not unknown
    assert env["AWS_REGION"] and env["AWS_ACCESS_KEY_ID"]


def test_parse_exports_undoes_shell_quoting() -> None:
    text = "devstack: noise\nexport A='x y'\nexport B=plain\n"
    assert parse_exports(text) == {"A": "x y", "B": "plain"}
