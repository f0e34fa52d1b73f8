#!/usr/bin/env bash
# The project's test command (README, .ci/run): nox sessions lint, tests, integration, smoke.
#
# smoke builds and tests the images affected since $KFIMAGES_BASE_REF (unset: smoke is
# skipped, name images with `.venv/bin/nox -s smoke -- NAME...`). The builds trust the build
# host's CA store for their downloads (invoke build's `build-ca` secret), and the smoke tests
# mount the host's local CAs where a container downloads at run time, as a platform mounts
# its CA (tests/images/conftest.py). Extra arguments go to nox.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  echo "test.sh: .venv is missing; run: bash scripts/setup.sh" >&2
  exit 2
fi
sessions=(lint tests integration)
if [ -n "${KFIMAGES_BASE_REF:-}" ]; then
  sessions+=(smoke) # the images affected since $KFIMAGES_BASE_REF (invoke smoke)
else
  echo "test.sh: KFIMAGES_BASE_REF is not set: smoke tests skipped (.venv/bin/nox -s smoke -- NAME...)" >&2
fi
exec .venv/bin/nox -s "${sessions[@]}" "$@"
