"""Java, and the Druid distribution assembled from Maven Central into the cache folder."""

from __future__ import annotations

import json
import os
import shutil
import string
import subprocess
import tempfile
import time
from pathlib import Path

from layout import (
    CACHE_DIR,
    CONSOLE_VERSION,
    DRUID_HOME,
    DRUID_VERSION,
    HERE,
    MAVEN_DEPENDENCY_PLUGIN,
    S3_EXTENSION,
    StackError,
    log,
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
