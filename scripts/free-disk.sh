#!/usr/bin/env bash
# free-disk.sh [--between-legs | --reset-when-low [--every-image]]: makes room in the Docker
# store before CI builds (called by .ci/run before the tests, and by scripts/test.sh between two
# platforms' smoke phases).
#
# CI runs on a long-lived machine whose image store and BuildKit cache carry over from run to
# run (that is what makes a run incremental). Two things grow without bound there:
#   - BuildKit's cache: trimmed to $KFIMAGES_CI_BUILD_CACHE (default 15GB; the least recently
#     used records go first, so the cache mounts and layers of the last run stay);
#   - old images of the project's repositories (`kfnb*`; $KFIMAGES_CI_REPOS, a regex): a
#     content tag such as the date (`2026-12-03`) or a `sha-...` tag keeps a replaced image
#     alive, 6.7 GB for each PyTorch image. Kept: every image a `latest*` or `previous*` tag
#     names (what the next build reuses and what the upgrade tests start from); every other tag
#     of those repositories is removed.
# Then, if less than $KFIMAGES_CI_MIN_FREE (default 30GB: an arm64 PyTorch build with its
# wheels) is free in Docker's data root, the cache is trimmed further, to
# $KFIMAGES_CI_BUILD_CACHE_LOW (default 0: all of it; the next builds download again, which costs
# minutes, where a full disk costs the run and can stop dockerd).
# --every-image (.ci/run, when a root image is affected): the run rebuilds every image, for both
# platforms, beside the images and the cache it replaces; it wants the larger of
# $KFIMAGES_CI_MIN_FREE and $KFIMAGES_CI_MIN_FREE_ALL (default 50GB). With 32 GB free, such a run
# stopped at its arm64 builds with "no space left on device" (2026-12-05).
# --between-legs (scripts/test.sh, when .ci/run sets KFIMAGES_FREE_DISK=1): the replaced images
# of the first platform go and the low-room trim applies, but not the routine trim to
# $KFIMAGES_CI_BUILD_CACHE: mid-run, its least recently used records are what the next
# platform's builds are about to reuse.
# --reset-when-low (.ci/run, at the start of a run only): if even an empty cache leaves less
# than $KFIMAGES_CI_MIN_FREE,
# the store holds layers Docker no longer lists (parallel builds and a daemon killed mid-build
# leak them: moby/moby#46136, #45939; seen here: 22.5 GB of layers held by 345 mounts of no
# container, with `docker system df` counting 32.5 GB of images in a 54 GB overlay2). No prune
# reaches those, so the store is reset: dockerd stops, its data root is emptied, dockerd starts
# again (scripts/install-docker.sh) and this run builds every image it needs from scratch (a
# cold run). Never without the option (the tests run this script with limits no disk meets),
# and not between two platforms: the second one's builds copy from the first one's images.
# The store filled the disk here twice: a PyTorch build of each platform (dockerd stopped), and
# a run that rebuilt every image on top of an earlier run's cache (the arm64 builds failed with
# "no space left on device" after the amd64 ones).
# Sizes: 30GB, 30GiB, 30g, 512M, 0 (binary units, as Docker's: 1GB = 1024^3 bytes).
set -euo pipefail

log() { printf 'free-disk: %s\n' "$*" >&2; }

usage="usage: free-disk.sh [--between-legs | --reset-when-low [--every-image]]"
between_legs=""
reset_when_low=""
every_image=""
for arg in "$@"; do
  case "${arg}" in
    --between-legs) between_legs=1 ;;
    --reset-when-low) reset_when_low=1 ;;
    --every-image) every_image=1 ;;
    *)
      log "unknown argument ${arg}; ${usage}"
      exit 2
      ;;
  esac
done
if [ -n "${between_legs}" ] && [ -n "${reset_when_low}${every_image}" ]; then
  log "--between-legs runs mid-run, without --reset-when-low or --every-image; ${usage}"
  exit 2
fi

# bytes NAME VALUE: VALUE in bytes, or one line naming the setting and exit 2.
bytes() {
  local value="${2^^}"
  value="${value%B}"
  if ! numfmt --from=iec "${value%I}" 2>/dev/null; then
    log "${1}=${2} is not a size; give one such as 30GB"
    exit 2
  fi
}
keep_cache="${KFIMAGES_CI_BUILD_CACHE:-15GB}"
min_free="${KFIMAGES_CI_MIN_FREE:-30GB}"
keep_cache_low="${KFIMAGES_CI_BUILD_CACHE_LOW:-0}"
bytes KFIMAGES_CI_BUILD_CACHE "${keep_cache}" >/dev/null
bytes KFIMAGES_CI_BUILD_CACHE_LOW "${keep_cache_low}" >/dev/null
min_bytes="$(bytes KFIMAGES_CI_MIN_FREE "${min_free}")"
if [ -n "${every_image}" ]; then
  min_free_all="${KFIMAGES_CI_MIN_FREE_ALL:-50GB}"
  all_bytes="$(bytes KFIMAGES_CI_MIN_FREE_ALL "${min_free_all}")"
  if [ "${all_bytes}" -gt "${min_bytes}" ]; then
    min_free="${min_free_all}" min_bytes="${all_bytes}"
  fi
fi

repos="${KFIMAGES_CI_REPOS:-^kfnb}"
refs="$(docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}' | awk -v re="${repos}" '$1 ~ re')"
kept="$(awk '{ split($1, p, ":"); if (p[2] ~ /^(latest|previous)(-|$)/) print $2 }' <<<"${refs}" | sort -u)"
stale=()
while read -r ref id; do
  [ -n "${ref}" ] || continue
  grep -qx "${id}" <<<"${kept}" || stale+=("${ref}")
done <<<"${refs}"
if [ "${#stale[@]}" -gt 0 ]; then
  log "removing ${#stale[@]} old tags of replaced images (kept: latest*, previous*)"
  docker rmi "${stale[@]}" >/dev/null || log "some old tags are in use; kept"
fi
docker image prune -f >/dev/null

# trim LIMIT [-a]: prune the BuildKit cache down to LIMIT; a failing prune fails the script.
trim() {
  local out
  out="$(docker builder prune -f "${@:2}" --keep-storage "${1}")"
  log "BuildKit cache trimmed to ${1}: $(tail -n 1 <<<"${out}")"
}
free_bytes() {
  local root free
  root="$(docker info --format '{{.DockerRootDir}}')"
  free="$(df --block-size=1 --output=avail "${root}" | tail -n 1 | tr -d ' ')"
  if ! [[ "${free}" =~ ^[0-9]+$ ]]; then
    log "cannot read the free space of ${root} (df gave: ${free})"
    exit 1
  fi
  printf '%s\n' "${free}"
}
[ -n "${between_legs}" ] || trim "${keep_cache}"
free="$(free_bytes)"
if [ "${free}" -lt "${min_bytes}" ]; then
  log "less than ${min_free} free ($(numfmt --to=iec "${free}")B)"
  trim "${keep_cache_low}" -a
  free="$(free_bytes)"
fi

# reset_store: stops dockerd, empties its data root (Docker's own state only: its images,
# containers, volumes and build cache) and starts it again. One line and exit 1 when dockerd is
# not a process of this machine that can be stopped (e.g. a remote DOCKER_HOST).
reset_store() {
  local root pid i
  root="$(docker info --format '{{.DockerRootDir}}')"
  if ! [[ "${root}" =~ ^/.+/docker$ ]] || ! [ -d "${root}/image" ]; then
    log "will not reset ${root}: not a Docker data root; free room by hand, then run again"
    exit 1
  fi
  pid="$(pidof dockerd || true)"
  if ! [[ "${pid}" =~ ^[0-9]+$ ]]; then
    log "cannot reset the store: no single dockerd process here (found: '${pid}'); free room by hand"
    exit 1
  fi
  log "resetting the Docker store ${root}: Docker keeps layers it no longer lists there (every image of this run is built from scratch)"
  kill "${pid}"
  for i in $(seq 1 60); do
    kill -0 "${pid}" 2>/dev/null || break
    [ "${i}" -lt 60 ] || { log "dockerd (pid ${pid}) did not stop within 60s"; exit 1; }
    sleep 1
  done
  # A daemon that was killed leaves its containers' overlay mounts behind: unmount them first
  # so that removing the data root cannot reach through a mount.
  findmnt -rn -o TARGET | awk -v root="${root}/" 'index($0, root) == 1' | sort -r \
    | xargs -r -n 1 umount -l
  find "${root}" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} +
  bash "$(dirname "${BASH_SOURCE[0]}")/install-docker.sh"
}

if [ -n "${reset_when_low}" ] && [ "${free}" -lt "${min_bytes}" ]; then
  log "still less than ${min_free} free with no build cache ($(numfmt --to=iec "${free}")B)"
  reset_store
  free="$(free_bytes)"
fi
log "$(numfmt --to=iec "${free}")B free in the Docker store (wanted: ${min_free})"
