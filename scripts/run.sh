#!/usr/bin/env bash
# Installs everything and starts the Ingest Desk window.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh app
exec .venv/bin/ingest-desk "$@"
