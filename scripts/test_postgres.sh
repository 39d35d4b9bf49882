#!/usr/bin/env bash
# Run the operational-store-dependent tests a second time, against PostgreSQL (the first run,
# scripts/test.sh's main pytest call, uses the embedded SQLite store).
#   - installs PostgreSQL from Debian if its binaries are missing (scripts/install_postgres.sh)
#   - starts a throw-away cluster in a temporary directory (scripts/pg_cluster.sh; as the
#     `postgres` user when run as root), trust auth on 127.0.0.1 only
#   - runs the tests with CRITMIN_TEST_DATABASE_URL: every test gets a new database
#     (tests/web_support.py, tests/ops_support.py); stops the cluster and removes it afterwards
# Extra arguments go to pytest. PG_TESTS overrides the list of test files.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_postgres.sh
dir=$(mktemp -d /tmp/critmin-pg.XXXXXX)
cleanup() { bash scripts/pg_cluster.sh stop "$dir" || true; rm -rf "$dir"; }
trap cleanup EXIT
url=$(bash scripts/pg_cluster.sh start "$dir")
base=${url%/*}/postgres
echo "PostgreSQL test cluster: $base"
tests=${PG_TESTS:-$(ls tests/test_ops*.py tests/test_jobs*.py tests/test_projects_registry.py \
  tests/test_web_authz.py tests/test_web_auth.py tests/test_web_security*.py tests/test_web_jobs_api.py tests/test_web_authz_multiworker.py tests/test_web_multiworker.py tests/test_web_concurrency.py tests/test_jobs_fault.py tests/test_web_fuzz.py tests/test_web_scenarios_library.py tests/test_web_request_path.py tests/test_web_store_unavailable.py \
  tests/test_incident*.py 2>/dev/null | tr '\n' ' ')}
CRITMIN_TEST_DATABASE_URL="$base" .venv/bin/python -m pytest -q -p no:cacheprovider $tests "$@" 2>&1 \
  | grep -v -E '^nanobind: |^ - leaked |^ - \.\.\. skipped remainder|^See https://nanobind'
