#!/usr/bin/env bash
# Installs everything and runs the whole test suite: lint, types, layer contracts, pytest.
# The tests start the services they need themselves: PostgreSQL, moto's S3 server, and the dev
# stack's real Druid (scripts/devstack, assembled from Maven Central on first use). DEVSTACK=0
# skips the real-Druid tests for a quicker local loop; CI always runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
export DEVSTACK="${DEVSTACK:-1}"
# The PyInstaller bundle is built and its --self-test run (about two minutes); BUNDLE=0 skips.
export BUNDLE="${BUNDLE:-1}"
if [ "${CI:-}" = "true" ]; then export DEVSTACK=1 BUNDLE=1; fi
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff";          ruff check app tests bench scripts
echo "== mypy";          mypy
echo "== import-linter"; lint-imports
echo "== pytest";        pytest "$@"
