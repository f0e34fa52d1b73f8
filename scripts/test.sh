#!/usr/bin/env bash
# The project's test command (README, .ci/run): nox sessions lint, tests, integration, smoke.
#
# smoke builds and tests the images affected since $KFIMAGES_BASE_REF (unset: smoke is
# skipped, name images with `.venv/bin/nox -s smoke -- NAME...`), with the host's extra CA
# certificates, if any (scripts/tool-env.sh). Extra arguments go to nox.
set -euo pipefail
# shellcheck source=scripts/tool-env.sh
source "$(dirname "$0")/tool-env.sh"
sessions=(lint tests integration)
if [ -n "${KFIMAGES_BASE_REF:-}" ]; then
  sessions+=(smoke) # the images affected since $KFIMAGES_BASE_REF (invoke smoke)
else
  echo "test.sh: KFIMAGES_BASE_REF is not set: smoke tests skipped (.venv/bin/nox -s smoke -- NAME...)" >&2
fi
exec .venv/bin/nox -s "${sessions[@]}" "$@"
