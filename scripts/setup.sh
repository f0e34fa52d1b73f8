#!/usr/bin/env bash
# Sets up a Debian 12/13 host (as root) to build the images:
#   - the Docker Engine with BuildKit and buildx, plus debootstrap (scripts/install-docker.sh),
#   - the project's Python tools, pinned in requirements.txt, in ./.venv.
# Idempotent. Afterwards: .venv/bin/invoke build jupyter
set -euo pipefail

log() { printf 'setup: %s\n' "$*" >&2; }

cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || ! command -v git >/dev/null 2>&1; then
  log "installing python3-venv and git"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3-venv git >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
log "installing the pinned Python tools (requirements.txt) into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt

bash scripts/install-docker.sh
log "ready: .venv/bin/invoke list"
