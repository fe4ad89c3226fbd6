#!/usr/bin/env bash
# The system programs some test suites drive, from Debian's packages, installed only when
# missing: PostgreSQL's server programs (the postgres tests start a throw-away server of
# their own; nothing is started here), and Chromium with its driver (the browser tests drive
# the system's browser; nothing downloads one). Needs root (CI runs as root); without it, it
# says what to install and stops.
set -euo pipefail
need=()
if ! command -v initdb >/dev/null && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  need+=(postgresql)
fi
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "tests/install_system.sh: install these Debian packages first (as root): ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing ${need[*]} (Debian packages)"
apt-get install -y -q "${need[@]}" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; } \
  || { echo "tests/install_system.sh: could not install ${need[*]} with apt-get" >&2; exit 1; }
