#!/bin/bash
# add-update-sources.sh SECURITY_URI: let apt see the OS's security fixes and stable updates.
#
# A pulled debian:<suite>-slim lists `<suite> <suite>-updates` and `<suite>-security` in
# /etc/apt/sources.list.d/debian.sources (deb822); an OS image made by `invoke bootstrap`
# (debootstrap) has only `deb <mirror> <suite> main` in /etc/apt/sources.list. Whichever of
# `<suite>-security` (from SECURITY_URI) and `<suite>-updates` (from the mirror the image
# already uses) is not listed yet is added in /etc/apt/sources.list.d/kfnb-updates.sources,
# signed by Debian's archive keyring. The suite is the OS image's own (/etc/os-release).
set -euo pipefail
shopt -s nullglob

readonly me=add-update-sources
readonly keyring=/usr/share/keyrings/debian-archive-keyring.gpg
readonly target=/etc/apt/sources.list.d/kfnb-updates.sources
security_uri="${1:?usage: ${me} SECURITY_URI (e.g. http://deb.debian.org/debian-security)}"

fail() {
  echo "${me}: $*" >&2
  exit 1
}

# shellcheck source=/dev/null
. /etc/os-release
suite="${VERSION_CODENAME:-}"
[[ -n "${suite}" ]] || fail "no VERSION_CODENAME in /etc/os-release: not a Debian release"
[[ -f "${keyring}" ]] || fail "${keyring} is missing: install debian-archive-keyring"

lists=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
existing=()
for list in "${lists[@]}"; do
  [[ -f "${list}" ]] && existing+=("${list}")
done
((${#existing[@]} > 0)) || fail "no apt sources in /etc/apt"

# The mirror of the main suite: the first URI of a one-line `deb [options] URI SUITE ...`
# or of a deb822 `URIs:` field.
mirror="$(awk '
  /^deb[[:space:]]/ { sub(/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?/, ""); print $1; exit }
  /^URIs:/ { print $2; exit }
' "${existing[@]}")"
[[ -n "${mirror}" ]] || fail "cannot tell the Debian mirror from ${existing[*]}"

listed() {
  grep -Eqs "^(deb[[:space:]].*[[:space:]]|Suites:.*[[:space:]])$1([[:space:]]|$)" "${existing[@]}"
}

stanzas=()
if ! listed "${suite}-updates"; then
  stanzas+=("Types: deb
URIs: ${mirror}
Suites: ${suite}-updates
Components: main
Signed-By: ${keyring}")
fi
if ! listed "${suite}-security"; then
  stanzas+=("Types: deb
URIs: ${security_uri}
Suites: ${suite}-security
Components: main
Signed-By: ${keyring}")
fi
if ((${#stanzas[@]} == 0)); then
  echo "${me}: ${suite}-updates and ${suite}-security are already listed"
  exit 0
fi
printf '%s\n\n' "${stanzas[@]}" | sed '$d' >"${target}"
echo "${me}: added to ${target}:"
cat "${target}"
