#!/usr/bin/env bash
# The project's test command (README, .ci/run): nox sessions lint, tests, integration, smoke.
#
# smoke builds and tests the images affected since $KFIMAGES_BASE_REF (unset: smoke is
# skipped, name images with `.venv/bin/nox -s smoke -- NAME...`). Extra arguments go to nox.
set -euo pipefail

cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/nox ]; then
  echo "test: .venv is missing; run: bash scripts/setup.sh" >&2
  exit 2
fi
# The smoke session builds the images: with the host's extra CA certificates, if any.
# shellcheck source=scripts/host-ca.sh
source scripts/host-ca.sh
exec .venv/bin/nox -s lint tests integration smoke "$@"
