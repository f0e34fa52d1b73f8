#!/usr/bin/env bash
# Installs and starts a Docker Engine with BuildKit and buildx on a Debian 12 or 13 host.
#
# Debian 12's own docker.io (20.10) lacks a BuildKit new enough for heredocs and
# bake `target:` contexts, so on bookworm the engine, CLI and buildx packages
# come from the trixie suite (fetched with a temporary apt source list) and the
# rest (containerd, runc, iptables...) from the host's own suite.
# Also installs debootstrap, used to create the OS image when no registry is reachable.
# Idempotent: re-running it on a ready host only checks that `docker info` answers.
set -euo pipefail

log() { printf 'install-docker: %s\n' "$*" >&2; }

MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
export DEBIAN_FRONTEND=noninteractive

have_engine() { command -v dockerd >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1; }

install_packages() {
  local codename
  # shellcheck source=/dev/null
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends debootstrap ca-certificates iptables >/dev/null
  if [ "$codename" = "trixie" ]; then
    apt-get install -y -qq --no-install-recommends docker.io docker-cli docker-buildx >/dev/null
    return
  fi
  local work
  work="$(mktemp -d)"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
  echo "deb $MIRROR trixie main" >"$work/sources.list"
  local -a opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")
  log "fetching docker.io, docker-cli and docker-buildx from the trixie suite"
  apt-get "${opts[@]}" update -qq
  (cd "$work/debs" && apt-get "${opts[@]}" download docker.io docker-cli docker-buildx)
  apt-get install -y -qq --no-install-recommends "$work"/debs/*.deb >/dev/null
  rm -rf "$work"
}

start_daemon() {
  if docker info >/dev/null 2>&1; then
    return
  fi
  # A dockerd that was killed leaves its containers' network namespaces mounted in its exec
  # root; each keeps a veth on docker0 with a container address, which the new daemon hands
  # out again: the new container with that address is then unreachable through its published
  # port (seen here: 502s through the tests' gateway). No daemon runs now, so every such
  # mount is a leftover.
  findmnt -rn -o TARGET | awk 'index($0, "/run/docker/netns/") == 1 || index($0, "/var/run/docker/netns/") == 1' \
    | xargs -r -n 1 umount -l
  log "starting dockerd (log: /var/log/dockerd.log)"
  # containerd comes as a dependency; dockerd starts its own when none runs. From /: the daemon
  # outlives the caller (a CI clone, a test's temporary folder), whose folder may be removed.
  (cd / && exec nohup dockerd >/var/log/dockerd.log 2>&1) &
  local i
  for i in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
      log "dockerd is up after ${i}s"
      return
    fi
    sleep 1
  done
  log "dockerd did not answer within 60s; see /var/log/dockerd.log"
  tail -n 20 /var/log/dockerd.log >&2 || true
  exit 1
}

if ! have_engine || ! command -v debootstrap >/dev/null 2>&1; then
  install_packages
fi
start_daemon
# A docker CLI installed elsewhere on PATH (e.g. /usr/local/bin) may not see the buildx plugin.
docker buildx version >/dev/null 2>&1 || { log "docker buildx is missing after install"; exit 1; }
log "ready: $(docker version --format 'engine {{.Server.Version}}') / $(docker buildx version)"
