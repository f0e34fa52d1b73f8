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
# (old tags of kfnb/... only).
# The builds keep the engine's default CPU weight. Tried on a 2-core machine (2026-12-05): the
# emulated legs' RUN steps in a cgroup of cpu.shares 64 (`buildx build --cgroup-parent`) took
# the integration phase from 1072 s to 666 s, but the arm64 builds (cold in both runs) from
# 818 s to 1204 s, and the smoke phase of arm64 then waited for them: the run was no shorter
# (the work is the same and the CPU is the limit). The cgroup parent is also part of
# BuildKit's cache key: a later build of the same step without it (the multi-platform push
# test) found no cache.
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
  first=""
  if [ "$code" = 0 ]; then # no build on a disk free-disk.sh could not make room on
    .venv/bin/nox -s smoke "$@" -- affected --platform "$platform" --build-only \
      >>"$dir/$arch.log" 2>&1
    code=$?
  fi
  phases_background "builds $platform" "$start" "$code"
  echo "$code" >"$dir/$arch.exit.tmp" && mv "$dir/$arch.exit.tmp" "$dir/$arch.exit" # whole
done
