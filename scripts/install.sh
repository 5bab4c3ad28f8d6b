#!/usr/bin/env bash
# Installs everything the toolkit and its tests need on a fresh Debian machine:
# Chromium (map tests), CJK fonts (map screenshots), PostgreSQL 15 with PostGIS 3 (tests/test_postgis.py starts
# a throwaway server with its initdb; no cluster is configured here), and the Python package with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi
if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends postgresql-15-postgis-3 >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check -e '.[test]'
