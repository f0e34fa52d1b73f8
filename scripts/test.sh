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
# KFIMAGES_FREE_DISK=1 (.ci/run sets it) runs scripts/free-disk.sh between two platforms' builds:
# what the first platform's builds replaced goes before the next platform builds.
#
# With $KFIMAGES_BASE_REF, the smoke phases' images are built in the background while the
# integration tests run (scripts/smoke-builds.sh, one platform after the other: the tests mostly
# wait, builds compute); each platform's smoke phase waits for its builds, then tests (its smoke
# run builds nothing when every image is built). A stopped or failed run stops those builds.
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
builds_pid="" builds_dir=artifacts/smoke/builds
# shellcheck disable=SC2329 # the EXIT trap
on_exit() {
  local code=$?
  if [ -n "$builds_pid" ] && kill -0 "$builds_pid" 2>/dev/null; then
    # its session: nox, invoke, buildx. `|| true`: set -e holds in a trap, and the killed
    # job's status (143) would end the trap before the phase and the exit code are recorded.
    kill -TERM -- "-$builds_pid" 2>/dev/null || true
    wait "$builds_pid" 2>/dev/null || true
  fi
  phases_exit "$code"
}
phases_trap on_exit

# Wait until the builds of platform $1 (started by smoke-builds.sh) have ended, print their
# output, and set builds_code to their exit code.
builds_code=""
wait_for_builds() {
  local arch=${1#*/}
  while [ ! -e "$builds_dir/$arch.exit" ]; do
    if ! kill -0 "$builds_pid" 2>/dev/null && [ ! -e "$builds_dir/$arch.exit" ]; then
      echo "test.sh: the background builds ended before $1's (log: $builds_dir/$arch.log)" >&2
      return 1
    fi
    sleep 2
  done
  builds_code="$(cat "$builds_dir/$arch.exit")"
  echo "===== background builds of $1 ($builds_dir/$arch.log), exit $builds_code"
  cat "$builds_dir/$arch.log"
  echo "===== end of the background builds of $1"
}

phases_begin lint
.venv/bin/nox -s lint "$@"
phases_begin "unit tests"
.venv/bin/nox -s tests "$@"
phases_end
platforms="$(.venv/bin/python -m kfimages.platforms)" # the host's first
if [ -n "${KFIMAGES_BASE_REF:-}" ]; then
  rm -rf "$builds_dir" && mkdir -p "$builds_dir"
  # shellcheck disable=SC2086 # one argument per platform
  setsid bash scripts/smoke-builds.sh "$builds_dir" $platforms -- "$@" </dev/null &
  builds_pid=$!
fi
phases_begin integration
.venv/bin/nox -s integration "$@"
phases_end
if [ -z "${KFIMAGES_BASE_REF:-}" ]; then
  echo "test.sh: KFIMAGES_BASE_REF is not set: smoke tests skipped (.venv/bin/nox -s smoke -- NAME...)" >&2
  exit 0
fi
for platform in $platforms; do
  phases_begin "smoke $platform"
  wait_for_builds "$platform"
  .venv/bin/nox -s smoke "$@" -- affected --platform "$platform" # since $KFIMAGES_BASE_REF
  # The tests ran on what was built; a build that failed after moving its ref (a content
  # tag, `previous`) still fails the phase.
  if [ "$builds_code" != 0 ]; then
    echo "test.sh: the builds of $platform failed (exit $builds_code; their output is above)" >&2
    exit 1
  fi
done
phases_end
