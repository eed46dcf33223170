#!/usr/bin/env bash
# vibsentry developer entry point. The README's two commands:
#   ./dev.sh demo   - set up whatever is missing, then run the main job (`vibsentry demo`)
#   ./dev.sh test   - set up whatever is missing, then run the whole test suite (lint, types, C, Python)
# Also: ./dev.sh setup (only install), ./dev.sh run ARGS... (any vibsentry subcommand in the venv).
# Safe to run again: every step checks first and does nothing when already done.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
VENV=$ROOT/.venv
PY=${PYTHON:-python3}

# Debian packages the project uses: cross compilers, QEMU, InfluxDB 1.x, Chromium, fuzzing and static analysis.
APT_PACKAGES=(
  python3-venv python3-dev build-essential git
  gcc-arm-none-eabi libnewlib-arm-none-eabi gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc
  qemu-system-arm influxdb chromium chromium-driver
  clang libclang-rt-14-dev llvm cppcheck socat libsndfile1
  mosquitto mosquitto-clients
)

log() { printf '[dev.sh] %s\n' "$*" >&2; }

install_debian_packages() {
  command -v dpkg-query >/dev/null || { log "not a Debian system: skipping system packages"; return; }
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages (run as root to install them): ${missing[*]}"
    log "tests that need them will be skipped with a reason"
    return
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PY" -m venv "$VENV"
  fi
  # uv installs from its cache by hard link, so a fresh clone re-uses the ~2 GB TensorFlow install in seconds.
  [ -x "$VENV/bin/uv" ] || "$VENV/bin/python" -m pip install -q uv
  local stamp="$VENV/.vibsentry-installed"
  local want
  want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! "$VENV/bin/python" -c 'import vibsentry' 2>/dev/null; then
    log "installing Python packages into $VENV (first time: several minutes for TensorFlow)"
    "$VENV/bin/uv" pip install --python "$VENV/bin/python" -q -e ".[train,dashboard,dev]"
    echo "$want" >"$stamp"
  fi
}

setup() {
  install_debian_packages
  install_python
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup ;;
  demo)
    setup
    exec "$VENV/bin/vibsentry" demo "$@"
    ;;
  test)
    setup
    # Lint, type checks, C builds and fuzzing all run as pytest tests, so one summary line counts everything.
    set +e
    "$VENV/bin/python" -m pytest "$@"
    rc=$?
    set -e
    [ $rc -eq 5 ] && { log "pytest collected no tests"; exit 1; }
    exit $rc
    ;;
  run)
    setup
    exec "$VENV/bin/vibsentry" "$@"
    ;;
  *)
    echo "usage: ./dev.sh demo|test|setup|run [ARGS...]" >&2
    exit 2
    ;;
esac
