#!/usr/bin/env bash
# Build the Linux one-folder bundle into dist/ingest-desk/ with packaging/ingest-desk.spec.
#
#   packaging/build.sh               build (installs PyInstaller into the venv if missing)
#   packaging/build.sh --self-test   build, then run the frozen --self-test offscreen
#
# PYTHON overrides the interpreter (default: .venv/bin/python, else python3). The same spec
# builds the Windows folder and the macOS .app (see packaging/windows and packaging/macos).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "PyInstaller not found for $PYTHON; installing the [package] extra's pin"
    "$PYTHON" -m pip install --quiet "pyinstaller>=6"
fi
if ! "$PYTHON" -c "import app" 2>/dev/null; then
    echo "error: the app is not importable by $PYTHON; run 'pip install -e .' first" >&2
    exit 2
fi

started=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/ingest-desk.spec
echo "built dist/ingest-desk/ in $(( $(date +%s) - started )) s, $(du -sh dist/ingest-desk | cut -f1)"

if [[ "${1:-}" == "--self-test" ]]; then
    home="$(mktemp -d)"
    trap 'rm -rf "$home"' EXIT
    # A throwaway HOME/XDG tree: the frozen app must not depend on (or touch) the builder's own.
    HOME="$home" XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data" \
        XDG_CACHE_HOME="$home/cache" XDG_STATE_HOME="$home/state" \
        QT_QPA_PLATFORM=offscreen dist/ingest-desk/ingest-desk --self-test
fi
