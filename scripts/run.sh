#!/usr/bin/env bash
# The main job: set up, import the real data into the embedded DuckDB database if it is not
# there yet (idempotent: nothing is re-imported), then start the dashboard and HTTP API and print
# its URL. Extra arguments go to `critmin serve` (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/critmin data import
.venv/bin/critmin production "rare earths" --stage mine --year 2024
exec .venv/bin/critmin serve "$@"
