#!/usr/bin/env bash
# Set up vrpsr in ./.venv, with the versions pinned in constraints.txt.
#   ./setup.sh            factory + training + evaluation (torch, diffusers, ...)
#   ./setup.sh --factory  the factory only (`vrpsr generate`, `vrpsr shards`): CPU workers, no torch
#   ./setup.sh --dev      everything plus the test tools: pytest, SeaweedFS (S3 on loopback), Debian's
#                         x264/x265 CLIs (bit-exactness references) and chromium (a headless browser for the
#                         `vrpsr shards show` page), installed with apt-get when missing
# A .venv made on another machine (other Python or paths) is not reused: it is rebuilt.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
MODE=${1:-}
case "$MODE" in
  "") EXTRAS="[train]" ;;
  --factory) EXTRAS="" ;;
  --dev) EXTRAS="[train,dev]" ;;
  *) echo "usage: $0 [--factory|--dev]" >&2; exit 2 ;;
esac
if [ -e .venv ] && ! .venv/bin/python -c "import os, sys; sys.exit(os.path.realpath(sys.prefix) != os.path.realpath('.venv'))" 2>/dev/null; then
  echo "setup.sh: .venv was not made here (or is broken): rebuilding it" >&2
  rm -rf .venv
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "$MODE" = "--dev" ]; then
  if ! command -v x264 >/dev/null || ! command -v x265 >/dev/null || ! command -v chromium >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get install -y -q x264 x265 chromium >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q x264 x265 chromium >/dev/null; }
  fi
fi
.venv/bin/python -m pip install -q -c constraints.txt -e ".$EXTRAS"
echo "vrpsr is set up in $(pwd)/.venv"
