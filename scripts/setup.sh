#!/usr/bin/env bash
# Install everything sparsesim needs on a Debian/Ubuntu machine with Python 3.11:
#   - system tools from apt (Icarus Verilog, ccache, tclsh for the shell TCL's checks; chromium, only for the
#     test that loads report.html in a headless browser) when run as root or with sudo;
#   - a virtualenv in .venv with sparsesim (editable) and all extras (RTL, sweeps, tests, lint).
# Idempotent: a second run only checks, unless pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
APT_PACKAGES=(iverilog ccache tcl chromium)

missing=()
command -v iverilog >/dev/null 2>&1 || missing+=(iverilog)
command -v ccache >/dev/null 2>&1 || missing+=(ccache)
command -v tclsh >/dev/null 2>&1 || missing+=(tcl)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="none"; fi
  if [ "$SUDO" = none ]; then
    echo "setup: cannot install ${missing[*]} (not root, no sudo); RTL tests on Icarus need iverilog," \
      "tests/report needs chromium (or set SPARSESIM_SKIP_BROWSER=1)" >&2
  else
    echo "setup: apt-get install ${APT_PACKAGES[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)" >&2
  "$PY" -m venv .venv
fi
stamp=.venv/.sparsesim-setup
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing sparsesim and its dependencies into .venv (torch 2.13.0 CPU; about 2 minutes)" >&2
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install -q -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import sparsesim, sparsesim.rtl, torch, amaranth, cocotb, numba, altair, vl_convert, tqdm, cocotbext.axi, optuna" >/dev/null
  echo "$want" > "$stamp"
fi
echo "setup: ready (.venv/bin/sparsesim)" >&2
