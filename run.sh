#!/usr/bin/env bash
# The kit's entry point: set-up (virtual environment, pinned Python packages and, as
# root, the Debian toolchains) followed by one job.
#
#   ./run.sh demo    set up, then run the whole path (bedside demo)
#   ./run.sh test    set up, then run the test suite (the CI command)
#   ./run.sh setup   set up only
set -euo pipefail
cd "$(dirname "$0")"

VENV=${BEDSIDE_VENV:-.venv}
APT_PACKAGES="cmake g++ gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm clang
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc gcc-xtensa-lx106 picolibc-xtensa-lx106-elf"

setup_apt() {
  local missing=()
  for tool in cmake g++ arm-none-eabi-g++ qemu-system-arm clang riscv64-unknown-elf-gcc qemu-system-riscv32 xtensa-lx106-elf-gcc; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian packages: $APT_PACKAGES"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $APT_PACKAGES >/dev/null
  else
    echo "!!  missing tools: ${missing[*]}" >&2
    echo "!!  run as root, or: sudo apt-get install $APT_PACKAGES" >&2
    echo "!!  (the host firmware needs cmake/g++; the emulated boards need the cross toolchains and QEMU)" >&2
  fi
}

setup_python() {
  local py=${PYTHON:-python3}
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating virtual environment $VENV"
    "$py" -m venv "$VENV" || { echo "!!  python3 -m venv failed: apt-get install python3-venv" >&2; exit 1; }
  fi
  local stamp="$VENV/.installed"
  if [ ! -f "$stamp" ] || [ requirements.lock -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "==> installing pinned Python packages (requirements.lock)"
    local log="$VENV/pip.log"
    if ! { "$VENV/bin/python" -m pip install -q --upgrade pip &&
           "$VENV/bin/python" -m pip install -q -r requirements.lock &&
           "$VENV/bin/python" -m pip install -q --no-deps -e . ; } >"$log" 2>&1; then
      grep -v '^WARNING: Location' "$log" | tail -20 >&2
      echo "!!  pip install failed (full log: $log)" >&2
      exit 1
    fi
    touch "$stamp"
  fi
}

job=${1:-demo}
shift || true
case "$job" in
  setup) setup_apt; setup_python ;;
  demo)  setup_apt; setup_python; exec "$VENV/bin/bedside" demo "$@" ;;
  test)  setup_apt; setup_python; exec "$VENV/bin/python" -m pytest -q "$@" ;;
  *) echo "usage: ./run.sh [demo|test|setup] [args...]" >&2; exit 2 ;;
esac
