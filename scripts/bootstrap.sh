#!/usr/bin/env bash
# Installs everything Ingest Desk needs on a fresh Debian/Ubuntu machine (or reuses what is there):
# system libraries for Qt, a PostgreSQL server for the tests, and a virtualenv with the project.
# Quiet and quick once done: pip runs only when pyproject.toml, these scripts or the Python
# changed (see install_state.sh); its output goes to .venv/bootstrap.log, shown if it fails.
# Usage: scripts/bootstrap.sh [app|test]
set -euo pipefail
cd "$(dirname "$0")/.."
PURPOSE="${1:-app}"
PY="${PYTHON:-python3}"
# shellcheck source=install_state.sh
. scripts/install_state.sh

need_apt=()
libs="$(ldconfig -p 2>/dev/null || true)"
have_lib() { grep -qF "$1" <<<"$libs"; }
# Qt's xcb/offscreen platform plugins and fonts.
for pair in "libEGL.so.1:libegl1" "libGL.so.1:libgl1" "libxkbcommon.so.0:libxkbcommon0" \
            "libfontconfig.so.1:libfontconfig1" "libdbus-1.so.3:libdbus-1-3" \
            "libxkbcommon-x11.so.0:libxkbcommon-x11-0" "libxcb-cursor.so.0:libxcb-cursor0" \
            "libxcb-icccm.so.4:libxcb-icccm4" "libxcb-keysyms.so.1:libxcb-keysyms1" \
            "libxcb-shape.so.0:libxcb-shape0" "libxcb-render-util.so.0:libxcb-render-util0" \
            "libxcb-image.so.0:libxcb-image0"; do
  have_lib "${pair%%:*}" || need_apt+=("${pair##*:}")
done
if [ "$PURPOSE" = "test" ]; then
  # The tests start their own PostgreSQL with initdb/pg_ctl.
  if ! command -v pg_ctl >/dev/null && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    need_apt+=(postgresql)
  fi
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -c "import venv, ensurepip" 2>/dev/null || need_apt+=(python3-venv)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "bootstrap: installing system packages: ${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
needs_install "$PURPOSE" || exit 0
# The test suite also builds and runs the PyInstaller bundle.
target="."; [ "$PURPOSE" = "test" ] && target=".[test,package]"
echo "bootstrap: installing Ingest Desk into .venv ($PURPOSE; first run, or its setup changed)" >&2
log=.venv/bootstrap.log
if ! { .venv/bin/python -m pip install -q --upgrade pip \
       && .venv/bin/python -m pip install -q -e "$target"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "bootstrap: the install failed (output above, also in $log)" >&2
  exit 1
fi
mark_installed "$PURPOSE"
