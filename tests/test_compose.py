"""docker-compose.dev.yml gives every setting the app needs to reach its services a value."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.services.settings import ENV_PREFIX, Settings

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "docker-compose.dev.yml"

# Settings that name where a service is. Fields with these prefixes and no default are what the app
# cannot reach a service without; the rest have defaults that work against any server.
SERVICE_PREFIXES = ("database_", "s3_", "druid_")
# Service settings a local development stack leaves unset on purpose, with the reason.
NOT_NEEDED_LOCALLY = {
    "s3_profile": "credentials come from AWS_* variables, not a named profile",
    "s3_kms_key_id": "MinIO runs without KMS",
    "druid_username": "the development cluster has no authentication",
}
# Settings with a usable default in production that a local S3 server still needs changed.
ALSO_NEEDED = ("s3_prefix", "s3_path_style")

_DEFAULTED_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::?-(?P<default>[^}]*))?\}")


def _needed_settings() -> list[str]:
    needed = [
        name
        for name, info in Settings.model_fields.items()
        if name.startswith(SERVICE_PREFIXES)
        and info.is_required() is False
        and info.default is None
        and name not in NOT_NEEDED_LOCALLY
    ]
    return sorted({*needed, *ALSO_NEEDED})


def _resolve(value: object) -> str:
    """Compose's ${VAR:-default} as compose would expand it with VAR unset."""
    return _DEFAULTED_VARIABLE.sub(lambda m: m.group("default") or "", str(value))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def app_settings(compose: dict[str, Any]) -> dict[str, str]:
    block = compose["x-ingest-desk-settings"]
    return {key: _resolve(value) for key, value in block.items()}


def test_the_needed_settings_include_the_service_addresses() -> None:
    # Guards the derivation above: if Settings renames a field, this list must notice.
    needed = _needed_settings()
    for name in ("database_url", "s3_endpoint_url", "s3_bucket", "s3_prefix", "druid_url"):
        assert name in needed
    for name in NOT_NEEDED_LOCALLY:
        assert name in Settings.model_fields, f"{name} is no longer a setting"


@pytest.mark.parametrize("field", _needed_settings())
def test_every_needed_setting_has_a_value(app_settings: dict[str, str], field: str) -> None:
    variable = f"{ENV_PREFIX}{field.upper()}"
    assert app_settings.get(variable, "").strip(), f"{variable} has no value in {COMPOSE_FILE.name}"


def test_every_ingest_desk_variable_is_a_real_setting(app_settings: dict[str, str]) -> None:
    names = [key.removeprefix(ENV_PREFIX) for key in app_settings if key.startswith(ENV_PREFIX)]
    unknown = [name for name in names if name.lower() not in Settings.model_fields]
    assert not unknown, f"not Settings fields (renamed or misspelt?): {unknown}"


def test_the_values_load_into_settings(
    app_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Only the compose values may count: no user settings file, no exported dev-stack values.
    for key in [k for k in os.environ if k.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(key)
    monkeypatch.setenv(f"{ENV_PREFIX}SETTINGS_FILE", str(tmp_path / "absent.toml"))
    for key, value in app_settings.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.database_url and settings.database_url.startswith("postgresql+psycopg://")
    assert settings.s3_path_style is True
    assert not settings.embedded


def _published_ports(service: dict[str, Any]) -> set[int]:
    return {int(str(mapping).split(":")[-2]) for mapping in service.get("ports", [])}


def test_the_urls_point_at_published_ports(
    compose: dict[str, Any], app_settings: dict[str, str]
) -> None:
    services = compose["services"]
    expected = {
        "INGEST_DESK_DATABASE_URL": "postgres",
        "INGEST_DESK_S3_ENDPOINT_URL": "minio",
        "INGEST_DESK_DRUID_URL": "router",
    }
    for variable, service in expected.items():
        port = re.search(r"@?localhost:(\d+)", app_settings[variable])
        assert port, f"{variable} does not name a localhost port"
        assert int(port.group(1)) in _published_ports(services[service]), (
            f"{variable} points at port {port.group(1)}, which {service} does not publish"
        )


def test_the_bucket_the_app_uses_is_created(
    compose: dict[str, Any], app_settings: dict[str, str]
) -> None:
    init = compose["services"]["minio-init"]
    assert (
        _resolve(init["environment"]["INGEST_DESK_S3_BUCKET"])
        == app_settings["INGEST_DESK_S3_BUCKET"]
    )
    assert "mc mb" in " ".join(init["entrypoint"])


def test_druid_runs_every_role_from_the_official_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    roles = {
        service["command"][0]: name
        for name, service in services.items()
        if str(service.get("image", "")).startswith("apache/druid:")
    }
    for role in ("coordinator", "broker", "historical", "router"):
        assert role in roles, f"no Druid {role}"
    assert {"middleManager", "indexer"} & roles.keys(), "no Druid worker (middleManager/indexer)"
    coordinator_env = services[roles["coordinator"]]["environment"]
    assert coordinator_env["druid_coordinator_asOverlord_enabled"] == "true"
    router_env = services[roles["router"]]["environment"]
    assert router_env["druid_router_managementProxy_enabled"] == "true"


def test_druid_reads_s3_from_minio(compose: dict[str, Any]) -> None:
    env = compose["services"]["coordinator"]["environment"]
    assert "druid-s3-extensions" in env["druid_extensions_loadList"]
    assert env["druid_generic_useDefaultValueForNull"] == "false"  # SQL NULLs, as Druid 28+
    assert env["druid_s3_endpoint_url"] == "http://minio:9000"
    assert env["druid_s3_enablePathStyleAccess"] == "true"
    assert _resolve(env["druid_s3_accessKey"]) == _resolve(
        compose["services"]["minio"]["environment"]["MINIO_ROOT_USER"]
    )


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any]) -> None:
    missing = [
        name
        for name, service in compose["services"].items()
        if service.get("restart") != "no" and "healthcheck" not in service
    ]
    assert not missing, f"no healthcheck: {missing}"
