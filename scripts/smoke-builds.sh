#!/usr/bin/env bash
# smoke-builds.sh DIR PLATFORM... [-- NOX_OPTION...]: builds the images the smoke phases will test, one platform
# after the other (`nox -s smoke -- affected --platform P --build-only`: the images affected
# since $KFIMAGES_BASE_REF, their SBOMs and manifests), for scripts/test.sh, which runs it in the
# background while the integration tests run: those mostly wait on the engine and on
# registries, builds compute (under QEMU for another platform). Builds under the `kfnb` prefix
# and the integration tests' `kfit-<hex>` ones take different build locks
# (kfimages/build/enginelock.py).
#
# For each platform P (arch A): DIR/A.log (the build's output), then DIR/A.exit (its exit
# code), written when that platform's builds end, and a `background: builds P` phase
# (scripts/phases.sh). The smoke phase of P waits for DIR/A.exit, then tests: its smoke run
# builds nothing when every image is built (and builds again, reporting it, what failed here).
# KFIMAGES_FREE_DISK=1: scripts/free-disk.sh --between-legs before each platform but the first
# (old tags of kfnb/... only). KFIMAGES_BACKGROUND_CGROUP (.ci/run: scripts/background-cgroup.sh):
# each platform but the first (the host's; the others build under QEMU, beside the tests for
# most of a run) builds with it as KFIMAGES_CGROUP_PARENT, at a low CPU weight.
set -uo pipefail # no -e: every platform is built and gets its exit file, whatever happened
cd "$(dirname "$0")/.." || exit 2
# shellcheck source=scripts/phases.sh
source scripts/phases.sh
dir=$1
shift
platforms=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  platforms+=("$1")
  shift
done
[ $# -eq 0 ] || shift # what follows `--`: nox options, as test.sh got them
first=1
for platform in "${platforms[@]}"; do
  arch=${platform#*/}
  start=$(_phases_now_us)
  : >"$dir/$arch.log"
  code=0
  if [ "${KFIMAGES_FREE_DISK:-}" = 1 ] && [ -z "$first" ]; then
    # Only the project's own repositories (kfnb/...): the integration tests running meanwhile
    # build throwaway images under other kfnb* prefixes (kfnb-scaffold-<hex>, kfnbfd-test).
    KFIMAGES_CI_REPOS='^kfnb/' bash scripts/free-disk.sh --between-legs >>"$dir/$arch.log" 2>&1 ||
      code=$?
  fi
  if [ "$code" = 0 ]; then # no build on a disk free-disk.sh could not make room on
    cgroup=${KFIMAGES_CGROUP_PARENT:-} # the host's platform: as the caller has it
    [ -n "$first" ] || cgroup=${KFIMAGES_BACKGROUND_CGROUP:-$cgroup}
    KFIMAGES_CGROUP_PARENT=$cgroup \
      .venv/bin/nox -s smoke "$@" -- affected --platform "$platform" --build-only \
      >>"$dir/$arch.log" 2>&1
    code=$?
  fi
  first=""
  phases_background "builds $platform" "$start" "$code"
  echo "$code" >"$dir/$arch.exit.tmp" && mv "$dir/$arch.exit.tmp" "$dir/$arch.exit" # whole
done
