"""Bad database, S3 and Druid settings: every command says so in one line, with exit code 4.

`ingest-desk` runs as its own process (a traceback is only honest to look for there), against a
real PostgreSQL that asks for a password, with its keyring in a file the test controls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from app.cli import cli
from app.commands.problems import EXIT_CODES_HELP, EXIT_SETUP
from app.pipeline.doctor import CHECKS, Check, run_checks
from app.services.settings import Settings
from app.services.store.tempcluster import TempPostgres, _free_port
from tests.commands.file_keyring import BACKEND, FILE_VARIABLE

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "desk-pw-7"
SAMPLE = REPO / "tests" / "commands" / "test_setup_problems.py"  # any existing file will do
# Commands that open the task database, as a user would type them: each way in (the desk
# session, the schema admin, doctor's probe) for every case; the rest share the session's way
# and run for one case (each process costs seconds on a busy machine).
COMMANDS = (
    ("tasks",),
    ("doctor",),
    ("db", "current"),
    ("ingest", str(SAMPLE), "--datasource", "sales"),
)
MORE_COMMANDS = (("db", "upgrade"), ("show", "0000"), ("cancel", "0000"), ("retry", "0000"))


@pytest.fixture(scope="module")
def pg_with_password() -> Iterator[TempPostgres]:
    """A server that, like a real one, refuses TCP logins without the right password."""
    server = TempPostgres(password=PASSWORD, max_connections=50)
    server.start()
    yield server
    server.cleanup()


def bare(url: str) -> str:
    """The URL as the settings file holds it: the password lives in the keyring."""
    return make_url(url)._replace(password=None).render_as_string(hide_password=False)


@dataclass
class Desk:
    """A user's machine: settings file, data folder and keyring all under tmp_path."""

    home: Path
    keyring: dict[str, str]

    def env(self, **settings: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "INGEST_DESK_"))}
        keyring_file = self.home / "keyring.json"
        # Replaced whole: processes started in parallel read it while the next one starts.
        partial = self.home / f"keyring.{threading.get_ident()}.partial"
        partial.write_text(json.dumps(self.keyring), encoding="utf-8")
        partial.replace(keyring_file)
        env.update(
            XDG_DATA_HOME=str(self.home / "data"),
            XDG_CONFIG_HOME=str(self.home / "config"),
            INGEST_DESK_SETTINGS_FILE=str(self.home / "settings.toml"),
            PYTHON_KEYRING_BACKEND=BACKEND,
            AWS_CONFIG_FILE=str(self.home / "aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(self.home / "aws-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            **{FILE_VARIABLE: str(keyring_file)},
        )
        env.update({f"INGEST_DESK_{name.upper()}": value for name, value in settings.items()})
        return env

    def run(self, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args], cwd=REPO, env=self.env(**settings),
            capture_output=True, text=True, timeout=120, check=False,
        )


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    return Desk(tmp_path, {"ingest-desk/database_password": PASSWORD})


def _bad_urls(server: TempPostgres) -> dict[str, tuple[str, str]]:
    """Case -> (database URL, what the one line must say)."""
    base = bare(server.url)
    return {
        "wrong password": (server.url.replace(PASSWORD, "not-it"),
                           'the server refused the password for user "postgres"'),
        "unknown database": (bare(server.url_for("no_such_db")),
                             'the server has no database "no_such_db"'),
        "refused": (base.replace(f":{server.port}/", f":{_free_port()}/"),
                    "refused the connection"),
        "bad sslmode": (base + "?sslmode=sometimes", 'sslmode "sometimes" is not one'),
        "port not a number": (base.replace(f":{server.port}/", ":notaport/"),
                              "the port 'notaport' is not a number"),
        "mysql scheme": ("mysql://postgres@127.0.0.1/postgres", "mysql:// is not supported"),
        "unknown host": ("postgresql+psycopg://postgres@no-such-host.invalid:5432/postgres",
                         "the host name 'no-such-host.invalid' is not known"),
        "not a URL": ("task database please", "is not a database URL"),
    }


CASES = (
    "wrong password", "unknown database", "refused", "bad sslmode", "port not a number",
    "mysql scheme", "unknown host", "not a URL",
)


@pytest.mark.postgres
@pytest.mark.parametrize("case", CASES)
def test_every_command_says_one_line_for_a_bad_database_url(
    case: str, pg_with_password: TempPostgres, desk: Desk
) -> None:
    url, says = _bad_urls(pg_with_password)[case]
    commands = COMMANDS + (MORE_COMMANDS if case == "wrong password" else ())
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda args: desk.run(*args, database_url=url), commands))
    for args, result in zip(commands, results, strict=True):
        shown = f"{' '.join(args)}: rc={result.returncode}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr + result.stdout, shown
        assert result.returncode == EXIT_SETUP, shown
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("ingest-desk: "), shown
        assert PASSWORD not in result.stderr + result.stdout, shown
        if args == ("doctor",):
            # doctor lists every check on stdout; its one stderr line counts the failures.
            assert "checks failed (database, s3, druid)" in lines[0], shown
            assert says in result.stdout and "hint: " in result.stdout, shown
        else:
            assert says in lines[0] and " Hint: " in lines[0], shown


@pytest.mark.postgres
def test_the_keyring_password_is_used_by_every_command(
    pg_with_password: TempPostgres, desk: Desk
) -> None:
    # Written the way the window's Settings dialog saves it: the URL without its password.
    (desk.home / "settings.toml").write_text(
        f'database_url = "{bare(pg_with_password.url)}"\n', encoding="utf-8"
    )
    upgraded = desk.run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    listed = desk.run("tasks")
    assert listed.returncode == 0 and listed.stderr == "", listed.stderr
    current = desk.run("db", "current")
    assert current.returncode == 0, current.stderr
    database, app = (line.split()[-1] for line in current.stdout.splitlines())
    assert database == app != "empty"
    doctor = desk.run("doctor")
    assert doctor.stdout.startswith("ok   database  PostgreSQL (shared) at "), doctor.stdout
    # Without the stored password the same settings fail, saying what is missing.
    desk.keyring.clear()
    refused = desk.run("tasks")
    assert refused.returncode == EXIT_SETUP
    assert "asks for a password and none is stored" in refused.stderr, refused.stderr


@pytest.mark.postgres
def test_a_machine_without_a_keyring_still_gets_one_line(
    pg_with_password: TempPostgres, desk: Desk
) -> None:
    """No OS keyring at all (keyring's own 'fail' backend): the missing password is the one
    line; the keyring's absence is not a second one."""
    env_backend = "keyring.backends.fail.Keyring"
    (desk.home / "settings.toml").write_text(
        f'database_url = "{bare(pg_with_password.url)}"\n', encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "tasks"], cwd=REPO,
        env={**desk.env(), "PYTHON_KEYRING_BACKEND": env_backend},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == EXIT_SETUP, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "asks for a password and none is stored" in lines[0]


def test_doctor_on_a_fresh_embedded_desk_creates_nothing(desk: Desk) -> None:
    result = desk.run("doctor")
    assert "Traceback" not in result.stderr
    first = result.stdout.splitlines()[0]
    expected = desk.home / "data" / "ingest-desk" / "tasks.sqlite3"
    assert first.startswith(f"ok   database  embedded SQLite at sqlite:///{expected}: not created")
    assert not (desk.home / "data").exists()  # not the file, not even its folder
    # S3 and Druid are not configured yet: those two fail, in one stderr line.
    assert result.returncode == EXIT_SETUP
    assert result.stderr == "ingest-desk: 2 of 3 checks failed (s3, druid). Hint: See the " \
        "FAIL lines above.\n"


def test_urls_without_a_scheme_get_a_hint(desk: Desk) -> None:
    remote = {"s3_bucket": "staging", "s3_endpoint_url": "minio.internal:9000",
              "druid_url": "druid.internal:8888"}
    doctor = desk.run("doctor", **remote)
    assert "Traceback" not in doctor.stderr
    lines = doctor.stdout.splitlines()
    s3 = lines.index("FAIL s3        The S3 endpoint URL 'minio.internal:9000' cannot be used")
    assert lines[s3 + 1].strip().startswith("hint: Add http:// or https:// at the start")
    druid = lines.index("FAIL druid     The Druid URL 'druid.internal:8888' has no http:// or "
                        "https://")
    assert lines[druid + 1].strip().startswith("hint: Add http:// or https:// at the start")
    ingest = desk.run("ingest", str(SAMPLE), "--datasource", "sales", **remote)
    assert ingest.returncode == EXIT_SETUP
    assert ingest.stderr.splitlines() == [
        "ingest-desk: The S3 endpoint URL 'minio.internal:9000' cannot be used. Hint: Add "
        "http:// or https:// at the start of the S3 endpoint URL (e.g. "
        "https://minio.example.com:9000), or leave it empty for AWS S3."
    ]


def test_a_check_that_raises_is_a_failed_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_settings: Settings) -> Check:
        raise KeyError("surprise")

    monkeypatch.setattr("app.pipeline.doctor.CHECKS", (broken, *CHECKS[1:]))
    checks = run_checks(Settings(database_url="sqlite:///:memory:"))
    assert checks[0] == Check("broken", False, "The check itself failed: KeyError: 'surprise'",
                              "Please report this with the command's output.")
    assert [check.name for check in checks[1:]] == ["s3", "druid"]


def test_exit_codes_are_in_the_help() -> None:
    shown = CliRunner().invoke(cli, ["--help"])
    assert shown.exit_code == 0
    assert " ".join(EXIT_CODES_HELP.split()) in " ".join(shown.output.split())


def test_bad_settings_are_one_line(desk: Desk) -> None:
    wrong_type = desk.run("tasks", druid_timeout_s="soon")
    assert wrong_type.returncode == EXIT_SETUP
    assert wrong_type.stderr.splitlines() == [
        "ingest-desk: A setting is not valid (druid_timeout_s: Input should be a valid number, "
        "unable to parse string as a number). Hint: Fix it in "
        f"{desk.home / 'settings.toml'} or in INGEST_DESK_DRUID_TIMEOUT_S."
    ]
    (desk.home / "settings.toml").write_text('database_url = "unterminated\n', encoding="utf-8")
    not_toml = desk.run("doctor")
    assert not_toml.returncode == EXIT_SETUP
    [line] = not_toml.stderr.splitlines()
    assert line.startswith(f"ingest-desk: The settings file {desk.home / 'settings.toml'} is "
                           "not valid TOML (")
