#!/usr/bin/env bash
# Installs what the tests need beyond Go, when it is missing and we may:
# headless Chromium for the console tests (systest/console_test.go).
# Docker (for systest/docker_test.go) is expected from the machine.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the console tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
else
  echo "note: chromium is not installed; the console tests will be skipped (they fail when CI=true)" >&2
fi
