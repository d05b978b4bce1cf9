#!/usr/bin/env bash
# Installs Debian's chromium for the docs browser tests (playwright-core drives /usr/bin/chromium).
# Idempotent: does nothing when /usr/bin/chromium is already there. Needs root or sudo.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "install-chromium: $CHROMIUM already installed ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

fail() {
  echo "install-chromium: error: $*" >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found: this script installs Debian's chromium package; on other systems install Chromium so that $CHROMIUM exists"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "must run as root (or have sudo) to install chromium"
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
# wait for another apt/dpkg run (e.g. unattended upgrades) instead of failing on its lock
APT_OPTS=(-qq -o DPkg::Lock::Timeout=600)

echo "install-chromium: installing Debian's chromium (apt-get)..."
$SUDO apt-get "${APT_OPTS[@]}" update >/dev/null || fail "apt-get update failed (network or apt sources?)"
$SUDO apt-get "${APT_OPTS[@]}" install -y --no-install-recommends chromium >/dev/null || fail "apt-get install chromium failed"

[ -x "$CHROMIUM" ] || fail "chromium installed but $CHROMIUM is missing"
echo "install-chromium: done ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
