#!/usr/bin/env bash
# Set up critmin on a fresh machine of this kind: uv (from PyPI), the locked Python environment
# in ./.venv (Python 3.11, from uv.lock), and the dashboard's npm assets. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v uv >/dev/null 2>&1; then
  UV=(uv)
elif python3 -m uv --version >/dev/null 2>&1; then
  UV=(python3 -m uv)
else
  python3 -m pip install --quiet --disable-pip-version-check uv
  UV=(python3 -m uv)
fi
# --compile-bytecode: write the .pyc files now, as pip does at install time (uv otherwise leaves
# them to the first import, and never writes them where PYTHONDONTWRITEBYTECODE is set, so every
# `critmin` process would compile pandas, DuckDB's wrapper etc. from source: ~1 s per start)
"${UV[@]}" sync --frozen --extra dev --python 3.11 --quiet --compile-bytecode
if [ -f scripts/install_web_assets.sh ]; then bash scripts/install_web_assets.sh >/dev/null; fi
echo "critmin installed: $(.venv/bin/critmin --help >/dev/null && echo ok) (.venv/bin/critmin)"
