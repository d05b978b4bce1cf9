#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests, once (idempotent).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
echo "installing chromium (Debian package) for the browser tests..."
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null || { echo "could not install chromium with apt-get" >&2; exit 1; }
