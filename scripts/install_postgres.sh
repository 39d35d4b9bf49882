#!/usr/bin/env bash
# PostgreSQL server binaries from Debian (for the operational store's tests on PostgreSQL).
# Idempotent: nothing is installed when initdb/pg_ctl are already there (e.g. /usr/lib/postgresql/15).
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends postgresql
