"""Dev stack layout: versions, ports, folders and the error every step raises."""

from __future__ import annotations

import os
import sys
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
