"""Builds (or reuses) the PyInstaller bundle and runs the frozen executable as a fresh user."""

from __future__ import annotations

import ast
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.waiting import WaitTimedOut, wait_until

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist" / "ingest-desk"
EXE = DIST / ("ingest-desk.exe" if sys.platform == "win32" else "ingest-desk")
CONTENTS = DIST / "_internal"
SAMPLES = CONTENTS / "resources" / "samples"
PYZ_TOC = ROOT / "build" / "pyinstaller" / "ingest-desk" / "PYZ-00.toc"
METRICS = ROOT / "build" / "bundle-metrics.json"
# What the bundle is built from: a bundle older than any of these is rebuilt.
BUILD_INPUTS = (
    "app",
    "resources",
    "packaging/ingest-desk.spec",
    "packaging/launcher.py",
    "pyproject.toml",
)

pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(
        os.environ.get("BUNDLE") != "1",
        reason="builds a PyInstaller bundle (minutes on 2 cores); run with BUNDLE=1",
    ),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle test"),
    pytest.mark.timeout(1800),
]


def _newest_input() -> float:
    newest = 0.0
    for name in BUILD_INPUTS:
        path = ROOT / name
        files = [path] if path.is_file() else path.rglob("*")
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                newest = max(newest, file.stat().st_mtime)
    return newest


def _record(**values: object) -> None:
    """Measurements go to build/bundle-metrics.json (for packaging/README.md) and the terminal."""
    METRICS.parent.mkdir(parents=True, exist_ok=True)
    metrics = json.loads(METRICS.read_text()) if METRICS.is_file() else {}
    metrics.update(values)
    METRICS.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def bundle() -> Path:
    """The frozen executable: reused when newer than its inputs, else built by build.sh."""
    fresh = EXE.is_file() and EXE.stat().st_mtime > _newest_input()
    if os.environ.get("BUNDLE_REBUILD") == "1" or not fresh:
        started = time.monotonic()
        subprocess.run(
            [str(ROOT / "packaging" / "build.sh")],
            cwd=ROOT,
            env={**os.environ, "PYTHON": sys.executable},
            check=True,
            timeout=1700,
        )
        _record(build_s=round(time.monotonic() - started, 1))
    assert EXE.is_file(), f"no bundle at {EXE}"
    size = subprocess.run(
        ["du", "-sh", str(DIST)], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    _record(size=size)
    return EXE


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """A fresh user: empty HOME and XDG folders, no venv, no INGEST_DESK_* settings, no display."""
    home = tmp_path / "home"
    folders = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_RUNTIME_DIR": tmp_path / "runtime",
        "TMPDIR": tmp_path / "tmp",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    folders["XDG_RUNTIME_DIR"].chmod(0o700)
    env = {name: str(folder) for name, folder in folders.items()}
    env.update(PATH="/usr/bin:/bin", LANG="C.UTF-8", QT_QPA_PLATFORM="offscreen")
    return env


def run_frozen(
    exe: Path, *args: str, env: dict[str, str], cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    # cwd outside the repository: nothing may resolve against the source checkout.
    return subprocess.run(
        [str(exe), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_self_test_passes_offscreen(bundle: Path, clean_env: dict[str, str], tmp_path: Path):
    timings = []
    for _ in range(3):
        started = time.monotonic()
        result = run_frozen(bundle, "--self-test", env=clean_env, cwd=tmp_path)
        timings.append(time.monotonic() - started)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "self-test passed: sales_clean.csv validated" in result.stdout
        assert "Traceback" not in result.stderr, result.stderr
    _record(
        self_test_s_min=round(min(timings), 2),
        self_test_s_median=round(statistics.median(timings), 2),
    )


@pytest.mark.parametrize(
    ("sample", "verdict", "exit_code"),
    [
        ("sales_clean.csv", "valid", 0),
        ("stores_workbook.xlsx", "valid", 0),  # fastexcel + calamine, frozen
        ("orders_with_errors.csv", "invalid", 1),
    ],
)
def test_validate_bundled_sample_json(
    bundle: Path,
    clean_env: dict[str, str],
    tmp_path: Path,
    sample: str,
    verdict: str,
    exit_code: int,
):
    result = run_frozen(
        bundle, "validate", str(SAMPLES / sample), "--json", env=clean_env, cwd=tmp_path
    )
    assert result.returncode == exit_code, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == verdict
    assert report["rows"] > 0


def test_time_zones_without_an_os_zone_database(
    bundle: Path, clean_env: dict[str, str], tmp_path: Path
):
    # An empty PYTHONTZPATH hides /usr/share/zoneinfo, as on Windows: zones must still resolve.
    no_zones = tmp_path / "no-zoneinfo"
    no_zones.mkdir()
    env = {**clean_env, "PYTHONTZPATH": str(no_zones)}
    sample = str(SAMPLES / "sales_clean.csv")
    result = run_frozen(
        bundle,
        "validate",
        sample,
        "--timezone",
        "America/New_York",
        "--json",
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["timestamp"]["zone"] == "America/New_York"
    order_date = next(c for c in report["columns"] if c["name"] == "order_date")
    assert order_date["min"] == "2024-03-01T05:00:00Z"  # midnight EST is 05:00 UTC


def test_stage_writes_parquet(bundle: Path, clean_env: dict[str, str], tmp_path: Path):
    out = tmp_path / "staged"
    result = run_frozen(
        bundle,
        "stage",
        str(SAMPLES / "stores_workbook.xlsx"),
        "--out",
        str(out),
        "--format",
        "parquet",
        env=clean_env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Named after the whole file name, so sales.2024.csv and sales.2025.csv never collide.
    assert (out / "stores_workbook.xlsx.parquet").stat().st_size > 0


def _head_revision() -> str:
    from app.services.store.schema import head_revision

    return head_revision()


def test_migrations_run_from_the_bundle_on_sqlite(
    bundle: Path, clean_env: dict[str, str], tmp_path: Path
):
    url = f"sqlite:///{tmp_path / 'tasks.sqlite3'}"
    upgrade = run_frozen(
        bundle, "db", "upgrade", "--database-url", url, env=clean_env, cwd=tmp_path
    )
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    current = run_frozen(
        bundle, "db", "current", "--database-url", url, env=clean_env, cwd=tmp_path
    )
    assert current.returncode == 0, current.stdout + current.stderr
    assert f"database: {_head_revision()}" in current.stdout


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    from app.services.store.tempcluster import PostgresBinariesNotFound, TempPostgres

    try:
        server = TempPostgres(max_connections=20)
    except PostgresBinariesNotFound as exc:
        pytest.skip(str(exc))
    server.start()
    try:
        yield server.url
    finally:
        server.cleanup()


def test_migrations_run_from_the_bundle_on_postgresql(
    bundle: Path, postgres_url: str, clean_env: dict[str, str], tmp_path: Path
):
    # psycopg's binary libpq, the postgresql+psycopg dialect and Alembic, all frozen.
    upgrade = run_frozen(
        bundle, "db", "upgrade", "--database-url", postgres_url, env=clean_env, cwd=tmp_path
    )
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    current = run_frozen(
        bundle, "db", "current", "--database-url", postgres_url, env=clean_env, cwd=tmp_path
    )
    assert f"database: {_head_revision()}" in current.stdout, current.stdout + current.stderr


def test_lazily_imported_modules_are_frozen(bundle: Path):
    if not PYZ_TOC.is_file():
        pytest.skip(f"{PYZ_TOC} missing (bundle built elsewhere)")
    _archive, entries = ast.literal_eval(PYZ_TOC.read_text())
    frozen = {name for name, _path, _kind in entries}
    source_modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / "app").rglob("*.py")
    }
    required = source_modules | {
        "keyring.backends.SecretService",
        "keyring.backends.Windows",
        "keyring.backends.macOS",
        "keyring.backends.chainer",
        "keyring.backends.fail",
        "keyring.backends.null",
        "sqlalchemy.dialects.sqlite.pysqlite",
        "sqlalchemy.dialects.postgresql.psycopg",
        "psycopg",
        "fastexcel",
        "polars",
        "pyarrow.parquet",
        "alembic.op",
        "alembic.context",
        "zoneinfo",
    }
    assert not sorted(required - frozen)
    # keyring finds its backends through entry points: its metadata must be bundled too.
    assert any(CONTENTS.glob("keyring-*.dist-info/entry_points.txt"))


def test_resources_migrations_and_qt_plugins_are_bundled(bundle: Path):
    plugins = CONTENTS / "PySide6" / "Qt" / "plugins"
    expected = [
        CONTENTS / "resources" / "icons" / "ingest-desk.svg",
        *(
            SAMPLES / name
            for name in ("sales_clean.csv", "stores_workbook.xlsx", "orders_with_errors.csv")
        ),
        CONTENTS / "app" / "services" / "store" / "migrations" / "env.py",
        CONTENTS / "app" / "services" / "store" / "migrations" / "script.py.mako",
        plugins / "platforms" / "libqoffscreen.so",
        plugins / "platforms" / "libqxcb.so",
        plugins / "imageformats" / "libqsvg.so",
        plugins / "iconengines" / "libqsvgicon.so",
    ]
    missing = [str(path.relative_to(DIST)) for path in expected if not path.exists()]
    assert not missing
    versions = ROOT / "app" / "services" / "store" / "migrations" / "versions"
    bundled = CONTENTS / "app" / "services" / "store" / "migrations" / "versions"
    assert {p.name for p in versions.glob("*.py")} <= {p.name for p in bundled.glob("*.py")}


def _viewable_window(display: str, env: dict[str, str]) -> bool:
    tree = subprocess.run(
        ["xwininfo", "-root", "-tree", "-display", display],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    ).stdout
    for line in tree.splitlines():
        if '("ingest-desk" "Ingest Desk")' in line:
            window_id = line.split()[0]
            info = subprocess.run(
                ["xwininfo", "-id", window_id, "-display", display],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            ).stdout
            if "IsViewable" in info:
                return True
    return False


def test_window_appears_on_x11(bundle: Path, clean_env: dict[str, str], tmp_path: Path):
    """The real GUI start on the xcb platform plugin; measures time until the window is mapped."""
    xvfb, xwininfo = shutil.which("Xvfb"), shutil.which("xwininfo")
    if xvfb is None or xwininfo is None:
        pytest.skip("needs Xvfb and xwininfo (apt-get install xvfb x11-utils)")
    display = f":{100 + os.getpid() % 500}"
    server = subprocess.Popen(
        [xvfb, display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {**clean_env, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    try:
        wait_until(
            lambda: subprocess.run(
                [xwininfo, "-root", "-display", display], capture_output=True, check=False
            ).returncode
            == 0,
            timeout=10, interval=0.05, what="Xvfb started",
        )
        started = time.monotonic()
        app = subprocess.Popen(
            [str(bundle)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

        def outcome() -> str | None:
            if _viewable_window(display, env):
                return "shown"
            return "exited" if app.poll() is not None else None

        try:
            # The time taken is recorded for the report, never asserted.
            seen = wait_until(outcome, timeout=60, interval=0.05, what="a window or an exit")
        except WaitTimedOut:
            seen = "no window within 60 s"
        shown_after = time.monotonic() - started
        app.terminate()
        output, _ = app.communicate(timeout=30)
        assert seen == "shown", f"{seen}:\n{output}"
        _record(window_shown_s=round(shown_after, 2))
    finally:
        server.terminate()
        server.wait(timeout=30)
