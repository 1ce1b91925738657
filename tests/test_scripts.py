"""scripts/bootstrap.sh (behind run.sh and test.sh) runs pip only when something the install
depends on changed: pyproject.toml, the bootstrap scripts, the venv's Python, the project's place.

Run in a temporary copy of the project with a stand-in `.venv/bin/python` that records how it
is called, and a stand-in `ldconfig` listing the Qt libraries, so nothing is installed for real.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ("scripts/bootstrap.sh", "scripts/install_state.sh", "scripts/run.sh")

FAKE_PYTHON = """#!/bin/sh
# Records each call; answers -VV like Python; "pip" fails when FAKE_PIP_FAILS is set.
echo "$*" >> "$(dirname "$0")/../calls.log"
if [ "$1" = "-VV" ]; then echo "Python ${FAKE_PYTHON_VERSION:-3.12.3} (fake build)"; exit 0; fi
if [ -n "${FAKE_PIP_FAILS:-}" ]; then echo "ERROR: no matching distribution for pyside6"; exit 1; fi
echo "SetuptoolsDeprecationWarning: one of the many lines pip prints"
"""


def make_project(where: Path) -> Path:
    for name in ("pyproject.toml", *SCRIPTS):
        target = where / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    (where / "app").mkdir()
    (where / "app" / "module.py").write_text("VALUE = 1\n", encoding="utf-8")
    python = where / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON, encoding="utf-8")
    python.chmod(0o755)
    # Every Qt library bootstrap.sh looks for is "there", so it never reaches for apt-get.
    libraries = re.findall(r'"(lib[^":]+):', (ROOT / "scripts/bootstrap.sh").read_text())
    assert libraries, "bootstrap.sh no longer lists the libraries it checks"
    tools = where / "fakebin"
    tools.mkdir()
    ldconfig = tools / "ldconfig"
    listing = "".join(f"\t{lib} (libc6,x86-64) => /usr/lib/{lib}\\n" for lib in libraries)
    ldconfig.write_text(f'#!/bin/sh\nprintf "{listing}"\n', encoding="utf-8")
    ldconfig.chmod(0o755)
    return where


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "desk")


def environment(project: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_")}
    env["PATH"] = f"{project / 'fakebin'}{os.pathsep}{env['PATH']}"
    return {**env, **extra}


def needs_install(project: Path, purpose: str = "app", **env: str) -> bool:
    script = f". scripts/install_state.sh; needs_install {purpose} && echo yes || echo no"
    answer = subprocess.run(
        ["bash", "-c", script],
        cwd=project, env=environment(project, **env), capture_output=True, text=True, check=True,
    )
    assert answer.stderr == ""
    return answer.stdout.strip() == "yes"


def mark_installed(project: Path, purpose: str = "app") -> None:
    subprocess.run(
        ["bash", "-c", f". scripts/install_state.sh; mark_installed {purpose}"],
        cwd=project, env=environment(project), check=True,
    )


def bootstrap(project: Path, purpose: str = "app", **env: str) -> subprocess.CompletedProcess[str]:
    (project / ".venv" / "calls.log").unlink(missing_ok=True)
    return subprocess.run(
        ["bash", "scripts/bootstrap.sh", purpose], cwd=project, env=environment(project, **env),
        capture_output=True, text=True, check=False,
    )


def pip_calls(project: Path) -> list[str]:
    log = project / ".venv" / "calls.log"
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return [line for line in lines if line.startswith("-m pip")]


def test_only_a_change_to_what_the_install_depends_on_asks_for_one(project: Path) -> None:
    assert needs_install(project)  # never installed
    mark_installed(project)
    assert not needs_install(project)
    assert needs_install(project, "test")  # the test extras were never installed

    # The install is editable: the source is read from the project, so edits need nothing.
    (project / "app" / "module.py").write_text("VALUE = 2\n", encoding="utf-8")
    (project / "app" / "new_module.py").write_text("", encoding="utf-8")
    assert not needs_install(project)

    assert needs_install(project, FAKE_PYTHON_VERSION="3.13.1")  # the venv's Python changed

    with (project / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n# a dependency added\n")
    assert needs_install(project)
    mark_installed(project)
    assert not needs_install(project)

    with (project / "scripts" / "bootstrap.sh").open("a", encoding="utf-8") as handle:
        handle.write("\n# a new step\n")
    assert needs_install(project)


def test_a_moved_project_or_a_missing_venv_is_installed_again(
    project: Path, tmp_path: Path
) -> None:
    mark_installed(project)
    moved = tmp_path / "elsewhere"
    shutil.copytree(project, moved, symlinks=True)
    assert not needs_install(project)
    assert needs_install(moved)  # the venv's scripts point at the old place
    shutil.rmtree(project / ".venv" / "bin")
    assert needs_install(project)


def test_bootstrap_runs_pip_quietly_once_then_not_again(project: Path) -> None:
    first = bootstrap(project)
    assert first.returncode == 0, first.stderr
    assert pip_calls(project) == [
        "-m pip install -q --upgrade pip", "-m pip install -q -e .",
    ]
    assert first.stdout == ""
    assert "Deprecation" not in first.stderr  # pip's chatter went to the log, not the terminal
    assert first.stderr.count("\n") == 1 and "installing Ingest Desk" in first.stderr

    again = bootstrap(project)
    assert again.returncode == 0, again.stderr
    assert pip_calls(project) == []
    assert (again.stdout, again.stderr) == ("", "")

    tests = bootstrap(project, "test")
    assert tests.returncode == 0, tests.stderr
    assert pip_calls(project)[-1] == "-m pip install -q -e .[test,package]"


def test_a_failed_install_shows_pips_words_and_is_tried_again(project: Path) -> None:
    failed = bootstrap(project, FAKE_PIP_FAILS="1")
    assert failed.returncode != 0
    assert "no matching distribution for pyside6" in failed.stderr
    assert "the install failed" in failed.stderr
    assert needs_install(project)  # nothing recorded: the next run installs again
    assert bootstrap(project).returncode == 0
    assert not needs_install(project)
