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
# The store filled the disk here once (a PyTorch build of each platform), which stopped dockerd.
set -euo pipefail

log() { printf 'free-disk: %s\n' "$*" >&2; }

keep_cache="${KFIMAGES_CI_BUILD_CACHE:-15GB}"
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
log "$(df -h --output=avail,pcent /var/lib/docker | tail -n 1 | awk '{print $1 " free (" $2 " used)"}') in /var/lib/docker"
