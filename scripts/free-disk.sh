#!/usr/bin/env bash
# free-disk.sh: makes room in the Docker store before CI builds (called by .ci/run).
#
# CI runs on a long-lived machine whose image store and BuildKit cache carry over from run to
# run (that is what makes a run incremental). Two things grow without bound there:
#   - BuildKit's cache: trimmed to $KFIMAGES_CI_BUILD_CACHE (default 15GB; the least recently
#     used records go first, so the cache mounts and layers of the last run stay);
#   - old images of the project's repositories (`kfnb*`; $KFIMAGES_CI_REPOS, a regex): a
#     content tag such as the date (`2026-12-03`) or a `sha-...` tag keeps a replaced image
#     alive, 6.7 GB for each PyTorch image. Kept: every image a `latest*` or `previous*` tag names (what the next build reuses
#     and what the upgrade tests start from); every other tag of those repositories is removed.
# Then, if less than $KFIMAGES_CI_MIN_FREE (default 30GB: an arm64 PyTorch build with its
# wheels) is free in /var/lib/docker, the cache is trimmed further, to
# $KFIMAGES_CI_BUILD_CACHE_LOW (default 0: all of it; the next builds download again, which
# costs minutes, where a full disk costs the run and can stop dockerd).
# The store filled the disk here twice: a PyTorch build of each platform (dockerd stopped), and
# a run that rebuilt every image on top of an earlier run's cache (arm64 builds failed with "no
# space left on device"). So .ci/run also runs this between the platforms' smoke phases
# (scripts/test.sh, KFIMAGES_FREE_DISK=1): the replaced images of the first platform go then.
set -euo pipefail

log() { printf 'free-disk: %s\n' "$*" >&2; }

keep_cache="${KFIMAGES_CI_BUILD_CACHE:-15GB}"
min_free="${KFIMAGES_CI_MIN_FREE:-30GB}"
keep_cache_low="${KFIMAGES_CI_BUILD_CACHE_LOW:-0}"
if ! min_bytes="$(numfmt --from=iec "${min_free%B}" 2>/dev/null)"; then
  log "KFIMAGES_CI_MIN_FREE=${min_free} is not a size; give one such as 30GB"
  exit 2
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
log "BuildKit cache trimmed to ${keep_cache}: $(docker builder prune -f --keep-storage "${keep_cache}" | tail -n 1)"
free_bytes() { df --block-size=1 --output=avail "$(docker info --format '{{.DockerRootDir}}')" | tail -n 1 | tr -d ' '; }
if [ "$(free_bytes)" -lt "${min_bytes}" ]; then
  log "less than ${min_free} free: BuildKit cache trimmed to ${keep_cache_low}: $(docker builder prune -a -f --keep-storage "${keep_cache_low}" | tail -n 1)"
fi
log "$(numfmt --to=iec "$(free_bytes)")B free in the Docker store (wanted: ${min_free})"
