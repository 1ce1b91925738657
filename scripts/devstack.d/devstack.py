"""The dev stack: a real single-machine Druid, moto's S3 server and PostgreSQL, without Docker."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

# 25.0.0 is the newest release whose core modules *and* druid-s3-extensions Maven Central serves
# together (37.0.0 lacks druid-sql and druid-multi-stage-query there; 33.0.0 lacks the S3
# extension). The console jar stopped being published after 24.0.1, which still talks to 25's APIs.
DRUID_VERSION = os.environ.get("DEVSTACK_DRUID_VERSION", "25.0.0")
CONSOLE_VERSION = os.environ.get("DEVSTACK_CONSOLE_VERSION", "24.0.1")
S3_EXTENSION = ("org.apache.druid.extensions", "druid-s3-extensions")
MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"

PORT_BASE = int(os.environ.get("DEVSTACK_PORT_BASE", "28000"))
PORTS = {
    "zookeeper": PORT_BASE + 181,
    "derby": PORT_BASE + 527,
    "coordinator-overlord": PORT_BASE + 81,
    "broker": PORT_BASE + 82,
    "historical": PORT_BASE + 83,
    "indexer": PORT_BASE + 91,
    "router": PORT_BASE + 888,
    "moto": PORT_BASE + 500,
    "postgres": PORT_BASE + 432,
}

# moto accepts any credentials; fixed ones keep the exported settings stable across restarts.
AWS_ACCESS_KEY_ID = "devstack"
AWS_SECRET_ACCESS_KEY = "devstack-secret"
AWS_REGION = "us-east-1"
S3_BUCKET = "ingest-desk-dev"
S3_PREFIX = "ingest-desk"
PG_USER = "ingest_desk"
PG_DATABASE = "ingest_desk"

# Heap and direct memory per JVM: about 2.5 GiB of heap in all, sized for a two-core machine.
JVM_MEMORY = {
    "zookeeper": ("128m", None),
    "coordinator-overlord": ("512m", None),
    "broker": ("384m", "256m"),
    "historical": ("384m", "256m"),
    "indexer": ("768m", "256m"),
    "router": ("192m", "128m"),
}
PROCESSING_BUFFER_BYTES = 32 * 1024 * 1024
SEGMENT_CACHE_BYTES = 10 * 1024**3

# Druid reaches into JDK internals (direct buffers, cleaners); Java 17 refuses without these.
JAVA17_MODULE_FLAGS = [
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED",
]

DRUID_ROLES = {
    "coordinator-overlord": "coordinator",
    "broker": "broker",
    "historical": "historical",
    "indexer": "indexer",
    "router": "router",
}


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


CACHE_DIR = Path(
    os.environ.get("DEVSTACK_CACHE_DIR") or _xdg("XDG_CACHE_HOME", ".cache") / "ingest-desk"
)
STATE_DIR = Path(
    os.environ.get("DEVSTACK_STATE_DIR")
    or _xdg("XDG_STATE_HOME", ".local/state") / "ingest-desk" / "devstack"
)
DRUID_HOME = CACHE_DIR / f"druid-{DRUID_VERSION}"
CONF_DIR = STATE_DIR / "conf"
LOG_DIR = STATE_DIR / "logs"
PID_DIR = STATE_DIR / "pids"
VAR_DIR = STATE_DIR / "var"


def _pg_dir() -> Path:
    override = os.environ.get("DEVSTACK_PG_DIR")
    if override:
        return Path(override)
    if os.geteuid() == 0:
        # initdb refuses to run as root, and the postgres user cannot enter /root.
        return Path("/var/lib/ingest-desk-devstack/postgres")
    return STATE_DIR / "postgres"


PG_DIR = _pg_dir()


def log(message: str) -> None:
    print(f"devstack: {message}", file=sys.stderr, flush=True)


class StackError(RuntimeError):
    """A step of the stack failed; the message says which and where its log is."""


# --- processes we started, tracked by PID plus the kernel's start time (guards PID reuse) -------


def _proc_start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime) counted after the parenthesised command name, which may hold spaces.
    return stat.rsplit(")", 1)[1].split()[19]


def _pid_file(name: str) -> Path:
    return PID_DIR / f"{name}.json"


def record_pid(name: str, pid: int) -> None:
    PID_DIR.mkdir(parents=True, exist_ok=True)
    start = _proc_start_time(pid)
    _pid_file(name).write_text(json.dumps({"pid": pid, "start": start}))


def running_pid(name: str) -> int | None:
    path = _pid_file(name)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    pid = int(data["pid"])
    start = _proc_start_time(pid)
    if start is None or start != data.get("start"):
        return None
    with contextlib.suppress(OSError):
        # A zombie still has /proc/PID; its state letter is Z.
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return None
    return pid


def stop_pid(name: str, timeout_s: float = 40.0) -> None:
    pid = running_pid(name)
    if pid is None:
        _pid_file(name).unlink(missing_ok=True)
        return
    log(f"stopping {name} (pid {pid})")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and running_pid(name) is not None:
        time.sleep(0.3)
    if running_pid(name) is not None:
        log(f"{name} ignored SIGTERM for {timeout_s:.0f}s; sending SIGKILL")
        os.kill(pid, signal.SIGKILL)
    _pid_file(name).unlink(missing_ok=True)


def spawn(
    name: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> int:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{name}.log"
    with log_path.open("ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}\n".encode())
        out.flush()
        # A new session detaches the service from our terminal, so it outlives this command.
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    record_pid(name, proc.pid)
    log(f"started {name} (pid {proc.pid}), log {log_path}")
    return proc.pid


def log_tail(name: str, lines: int = 40) -> str:
    path = PG_DIR / "postgres.log" if name == "postgres" else LOG_DIR / f"{name}.log"
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:])


# --- health probes -------------------------------------------------------------------------------


def http_get(url: str, timeout_s: float = 3.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def http_ok(url: str) -> bool:
    return http_get(url)[0] == 200


def druid_health(port: int) -> bool:
    status, body = http_get(f"http://127.0.0.1:{port}/status/health")
    return status == 200 and body.strip() == b"true"


def zookeeper_ok() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", PORTS["zookeeper"]), timeout=2) as conn:
            conn.sendall(b"ruok")
            return conn.recv(16) == b"imok"
    except OSError:
        return False


def coordinator_ready() -> bool:
    port = PORTS["coordinator-overlord"]
    # The Overlord half answers /leader only after it won leadership and started its task queue.
    return druid_health(port) and http_ok(f"http://127.0.0.1:{port}/druid/indexer/v1/leader")


def broker_ready() -> bool:
    return http_ok(f"http://127.0.0.1:{PORTS['broker']}/druid/broker/v1/readiness")


def historical_ready() -> bool:
    return http_ok(f"http://127.0.0.1:{PORTS['historical']}/druid/historical/v1/readiness")


def router_ready() -> bool:
    port = PORTS["router"]
    if not druid_health(port):
        return False
    # Through the router, the Overlord must see the indexer, or submitted tasks would just wait.
    status, body = http_get(f"http://127.0.0.1:{port}/druid/indexer/v1/workers")
    try:
        return status == 200 and len(json.loads(body)) > 0
    except ValueError:
        return False


def moto_ok() -> bool:
    return http_ok(f"http://127.0.0.1:{PORTS['moto']}/moto-api/")


def postgres_ok() -> bool:
    result = subprocess.run(
        [str(pg_bin("pg_isready")), "-q", "-h", "127.0.0.1", "-p", str(PORTS["postgres"])],
        check=False,
    )
    return result.returncode == 0


def wait_for(name: str, probe: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if probe():
            return
        if name != "postgres" and _pid_file(name).exists() and running_pid(name) is None:
            raise StackError(f"{name} exited during startup; last log lines:\n{log_tail(name)}")
        time.sleep(1.0)
    raise StackError(
        f"{name} not healthy after {timeout_s:.0f}s; last log lines:\n{log_tail(name)}"
    )


# --- Java and the Druid distribution assembled from Maven Central --------------------------------


def java_major(java: Path) -> int:
    out = subprocess.run(
        [str(java), "-XshowSettings:properties", "-version"],
        capture_output=True,
        text=True,
        check=False,
    ).stderr
    for line in out.splitlines():
        if "java.specification.version" in line:
            return int(line.split("=")[1].strip().split(".")[0])
    return 0


def find_java_home() -> Path:
    """A Java 17 home: Druid 25 runs on 11 and 17, not on the 21+ that newer Debian defaults to."""
    candidates: list[Path] = []
    for var in ("DEVSTACK_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            candidates.append(Path(os.environ[var]))
    candidates += sorted(Path("/usr/lib/jvm").glob("*17*"))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path).resolve().parent.parent)
    for home in candidates:
        java = home / "bin" / "java"
        if java.exists() and java_major(java) in (11, 17):
            return home
    raise StackError("no Java 17 (or 11) found; scripts/devstack installs openjdk-17-jre-headless")


def render(template: Path, dest: Path, values: dict[str, str]) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(string.Template(template.read_text()).substitute(values))


def maven_resolve(pom: Path, java_home: Path) -> list[tuple[str, str, Path]]:
    """(groupId, artifactId, jar) for the pom's runtime closure, downloading into our own repo."""
    settings = pom.parent.parent / "settings.xml"
    listing = pom.parent / "dependencies.txt"
    argv = [
        shutil.which("mvn") or "mvn",
        "-B",
        "-q",
        "-s",
        str(settings),
        f"-Dmaven.repo.local={CACHE_DIR / 'm2'}",
        "-f",
        str(pom),
        f"{MAVEN_DEPENDENCY_PLUGIN}:list",
        "-DincludeScope=runtime",
        "-DoutputAbsoluteArtifactFilename=true",
        f"-DoutputFile={listing}",
    ]
    env = {**os.environ, "JAVA_HOME": str(java_home)}
    result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        errors = [line for line in result.stdout.splitlines() if "ERROR" in line][:8]
        raise StackError(
            f"Maven could not resolve {pom}:\n" + "\n".join(errors or [result.stdout[-3000:]])
        )
    artifacts = []
    for line in listing.read_text().splitlines():
        token = line.strip().split(" ")[0]
        parts = token.split(":")
        if len(parts) >= 6 and parts[-1].endswith(".jar"):
            artifacts.append((parts[0], parts[1], Path(parts[-1])))
    return artifacts


def ensure_druid(java_home: Path) -> None:
    marker = DRUID_HOME / ".complete"
    if marker.exists():
        return
    started = time.monotonic()
    log(f"assembling Druid {DRUID_VERSION} from Maven Central into {DRUID_HOME} (first run only)")
    build = CACHE_DIR / f"build-{DRUID_VERSION}"
    shutil.rmtree(build, ignore_errors=True)
    (build / "empty-repo").mkdir(parents=True)
    render(
        HERE / "maven" / "settings.xml",
        build / "settings.xml",
        {"empty_repo": str(build / "empty-repo")},
    )
    render(
        HERE / "maven" / "druid-lib.pom.xml",
        build / "lib" / "pom.xml",
        {"druid_version": DRUID_VERSION},
    )
    group, artifact = S3_EXTENSION
    render(
        HERE / "maven" / "artifact.pom.xml",
        build / "s3" / "pom.xml",
        {"group_id": group, "artifact_id": artifact, "version": DRUID_VERSION},
    )
    render(
        HERE / "maven" / "artifact.pom.xml",
        build / "console" / "pom.xml",
        {
            "group_id": "org.apache.druid",
            "artifact_id": "druid-console",
            "version": CONSOLE_VERSION,
        },
    )

    staging = Path(tempfile.mkdtemp(prefix=f"druid-{DRUID_VERSION}.", dir=CACHE_DIR))
    lib = staging / "lib"
    lib.mkdir()
    in_lib: set[tuple[str, str]] = set()
    for g, a, jar in maven_resolve(build / "lib" / "pom.xml", java_home):
        shutil.copy2(jar, lib / jar.name)
        in_lib.add((g, a))
    try:
        for g, a, jar in maven_resolve(build / "console" / "pom.xml", java_home):
            if (g, a) not in in_lib:
                shutil.copy2(jar, lib / jar.name)
    except StackError as exc:
        log(f"web console unavailable, continuing without it: {exc}")
    ext_dir = staging / "extensions" / artifact
    ext_dir.mkdir(parents=True)
    for g, a, jar in maven_resolve(build / "s3" / "pom.xml", java_home):
        # Core jars already on the classpath win anyway; copies would only confuse a reader.
        if (g, a) not in in_lib:
            shutil.copy2(jar, ext_dir / jar.name)
    (staging / ".complete").write_text(
        json.dumps({"druid": DRUID_VERSION, "console": CONSOLE_VERSION, "jars": len(in_lib)})
    )
    shutil.rmtree(DRUID_HOME, ignore_errors=True)
    staging.rename(DRUID_HOME)
    log(f"Druid assembled in {time.monotonic() - started:.0f}s")


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
