#!/usr/bin/env bash
# The browser tests (tests/test_browser.py) drive Debian's Chromium through Playwright; no
# browser build is ever downloaded. Installs it when missing (CI runs as root).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
