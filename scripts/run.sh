#!/usr/bin/env bash
# The main job: set up, import the real data into the embedded DuckDB database if it is not
# there yet (idempotent), and run critmin's main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/critmin data import
.venv/bin/critmin data status
.venv/bin/critmin production "rare earths" --stage mine --year 2024
