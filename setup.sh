#!/usr/bin/env bash
# Set up vrpsr in ./.venv. `./setup.sh --dev` adds the test tools: pytest, SeaweedFS (S3 on loopback)
# and Debian's x264/x265 CLIs (bit-exactness references; installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "--dev" ]; then
  if ! command -v x264 >/dev/null || ! command -v x265 >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get install -y -q x264 x265 >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q x264 x265 >/dev/null; }
  fi
  .venv/bin/python -m pip install -q -e '.[dev]'
else
  .venv/bin/python -m pip install -q -e .
fi
echo "vrpsr is set up in $(pwd)/.venv"
