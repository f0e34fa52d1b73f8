#!/usr/bin/env bash
# `invoke build` with the host's extra CA certificates, if it has any (scripts/host-ca.sh):
# what a machine behind a TLS-intercepting proxy needs. Arguments go to `invoke build`,
# e.g. bash scripts/build.sh jupyter --jobs 2
set -euo pipefail

cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/invoke ]; then
  echo "build: .venv is missing; run: bash scripts/setup.sh" >&2
  exit 2
fi
# shellcheck source=scripts/host-ca.sh
source scripts/host-ca.sh
exec .venv/bin/invoke build "$@"
