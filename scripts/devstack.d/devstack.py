"""The dev stack: a real single-machine Druid, moto's S3 server and PostgreSQL, without Docker."""

from __future__ import annotations

import argparse
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from distribution import ensure_druid, find_java_home, render
from layout import (
    AWS_ACCESS_KEY_ID,
    AWS_REGION,
    AWS_SECRET_ACCESS_KEY,
    CONF_DIR,
    DRUID_HOME,
    DRUID_ROLES,
    HERE,
    JAVA17_MODULE_FLAGS,
    JVM_MEMORY,
    LOG_DIR,
    PG_DATABASE,
    PG_DIR,
    PG_USER,
    PORTS,
    PROCESSING_BUFFER_BYTES,
    S3_BUCKET,
    S3_PREFIX,
    SEGMENT_CACHE_BYTES,
    VAR_DIR,
    StackError,
    log,
)
from processes import (
    _pid_file,
    broker_ready,
    coordinator_ready,
    druid_health,
    historical_ready,
    log_tail,
    moto_ok,
    record_pid,
    router_ready,
    running_pid,
    spawn,
    stop_pid,
    wait_for,
    zookeeper_ok,
)

# --- configuration -------------------------------------------------------------------------------


def s3_endpoint_url() -> str:
    return f"http://127.0.0.1:{PORTS['moto']}"


def template_values() -> dict[str, str]:
    values = {
        "druid_home": str(DRUID_HOME),
        "var_dir": str(VAR_DIR),
        "zk_port": str(PORTS["zookeeper"]),
        "derby_port": str(PORTS["derby"]),
        "coordinator_port": str(PORTS["coordinator-overlord"]),
        "broker_port": str(PORTS["broker"]),
        "historical_port": str(PORTS["historical"]),
        "indexer_port": str(PORTS["indexer"]),
        "router_port": str(PORTS["router"]),
        "s3_endpoint_url": s3_endpoint_url(),
        "aws_region": AWS_REGION,
        "aws_access_key_id": AWS_ACCESS_KEY_ID,
        "aws_secret_access_key": AWS_SECRET_ACCESS_KEY,
        "processing_buffer_bytes": str(PROCESSING_BUFFER_BYTES),
        "segment_cache_bytes": str(SEGMENT_CACHE_BYTES),
    }
    return values


def render_config() -> None:
    values = template_values()
    for template in sorted((HERE / "druid").rglob("*")):
        if template.is_file():
            render(template, CONF_DIR / "druid" / template.relative_to(HERE / "druid"), values)
    render(HERE / "zookeeper" / "zoo.cfg", CONF_DIR / "zookeeper" / "zoo.cfg", values)
    for sub in ("segments", "task-logs", "zookeeper", "tasks", "segment-cache", "derby", "tmp"):
        (VAR_DIR / sub).mkdir(parents=True, exist_ok=True)


def service_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AWS_ACCESS_KEY_ID": AWS_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": AWS_SECRET_ACCESS_KEY,
            "AWS_REGION": AWS_REGION,
            "AWS_DEFAULT_REGION": AWS_REGION,
            # The AWS SDK otherwise probes the EC2 metadata address for a region and credentials.
            "AWS_EC2_METADATA_DISABLED": "true",
            "TZ": "UTC",
        }
    )
    return env


def jvm_argv(java_home: Path, name: str) -> list[str]:
    heap, direct = JVM_MEMORY[name]
    argv = [
        str(java_home / "bin" / "java"),
        "-server",
        f"-Xms{heap}",
        f"-Xmx{heap}",
        # Serial GC and C1-only JIT: fewer threads and faster startup on two cores; the dev stack's
        # data is small, so peak query speed does not matter.
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-XX:+ExitOnOutOfMemoryError",
        "-Duser.timezone=UTC",
        "-Dfile.encoding=UTF-8",
        f"-Djava.io.tmpdir={VAR_DIR / 'tmp'}",
        "-Djava.util.logging.manager=org.apache.logging.log4j.jul.LogManager",
        f"-Dlog4j.configurationFile={CONF_DIR / 'druid' / '_common' / 'log4j2.xml'}",
        *JAVA17_MODULE_FLAGS,
    ]
    if direct:
        argv.append(f"-XX:MaxDirectMemorySize={direct}")
    return argv


def start_zookeeper(java_home: Path) -> None:
    argv = [
        *jvm_argv(java_home, "zookeeper"),
        "-cp",
        f"{DRUID_HOME / 'lib'}/*",
        "org.apache.zookeeper.server.quorum.QuorumPeerMain",
        str(CONF_DIR / "zookeeper" / "zoo.cfg"),
    ]
    spawn("zookeeper", argv, env=service_env())


def start_druid(java_home: Path, name: str) -> None:
    argv = jvm_argv(java_home, name)
    if name == "coordinator-overlord":
        # Derby keeps its database files under derby.system.home.
        argv.append(f"-Dderby.system.home={VAR_DIR / 'derby'}")
    classpath = (
        f"{CONF_DIR / 'druid' / name}:{CONF_DIR / 'druid' / '_common'}:{DRUID_HOME / 'lib'}/*"
    )
    argv += ["-cp", classpath, "org.apache.druid.cli.Main", "server", DRUID_ROLES[name]]
    spawn(name, argv, env=service_env(), cwd=VAR_DIR)


def start_moto() -> None:
    moto = Path(sys.executable).parent / "moto_server"
    if not moto.exists():
        raise StackError(f"{moto} is missing; run scripts/bootstrap.sh test")
    spawn("moto", [str(moto), "-H", "127.0.0.1", "-p", str(PORTS["moto"])], env=service_env())


def ensure_bucket() -> None:
    request = urllib.request.Request(f"{s3_endpoint_url()}/{S3_BUCKET}", method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=10):
            pass
    except urllib.error.HTTPError as exc:
        if exc.code != 409:  # 409: the bucket is already there
            raise StackError(f"creating bucket {S3_BUCKET} failed: HTTP {exc.code}") from exc


# --- PostgreSQL ----------------------------------------------------------------------------------


def pg_bin(tool: str) -> Path:
    override = os.environ.get("DEVSTACK_PG_BIN")
    dirs = [Path(override)] if override else []
    dirs += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    for directory in dirs:
        if (directory / tool).exists():
            return directory / tool
    found = shutil.which(tool)
    if found:
        return Path(found)
    raise StackError(
        f"PostgreSQL's {tool} not found; scripts/devstack installs the postgresql package"
    )


def postgres_ok() -> bool:
    result = subprocess.run(
        [str(pg_bin("pg_isready")), "-q", "-h", "127.0.0.1", "-p", str(PORTS["postgres"])],
        check=False,
    )
    return result.returncode == 0


def pg_as_owner(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


def pg_data() -> Path:
    return PG_DIR / "data"


def start_postgres() -> None:
    data = pg_data()
    if not (data / "PG_VERSION").exists():
        PG_DIR.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(PG_DIR, owner.pw_uid, owner.pw_gid)
        log(f"initialising PostgreSQL in {data}")
        subprocess.run(
            pg_as_owner(
                [str(pg_bin("initdb")), "-D", str(data), "-U", PG_USER, "-A", "trust", "-E", "UTF8"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    options = f"-p {PORTS['postgres']} -c listen_addresses=127.0.0.1 -k {PG_DIR}"
    status = subprocess.run(
        pg_as_owner([str(pg_bin("pg_ctl")), "-D", str(data), "status"]),
        capture_output=True,
        check=False,
    )
    if status.returncode != 0:
        result = subprocess.run(
            pg_as_owner(
                [
                    str(pg_bin("pg_ctl")),
                    "-D",
                    str(data),
                    "-l",
                    str(PG_DIR / "postgres.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(
                f"pg_ctl start failed:\n{result.stdout}{result.stderr}\n{log_tail('postgres')}"
            )
    postmaster_pid = int((data / "postmaster.pid").read_text().splitlines()[0])
    record_pid("postgres", postmaster_pid)
    log(f"PostgreSQL running (pid {postmaster_pid}), log {PG_DIR / 'postgres.log'}")


def ensure_database() -> None:
    base = ["-h", "127.0.0.1", "-p", str(PORTS["postgres"]), "-U", PG_USER]
    exists = subprocess.run(
        [
            str(pg_bin("psql")),
            *base,
            "-d",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run([str(pg_bin("createdb")), *base, PG_DATABASE], check=True)


def stop_postgres() -> None:
    if running_pid("postgres") is None:
        _pid_file("postgres").unlink(missing_ok=True)
        return
    log("stopping postgres")
    subprocess.run(
        pg_as_owner(
            [str(pg_bin("pg_ctl")), "-D", str(pg_data()), "-m", "fast", "-w", "-t", "60", "stop"]
        ),
        capture_output=True,
        check=False,
    )
    stop_pid("postgres", timeout_s=10)


# --- the commands --------------------------------------------------------------------------------


@dataclass
class Service:
    name: str
    ready: Callable[[], bool]
    timeout_s: float
    port_key: str = field(default="")


SERVICES = [
    Service("postgres", postgres_ok, 60, "postgres"),
    Service("moto", moto_ok, 60, "moto"),
    Service("zookeeper", zookeeper_ok, 90, "zookeeper"),
    Service("coordinator-overlord", coordinator_ready, 240, "coordinator-overlord"),
    Service("historical", historical_ready, 240, "historical"),
    Service("indexer", lambda: druid_health(PORTS["indexer"]), 240, "indexer"),
    Service("broker", broker_ready, 240, "broker"),
    Service("router", router_ready, 240, "router"),
]


def settings_env() -> dict[str, str]:
    """What the app, the CLI and the tests need to reach the stack, by Settings' names."""
    return {
        "INGEST_DESK_DATABASE_URL": (
            f"postgresql+psycopg://{PG_USER}@127.0.0.1:{PORTS['postgres']}/{PG_DATABASE}"
        ),
        "INGEST_DESK_S3_ENDPOINT_URL": s3_endpoint_url(),
        "INGEST_DESK_S3_BUCKET": S3_BUCKET,
        "INGEST_DESK_S3_PREFIX": S3_PREFIX,
        "INGEST_DESK_S3_REGION": AWS_REGION,
        "INGEST_DESK_S3_PATH_STYLE": "true",
        "INGEST_DESK_DRUID_URL": f"http://127.0.0.1:{PORTS['router']}",
        "AWS_ACCESS_KEY_ID": AWS_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET_ACCESS_KEY,
        "AWS_REGION": AWS_REGION,
        "AWS_DEFAULT_REGION": AWS_REGION,
    }


def print_exports() -> None:
    for key, value in settings_env().items():
        print(f"export {key}={shlex.quote(value)}")


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def cmd_up() -> int:
    started = time.monotonic()
    java_home = find_java_home()
    ensure_druid(java_home)
    render_config()

    # Check every port first, so a clash stops `up` before it starts half a stack.
    for service in SERVICES:
        if running_pid(service.name) is not None or service.name == "postgres":
            continue  # pg_ctl reports its own port clash, and may find our server already up
        ports = [PORTS[service.name]]
        if service.name == "coordinator-overlord":
            ports.append(PORTS["derby"])
        busy = [p for p in ports if port_in_use(p)]
        if busy:
            raise StackError(
                f"port {busy[0]} for {service.name} is taken by a process this stack did not "
                "start; stop it or choose other ports with DEVSTACK_PORT_BASE"
            )

    def launch(name: str) -> None:
        if running_pid(name) is not None:
            return
        if name == "postgres":
            start_postgres()
        elif name == "moto":
            start_moto()
        elif name == "zookeeper":
            start_zookeeper(java_home)
        else:
            start_druid(java_home, name)

    by_name = {s.name: s for s in SERVICES}
    # Non-Druid services first; Druid's services need ZooKeeper, and then start side by side.
    for name in ("postgres", "moto", "zookeeper"):
        launch(name)
    for name in ("postgres", "moto", "zookeeper"):
        wait_for(name, by_name[name].ready, by_name[name].timeout_s)
    ensure_database()
    ensure_bucket()
    druid = [s for s in SERVICES if s.name in DRUID_ROLES]
    for service in druid:
        launch(service.name)
    for service in druid:
        wait_for(service.name, service.ready, service.timeout_s)
        log(f"{service.name} ready ({time.monotonic() - started:.0f}s)")
    log(
        f"stack up in {time.monotonic() - started:.1f}s; Druid console: "
        f"http://127.0.0.1:{PORTS['router']}/ ; logs in {LOG_DIR}"
    )
    print_exports()
    return 0


def cmd_down() -> int:
    for service in reversed(SERVICES):
        if service.name == "postgres":
            stop_postgres()
        else:
            stop_pid(service.name)
    log("stack down")
    return 0


def cmd_status() -> int:
    healthy = 0
    for service in SERVICES:
        pid = running_pid(service.name)
        ok = pid is not None and service.ready()
        healthy += ok
        state = "healthy" if ok else ("starting/unhealthy" if pid else "stopped")
        log_path = (
            PG_DIR / "postgres.log"
            if service.name == "postgres"
            else LOG_DIR / f"{service.name}.log"
        )
        print(
            f"{service.name:22} {state:18} pid={pid or '-':<8} "
            f"port={PORTS[service.port_key]:<6} log={log_path}"
        )
    if healthy == len(SERVICES):
        return 0
    return 3 if healthy == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/devstack",
        description=(
            'Start, stop or inspect the dev stack. `eval "$(scripts/devstack up)"` exports the '
            "INGEST_DESK_* settings that point the app at it."
        ),
    )
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            return cmd_up()
        if args.command == "down":
            return cmd_down()
        if args.command == "status":
            return cmd_status()
        print_exports()
        return 0
    except (StackError, subprocess.CalledProcessError) as exc:
        log(f"error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
