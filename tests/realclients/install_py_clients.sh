#!/usr/bin/env bash
# Install the real MCP clients from PyPI that tests/realclients/test_python_clients.py drives
# (Mistral Vibe, fast-agent, gptme, mcp-cli), each in its own venv, at the exact versions pinned
# in py-clients.txt beside this script, with their whole dependency set pinned by
# py-constraints/<program>.txt (a `pip freeze` of a good install), into a cache OUTSIDE the
# repository:
#
#   ${DOT_SETUP_PY_CLIENTS_DIR:-$HOME/.cache/dot-setup/test-clients-py}/<program>
#
# The venvs need Python >= 3.12 (the programs require it): $DOT_SETUP_PY_CLIENTS_PYTHON if set,
# else the first of python3.12, python3.13 on PATH, ~/.pyenv/versions/3.12*/bin/python3.12,
# ~/.pyenv/versions/3.13*/bin/python3.13 that runs. The constraints were frozen on 3.12.
# After `pip install -c py-constraints/<program>.txt <package>==<version>`, every installed
# distribution must be in that constraints file at that version (nothing unpinned slipped in)
# and `pip check` must pass; then every program must start (`--version`, or `--help` where it
# has no such option) in a throw-away HOME with a dead proxy.
#
# Idempotent: when the cache already holds this exact pin set (sha256 of py-clients.txt followed
# by the constraints files, stamped in .dot-setup-py-lock.sha256) and every command is there, it
# exits at once without running pip. A program whose own pin and constraints did not change
# (its venv's .dot-setup-pin.sha256) is kept. The only network it uses is pip's configured
# package index.
#
# Usage: tests/realclients/install_py_clients.sh [--check] [--force] [--latest]
#   --check   only report whether the cache is up to date (exit 0) or not (exit 1)
#   --force   reinstall every program even when the stamps match
#   --latest  a maintainer's run, not CI's: install the NEWEST published version of every program
#             (no pins, no constraints) into a separate cache, stamped "latest", print the
#             versions, and write beside them a py-clients.txt and py-constraints/ with the new
#             pins. Then run the suite on it:
#               DOT_SETUP_PY_CLIENTS_DIR=~/.cache/dot-setup/test-clients-py-latest \
#                 bash tests/realclients/install_py_clients.sh --latest
#               DOT_SETUP_PY_CLIENTS_DIR=~/.cache/dot-setup/test-clients-py-latest \
#                 .venv/bin/python -m pytest -m realclients tests/realclients/test_python_clients.py
#             A failure there is a program that changed. To move the pins, copy that cache's
#             py-clients.txt and py-constraints/ over the ones beside this script, run this script
#             (it installs them pinned) and the suite again, and update each profile's [verified]
#             version with them (tests/test_verified_versions.py ties them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
pins="$here/py-clients.txt"
constraints_dir="$here/py-constraints"
stamp_name=".dot-setup-py-lock.sha256"
pin_stamp_name=".dot-setup-pin.sha256"

mode=install
for arg in "$@"; do
  case "$arg" in
    --check) mode=check ;;
    --force) mode=force ;;
    --latest) mode=latest ;;
    -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
    *) echo "install_py_clients.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

default_dir="${HOME:?HOME is not set}/.cache/dot-setup/test-clients-py"
dir="${DOT_SETUP_PY_CLIENTS_DIR:-$default_dir}"

# The cache must not be inside the repository (it is ~1 GB of venvs).
mkdir -p "$dir"
dir="$(cd "$dir" && pwd -P)"
case "$dir/" in
  "$(cd "$repo" && pwd -P)/"*)
    echo "install_py_clients.sh: DOT_SETUP_PY_CLIENTS_DIR=$dir is inside the repository; use a folder outside it" >&2
    exit 2 ;;
esac
if [[ "$mode" == latest && "$dir" == "$(mkdir -p "$default_dir" && cd "$default_dir" && pwd -P)" ]]; then
  echo "install_py_clients.sh --latest: set DOT_SETUP_PY_CLIENTS_DIR to a folder of its own (not the pinned cache $dir)" >&2
  exit 2
fi

# ---- the pin file: program, package==version, commands ---------------------------------------
programs=()
declare -A pin_of=() cmds_of=() line_of=()
while read -r program pin cmds; do
  [[ -z "$program" || "$program" == \#* ]] && continue
  if [[ "$pin" != *==* || -z "$cmds" ]]; then
    echo "install_py_clients.sh: bad line in $pins: $program $pin $cmds" >&2
    exit 2
  fi
  programs+=("$program")
  pin_of[$program]="$pin"
  cmds_of[$program]="$cmds"
  line_of[$program]="$program $pin $cmds"
  if [[ "$mode" != latest && ! -f "$constraints_dir/$program.txt" ]]; then
    echo "install_py_clients.sh: $constraints_dir/$program.txt is missing (the pinned dependency set of $program)" >&2
    exit 2
  fi
done < "$pins"

want=latest
if [[ "$mode" != latest ]]; then
  lock_files=("$pins")
  for program in "${programs[@]}"; do lock_files+=("$constraints_dir/$program.txt"); done
  want="$(cat "${lock_files[@]}" | sha256sum | cut -d' ' -f1)"
fi

pin_hash() {  # what a program's venv is stamped with
  { printf '%s\n' "${line_of[$1]}"; cat "$constraints_dir/$1.txt"; } | sha256sum | cut -d' ' -f1
}

program_ok() {
  local program="$1" c
  for c in ${cmds_of[$program]}; do
    [[ -x "$dir/$program/bin/$c" ]] || return 1
  done
  [[ -f "$dir/$program/$pin_stamp_name" && "$(cat "$dir/$program/$pin_stamp_name")" == "$(pin_hash "$program")" ]]
}

up_to_date() {
  [[ -f "$dir/$stamp_name" && "$(cat "$dir/$stamp_name")" == "$want" ]] || return 1
  local program
  for program in "${programs[@]}"; do program_ok "$program" || return 1; done
  return 0
}

if [[ "$mode" == install || "$mode" == check ]] && up_to_date; then
  echo "PyPI test clients up to date in $dir (pins $want)"
  exit 0
fi
if [[ "$mode" == check ]]; then
  echo "PyPI test clients missing or stale in $dir: run tests/realclients/install_py_clients.sh" >&2
  exit 1
fi

# ---- Python >= 3.12 -----------------------------------------------------------------------------
python_ok() {  # a pyenv shim for a version that is not selected exits non-zero here
  "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1
}
find_python() {
  local c
  if [[ -n "${DOT_SETUP_PY_CLIENTS_PYTHON:-}" ]]; then
    python_ok "$DOT_SETUP_PY_CLIENTS_PYTHON" && { echo "$DOT_SETUP_PY_CLIENTS_PYTHON"; return 0; }
    echo "install_py_clients.sh: DOT_SETUP_PY_CLIENTS_PYTHON=$DOT_SETUP_PY_CLIENTS_PYTHON is not a Python >= 3.12 with venv" >&2
    return 1
  fi
  local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
  for c in python3.12 python3.13 "$pyenv_root"/versions/3.12*/bin/python3.12 \
           "$pyenv_root"/versions/3.13*/bin/python3.13; do
    if command -v "$c" >/dev/null 2>&1 && python_ok "$c"; then
      command -v "$c"
      return 0
    fi
  done
  echo "install_py_clients.sh: no Python >= 3.12 found (tried python3.12, python3.13 on PATH and" \
       "$pyenv_root/versions/3.12*, 3.13*); install one (e.g. `pyenv install 3.12`) or set" \
       "DOT_SETUP_PY_CLIENTS_PYTHON=/path/to/python3.12" >&2
  return 1
}
python="$(find_python)" || exit 2
py_version="$("$python" -c 'import platform; print(platform.python_version())')"

# ---- starting each command offline ----------------------------------------------------------------
check_home="$(mktemp -d)"
trap 'rm -rf "$check_home"' EXIT
start_argv() {  # how to start a command without network, login or config
  case "$1" in
    fast-agent) echo "--no-update-check --version" ;;
    gptme-util|mcp-cli) echo "--help" ;;  # neither has --version
    *) echo "--version" ;;
  esac
}
start_check() {  # program command
  local bin="$dir/$1/bin/$2" out
  # shellcheck disable=SC2046
  if ! out="$(cd "$check_home" && env -i PATH="$dir/$1/bin:/usr/local/bin:/usr/bin:/bin" \
        HOME="$check_home" XDG_CONFIG_HOME="$check_home/.config" XDG_CACHE_HOME="$check_home/.cache" \
        XDG_DATA_HOME="$check_home/.local/share" XDG_STATE_HOME="$check_home/.local/state" \
        VIBE_HOME="$check_home/.vibe" LANG=C.UTF-8 TERM=dumb CI=1 NO_COLOR=1 DO_NOT_TRACK=1 \
        DISABLE_TELEMETRY=1 HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
        NO_PROXY=127.0.0.1,localhost timeout 120 "$bin" $(start_argv "$2") </dev/null 2>&1)"; then
    echo "install_py_clients.sh: '$2 $(start_argv "$2")' failed:" >&2
    echo "$out" >&2
    return 1
  fi
  printf '    %-11s %s\n' "$2" "$(printf '%s\n' "$out" | grep -m1 -E '[0-9]+\.[0-9]+\.[0-9]+|Usage' | sed 's/[[:space:]]*$//' || true)"
}

installed_version() {  # program package
  "$dir/$1/bin/python" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$2"
}

pip() {  # program pip-args...
  local program="$1"; shift
  "$dir/$program/bin/python" -m pip --disable-pip-version-check --no-input "$@"
}

# Every installed distribution (pip itself aside) must be in the constraints at that version.
check_frozen() {  # program
  local program="$1" extra
  extra="$(pip "$program" freeze --all | grep -v -i '^pip==' | LC_ALL=C sort -f \
    | comm -23 - <(grep -v '^#' "$constraints_dir/$program.txt" | LC_ALL=C sort -f) || true)"
  if [[ -n "$extra" ]]; then
    echo "install_py_clients.sh: $program installed distributions that py-constraints/$program.txt does not pin" \
         "(another Python than the $py_version the constraints fit?):" >&2
    echo "$extra" >&2
    return 1
  fi
  pip "$program" check >/dev/null || { pip "$program" check >&2; return 1; }
}

install_program() {  # program
  local program="$1" pin="${pin_of[$1]}" package t0 c
  package="${pin%%==*}"
  t0=$(date +%s)
  rm -rf "${dir:?}/$program"
  "$python" -m venv "$dir/$program"
  if [[ "$mode" == latest ]]; then
    pip "$program" install -qq "$package"
  else
    pip "$program" install -qq -c "$constraints_dir/$program.txt" "$pin"
    check_frozen "$program"
    [[ "$(installed_version "$program" "$package")" == "${pin#*==}" ]] \
      || { echo "install_py_clients.sh: $package is not at ${pin#*==} after install" >&2; return 1; }
  fi
  echo "  $program: $package $(installed_version "$program" "$package") ($(( $(date +%s) - t0 )) s)"
  for c in ${cmds_of[$program]}; do
    if [[ -x "$dir/$program/bin/$c" ]] && start_check "$program" "$c"; then continue; fi
    [[ -x "$dir/$program/bin/$c" ]] || echo "install_py_clients.sh: $program has no command $c" >&2
    # A maintainer's --latest run reports every program that does not start and goes on: the
    # suite then shows what else changed. A pinned install must be whole.
    if [[ "$mode" == latest ]]; then broken+=("$program/$c"); continue; fi
    return 1
  done
}

broken=()
start=$(date +%s)
echo "installing ${mode/install/pinned} PyPI test clients into $dir (Python $py_version: $python)"
rm -f "$dir/$stamp_name"

if [[ "$mode" == latest ]]; then
  mkdir -p "$dir/py-constraints"
  new_pins="$dir/py-clients.txt"
  grep '^#' "$pins" > "$new_pins"
  for program in "${programs[@]}"; do
    install_program "$program"
    package="${pin_of[$program]%%==*}"
    version="$(installed_version "$program" "$package")"
    printf '%-11s %-25s %s\n' "$program" "$package==$version" "${cmds_of[$program]}" >> "$new_pins"
    { echo "# The whole dependency set of the pinned $program install (pip freeze of a good install, Python $py_version),"
      echo "# used as pip constraints by install_py_clients.sh. Regenerate with install_py_clients.sh --latest."
      pip "$program" freeze | LC_ALL=C sort -f; } > "$dir/py-constraints/$program.txt"
    echo "    pinned: ${pin_of[$program]}  newest: $package==$version"
  done
  echo "new pins in $new_pins and $dir/py-constraints/ (diff them against $here; see --help)"
  if (( ${#broken[@]} )); then
    echo "did not start (see above): ${broken[*]}" >&2
  fi
  echo "$want" > "$dir/$stamp_name"
  echo "installed in $(( $(date +%s) - start )) s"
  exit 0
fi

for program in "${programs[@]}"; do
  if [[ "$mode" != force ]] && program_ok "$program"; then
    echo "  $program: up to date (${pin_of[$program]})"
    continue
  fi
  install_program "$program"
  pin_hash "$program" > "$dir/$program/$pin_stamp_name"
done
# Venvs of programs no longer pinned are left alone; the tests only run the pinned ones.

echo "$want" > "$dir/$stamp_name"
echo "installed in $(( $(date +%s) - start )) s"
