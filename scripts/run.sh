#!/usr/bin/env bash
# Installs what is missing (on the first run, or when the setup changed) and starts the window.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh app
exec .venv/bin/ingest-desk "$@"
