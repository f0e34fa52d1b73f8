#!/usr/bin/env bash
# Sourced by .ci/run: which services a CI run may switch off on the host.
#
# .ci/run installs docker-registry and nginx for their binaries only (the tests start their
# own registry and nginx on free loopback ports) and keeps their services from starting. A
# host that had the package before may be using its service: only what this run installed is
# disabled. Record `not_installed` before `apt-get install`, pass the result to
# `disable_units` after it.

# not_installed PACKAGE...: each PACKAGE that dpkg does not list as installed, one a line
# (unknown, removed, or only its configuration files left).
not_installed() {
  local package status
  for package in "$@"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)"
    if [ "$status" != installed ]; then
      printf '%s\n' "$package"
    fi
  done
}

# disable_units SERVICE...: stop each service and keep it from starting at boot: the systemd
# unit where systemd runs the host, else the sysv links. No SERVICE: nothing.
disable_units() {
  local service
  for service in "$@"; do
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
      systemctl disable --now "$service.service" >/dev/null 2>&1 || true
    elif command -v update-rc.d >/dev/null 2>&1; then
      update-rc.d -f "$service" remove >/dev/null 2>&1 || true
    fi
  done
}
