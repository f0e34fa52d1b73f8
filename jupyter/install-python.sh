#!/bin/bash
# install-python.sh: installs Debian's python3 (the .deb files of the stage `debs`, in /tmp/debs)
# in jupyter/Dockerfile's target stage, where dpkg runs the packages' maintainer scripts.
#
# Those scripts byte-compile the standard library with /usr/bin/python3.13. For another target
# platform that is Python under QEMU: 70 s for libpython3.13-stdlib's 311 files here, against
# 2 s natively. A .pyc depends on the Python version, not on the CPU, so for another platform
# /usr/bin/python3.13 is diverted while apt-get runs, and a wrapper in its place runs the build
# platform's python3.13 (the stage `buildpy`'s, bind-mounted at $BUILD_ROOT; the host's CPU runs it
# natively) on the target's files. Only when both are the same Debian version: otherwise the
# scripts run under QEMU, slower but the same result, and the build log says so. At the end the
# diversion and the wrapper are gone: /usr/bin/python3.13 is the target's, as dpkg installed it.
# For the build platform itself this is a plain `apt-get install`.
set -euo pipefail

: "${TARGETPLATFORM:?install-python.sh: TARGETPLATFORM is not set}"
: "${BUILDPLATFORM:?install-python.sh: BUILDPLATFORM is not set}"
: "${BUILD_ROOT:?install-python.sh: BUILD_ROOT is not set}"
python=/usr/bin/python3.13
package=python3.13-minimal

# version ADMINDIR: the Debian version of $package in that dpkg database ("" if none).
version() {
  dpkg-query --admindir="$1" -W -f '${Version}' "${package}" 2>/dev/null || true
}

# unwrap: the wrapper and the diversion gone, with no trace in dpkg's database (dpkg-divert
# keeps the list before each change in diversions-old: the parent's is put back).
old_list=/var/lib/dpkg/diversions-old
saved="$(mktemp)" had_old=""
if [ -e "${old_list}" ]; then cp -p "${old_list}" "${saved}" && had_old=yes; fi
unwrap() {
  rm -f "${python}"
  dpkg-divert --quiet --local --rename --remove "${python}"
  if [ -n "${had_old}" ]; then cp -p "${saved}" "${old_list}"; else rm -f "${old_list}"; fi
}

wrapped=""
if [ "${TARGETPLATFORM}" != "${BUILDPLATFORM}" ]; then
  ours="$(dpkg-deb -f /tmp/debs/"${package}"_*.deb Version 2>/dev/null || true)"
  theirs="$(version "${BUILD_ROOT}/var/lib/dpkg")"
  loaders=("${BUILD_ROOT}"/usr/lib/*-linux-gnu/ld-linux-*.so.*)
  if [ -n "${ours}" ] && [ "${ours}" = "${theirs}" ] && [ -x "${loaders[0]}" ]; then
    dpkg-divert --quiet --local --rename --divert "${python}.target" --add "${python}"
    printf '#!/bin/sh\nexec %s --library-path %s %s "$@"\n' "${loaders[0]}" \
      "$(dirname "${loaders[0]}")" "${BUILD_ROOT}${python}" >"${python}"
    chmod 0755 "${python}"
    if "${python}" -E -S -c pass; then
      echo "install-python.sh: byte-compiling with ${BUILDPLATFORM}'s python3.13 ${theirs} (natively)"
      wrapped=yes
    else
      unwrap
    fi
  fi
  if [ -z "${wrapped}" ]; then
    echo "install-python.sh: ${BUILDPLATFORM}'s python3.13 '${theirs}' cannot byte-compile for" \
      "${TARGETPLATFORM}'s '${ours}': the maintainer scripts byte-compile under QEMU" >&2
  fi
fi

apt-get install -y --no-install-recommends /tmp/debs/*.deb

if [ -n "${wrapped}" ]; then
  unwrap
fi
# The interpreter left in place is the package's own (its md5sum as dpkg recorded it), and runs.
grep " ${python#/}\$" "$(dpkg-query --control-path "${package}" md5sums)" | (cd / && md5sum -c --quiet)
"${python}" -c 'import sys; sys.exit(0)'

rm -f "${saved}"
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* /var/log/dpkg.log
