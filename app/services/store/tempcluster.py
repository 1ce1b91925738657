"""A throwaway PostgreSQL cluster (initdb/pg_ctl in a temp dir) for tests, benchmarks and demos."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import URL

_SEARCH_GLOB = "/usr/lib/postgresql/*/bin"


class PostgresBinariesNotFound(RuntimeError):
    """pg_ctl and initdb are neither on PATH nor in the Debian/Ubuntu server package folder."""


def find_pg_bin_dir() -> Path:
    """Prefer PATH (a developer's choice), then the newest Debian/Ubuntu server package."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    candidates = sorted(
        (Path(d) for d in glob.glob(_SEARCH_GLOB) if (Path(d) / "pg_ctl").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise PostgresBinariesNotFound(
            "PostgreSQL server binaries not found: install the 'postgresql' package "
            "(scripts/bootstrap.sh test does this) or put pg_ctl on PATH"
        )
    return candidates[-1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class TempPostgres:
    """Start, stop and restart a private cluster on a free loopback port: trust authentication,
    or with `password` a SCRAM password for "postgres" over TCP (what real servers ask)."""

    def __init__(
        self, *, max_connections: int = 300, run_as: str | None = None,
        password: str | None = None,
    ) -> None:
        self.bin_dir = find_pg_bin_dir()
        self.password = password
        self.port = _free_port()
        self.max_connections = max_connections
        # initdb refuses to run as root, so a root caller (containers, CI) hands the cluster to
        # the unprivileged "postgres" account the server package creates.
        self._user = run_as or ("postgres" if os.geteuid() == 0 else None)
        self.base_dir = Path(tempfile.mkdtemp(prefix="ingest-desk-pg-"))
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "server.log"
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(self.base_dir, entry.pw_uid, entry.pw_gid)
        self._initialised = False

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return URL.create(
            "postgresql+psycopg",
            username="postgres",
            password=self.password,
            host="127.0.0.1",
            port=self.port,
            database=database,
        ).render_as_string(hide_password=False)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            user=self._user,
            cwd=self.base_dir,
            env={**os.environ, "PGPASSWORD": self.password} if self.password else None,
            check=check,
            capture_output=True,
            text=True,
        )

    def start(self) -> None:
        if not self._initialised:
            auth = ["-A", "trust"]
            if self.password:
                pwfile = self.base_dir / "pwfile"
                pwfile.write_text(self.password + "\n", encoding="utf-8")
                if self._user is not None:
                    entry = pwd.getpwnam(self._user)
                    os.chown(pwfile, entry.pw_uid, entry.pw_gid)
                auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
            self._run(
                "initdb", "-D", str(self.data_dir), "-U", "postgres", *auth,
                "-E", "UTF8", "--no-locale", "--no-sync",
            )
            self._initialised = True
        # fsync and full-page writes buy crash safety a throwaway cluster does not need.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.base_dir} "
            f"-c max_connections={self.max_connections} "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
            "-o", options, "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop", check=False)

    def create_database(self, name: str) -> str:
        self._run(
            "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name
        )
        return self.url_for(name)

    def cleanup(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> TempPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
