#!/usr/bin/env bash
# The project's test command (README, .ci/run): nox sessions lint, tests, integration, smoke.
#
# smoke builds and tests the images affected since $KFIMAGES_BASE_REF (unset: smoke is
# skipped, name images with `.venv/bin/nox -s smoke -- NAME...`), one platform after the other
# (the host's, then the images that opt into another one's `emulated` tests under QEMU). The
# integration session runs the build system's tests that the changes since $KFIMAGES_BASE_REF
# can affect (`invoke integration`; it prints what it runs or why it skips). The builds trust
# the build host's CA store for their downloads (invoke build's `build-ca` secret), and the
# smoke tests mount the host's local CAs where a container downloads at run time, as a platform
# mounts its CA (tests/images/conftest.py). Extra arguments (nox options) go to every nox call.
#
# KFIMAGES_FREE_DISK=1 (.ci/run sets it) runs scripts/free-disk.sh between two platforms' smoke
# phases: what the first platform's builds replaced goes before the next platform builds.
#
# Each session is a timed phase (scripts/phases.sh): run from .ci/run, into its phase file;
# else into artifacts/test-phases.tsv, and the table is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  echo "test.sh: .venv is missing; run: bash scripts/setup.sh" >&2
  exit 2
fi
# shellcheck source=scripts/phases.sh
source scripts/phases.sh
if [ -z "${KFIMAGES_PHASES:-}" ]; then
  phases_open artifacts/test-phases.tsv started "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    head "$(git rev-parse HEAD)" base "${KFIMAGES_BASE_REF:-}"
fi
phases_trap

phases_begin lint
.venv/bin/nox -s lint "$@"
phases_begin "unit tests"
.venv/bin/nox -s tests "$@"
phases_begin integration
.venv/bin/nox -s integration "$@"
phases_end
if [ -z "${KFIMAGES_BASE_REF:-}" ]; then
  echo "test.sh: KFIMAGES_BASE_REF is not set: smoke tests skipped (.venv/bin/nox -s smoke -- NAME...)" >&2
  exit 0
fi
platforms="$(.venv/bin/python -m kfimages.platforms)" # the host's first
first=1
for platform in $platforms; do
  if [ "${KFIMAGES_FREE_DISK:-}" = 1 ] && [ -z "$first" ]; then
    phases_begin "disk $platform"
    bash scripts/free-disk.sh --between-legs
  fi
  phases_begin "smoke $platform"
  first=""
  .venv/bin/nox -s smoke "$@" -- affected --platform "$platform" # since $KFIMAGES_BASE_REF
done
phases_end
