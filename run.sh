#!/usr/bin/env bash
# ivfast's set-up-and-run entry point.
#
#   ./run.sh demo [args]   set everything up, then run the end-to-end demo (ivfast demo)
#   ./run.sh test [args]   set everything up, then lint (ruff), type-check (mypy) and run the test
#                          suite without its slow set; ./run.sh test -m slow runs the slow set
#   ./run.sh bench [args]  set everything up, then run the benchmarks in bench/
#
# Set-up is idempotent: system packages (a C++ compiler, FFTW3) through apt-get when missing,
# a virtual environment in .venv (or the active one), the CPU build of torch when torch is
# absent, and ivfast itself with its extras. Environment knobs:
#   IVFAST_PYTHON     interpreter to create .venv with (default: python3)
#   IVFAST_VENV       where the virtual environment lives (default: <repo>/.venv)
#   TORCH_INDEX_URL   extra index for torch (e.g. https://download.pytorch.org/whl/cpu) where
#                     plain `pip install torch==2.13.0` would fetch the CUDA build
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$repo"
command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
  demo|test|bench) ;;
  *) echo "usage: ./run.sh demo|test|bench [args...]" >&2; exit 2 ;;
esac

log() { printf '[ivfast setup] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root to run: $*"; return 1
  fi
}

apt_install() {
  command -v apt-get >/dev/null 2>&1 || { log "apt-get not found: install $* with your package manager"; return 1; }
  log "installing system packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- system packages -------------------------------------------------------------------
missing=()
command -v g++ >/dev/null 2>&1 || missing+=(g++)
if ! printf '#include <fftw3.h>\n' | g++ -E -x c++ - >/dev/null 2>&1; then missing+=(libfftw3-dev); fi
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

# --- Python environment ----------------------------------------------------------------
if [ -n "${VIRTUAL_ENV:-}" ] && [ -z "${IVFAST_VENV:-}" ]; then
  py="$VIRTUAL_ENV/bin/python"
else
  venv="${IVFAST_VENV:-$repo/.venv}"
  if [ ! -x "$venv/bin/python" ]; then
    log "creating virtual environment $venv"
    if ! "${IVFAST_PYTHON:-python3}" -m venv "$venv" 2>/dev/null; then
      pyver="$("${IVFAST_PYTHON:-python3}" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
      apt_install "python${pyver}-venv" || apt_install python3-venv
      "${IVFAST_PYTHON:-python3}" -m venv "$venv"
    fi
  fi
  py="$venv/bin/python"
fi
pip=("$py" -m pip --disable-pip-version-check)

if ! "$py" -c 'import torch' >/dev/null 2>&1; then
  log "installing the CPU build of torch 2.13.0"
  if [ -n "${TORCH_INDEX_URL:-}" ]; then
    "${pip[@]}" install -q torch==2.13.0 --index-url "$TORCH_INDEX_URL"
  else
    "${pip[@]}" install -q torch==2.13.0
  fi
fi

case "$command" in
  demo) extras="torch,plot" ;;
  test) extras="torch,plot,scale,test" ;;
  bench) extras="torch,plot,scale,test,bench" ;;
esac
log "building and installing ivfast[$extras]"
"${pip[@]}" install -q "$repo[$extras]"

# --- run -------------------------------------------------------------------------------
case "$command" in
  demo) exec "$py" -m ivfast.cli demo "$@" ;;
  test)
    log "ruff check and mypy"
    "$py" -m ruff check "$repo/python" "$repo/tests" "$repo/bench"
    (cd "$repo" && "$py" -m mypy)
    exec "$py" -m pytest "$repo/tests" "$@" ;;
  bench) exec "$py" -m pytest "$repo/bench" --benchmark-only -p no:cacheprovider "$@" ;;
esac
