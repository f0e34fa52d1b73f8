#!/bin/bash
# Install RStudio Server from a .deb whose SHA-256 is pinned (run by the
# Dockerfile as root; see README.md, "Building").
#
#   install-rstudio-server.sh URL SHA256 LOCAL_DIR VERSION
#
# The package must have SHA-256 SHA256 and be rstudio-server with Version VERSION (its
# Debian version, e.g. 2026.01.1+403): a file renamed or a mirror serving another release
# is refused with a line naming both versions.
# URL is http(s):// (Posit's server or a mirror) or file:///.../NAME.deb; a
# file:// URL is read from LOCAL_DIR/NAME.deb, the named build context
# `artifact-rstudio-server` (`--build-context artifact-rstudio-server=<folder holding NAME.deb>`).
set -euo pipefail

url="$1"
sha256="$2"
local_dir="$3"
want_version="${4:-}"
deb=/tmp/rstudio-server.deb

fail() {
  echo "install-rstudio-server: $*" >&2
  exit 1
}

case "${url}" in
  file://*)
    name="$(basename "${url#file://}")"
    [[ -f "${local_dir}/${name}" ]] \
      || fail "RSTUDIO_URL is ${url}, but ${name} is not in the build context artifact-rstudio-server; build with --build-context artifact-rstudio-server=<folder holding ${name}>"
    cp "${local_dir}/${name}" "${deb}"
    ;;
  http://* | https://*)
    echo "install-rstudio-server: downloading ${url}"
    curl -fsSL --retry 3 --connect-timeout 20 -o "${deb}" "${url}" \
      || fail "cannot download ${url}; give a mirror or a local file as RSTUDIO_URL (README.md, 'Air-gapped builds')"
    ;;
  *)
    fail "RSTUDIO_URL must be http(s):// or file://, not ${url}"
    ;;
esac

actual="$(sha256sum "${deb}" | cut -d' ' -f1)"
if [[ -z "${sha256}" ]]; then
  fail "RSTUDIO_SHA256 is not set: refusing to install an unverified package. The file from ${url} has SHA-256 ${actual}; compare it with the sum on Posit's download page (https://posit.co/download/rstudio-server/) and pin it (README.md, 'Pinned version and checksum')."
fi
if [[ "${actual}" != "${sha256,,}" ]]; then
  fail "SHA-256 mismatch for ${url}: expected ${sha256}, got ${actual}"
fi
echo "install-rstudio-server: SHA-256 ${actual} verified"
[[ -n "${want_version}" ]] || fail "RSTUDIO_VERSION is not set: cannot check the package's version"
package="$(dpkg-deb -f "${deb}" Package 2>/dev/null)" \
  || fail "${url} is not a Debian package (dpkg-deb cannot read its control file)"
version="$(dpkg-deb -f "${deb}" Version)"
if [[ "${package}" != rstudio-server || "${version}" != "${want_version}" ]]; then
  fail "version mismatch for ${url}: the package is ${package} ${version}, RSTUDIO_VERSION is ${want_version}; pin RSTUDIO_VERSION, RSTUDIO_URL and RSTUDIO_SHA256 of the same release"
fi
echo "install-rstudio-server: package ${package} ${version} (RSTUDIO_VERSION) verified"

# apt resolves the package's remaining dependencies from Debian; keep the
# configuration files of this image (/etc/rstudio/*) over the package's defaults.
apt-get update
apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confold "${deb}"
apt-get clean
rm -rf /var/lib/apt/lists/* "${deb}"

# No setuid or setgid programs, as in base (tests/images/base/test_image.py checks every image).
find / -xdev -perm /6000 -type f -exec chmod ug-s {} +

# A cookie key baked into the image would be shared by every container.
rm -f /var/lib/rstudio-server/secure-cookie-key

# Let jovyan, and any uid in group 0, use what the package created: jovyan's, group 0 with the
# owner's rights (base's fix-permissions); the directories RStudio writes into at run time are
# setgid, the configuration in /etc/rstudio is not (its modes stay exactly owner = group).
chown -R 1000 /etc/rstudio
fix-permissions --no-setgid /etc/rstudio
for path in /var/lib/rstudio-server /var/log/rstudio /run/rstudio-server*; do
  if [[ -e "${path}" ]]; then
    chown -R 1000 "${path}"
    fix-permissions "${path}"
  fi
done
