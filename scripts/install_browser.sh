#!/usr/bin/env bash
# Install what the browser tests (tests/browser, pytest -m browser) need: Debian's chromium and
# chromium-driver, from apt. Playwright's own browser download is never used (no network but the
# package registries); the tests launch /usr/bin/chromium through playwright's executable_path.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  echo "chromium already installed: $(chromium --version 2>/dev/null || true)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-liberation >/dev/null
echo "installed: $(chromium --version 2>/dev/null || true)"
