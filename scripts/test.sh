#!/usr/bin/env bash
# Set up and run the whole test suite (unit, real-data, property, slow and browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f scripts/install_browser.sh ]; then bash scripts/install_browser.sh; fi
mkdir -p artifacts
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
