#!/bin/bash
# make-venv.sh: makes /opt/venv for the target platform, in jupyter/Dockerfile's stage `venv`,
# which runs on the build platform (natively when both are the same). Run as jovyan with umask
# 0002 in the venv's setgid top directory, with the locks bind-mounted in /tmp/locks
# (linux-<arch>.lock.txt), uv in /tmp/uv and its cache at $UV_CACHE_DIR.
#
# 1. The venv with the Jupyter stack of the BUILD platform's lock: its own `jupyter` and
#    `ipykernel` write the kernel spec (argv[0] /opt/venv/bin/python) and the Lab setting that
#    turns the announcements off (files that do not depend on the CPU).
# 2. For another target platform, the venv again from the TARGET platform's lock (uv
#    --python-platform: its wheels, never run here), and those files copied in.
# 3. The .pyc files are compiled by this Debian python3.13 (same version as the target's),
#    `uv pip check` checks the set for the target platform, fix-permissions (base) gives group 0
#    the owner's rights.
set -euo pipefail

: "${TARGETARCH:?make-venv.sh: TARGETARCH is not set}"
: "${BUILDARCH:?make-venv.sh: BUILDARCH is not set}"
: "${PIP_VERSION:?}" "${PIP_WHEEL_SHA256:?}" "${UV_CACHE_DIR:?}"
venv=/opt/venv
uv=/tmp/uv/bin/uv

python_platform() {
  case "$1" in
    amd64) echo x86_64-manylinux_2_28 ;;
    arm64) echo aarch64-manylinux_2_28 ;;
    *)
      echo "make-venv.sh: no lock for linux/$1; build for linux/amd64 or linux/arm64" >&2
      exit 2
      ;;
  esac
}

# install ARCH: a fresh venv with pip and the lock of linux/ARCH, wheels for that platform only.
install() {
  local arch="$1" lock=/tmp/venv.lock.txt
  cp "/tmp/locks/linux-${arch}.lock.txt" "${lock}"
  echo "pip==${PIP_VERSION} --hash=sha256:${PIP_WHEEL_SHA256}" >>"${lock}"
  python3 -m venv --clear --without-pip "${venv}"
  UV_LINK_MODE=copy with-build-ca "${uv}" pip install --no-config --python "${venv}/bin/python" \
    --python-platform "$(python_platform "${arch}")" --python-version 3.13 \
    --require-hashes --no-deps --only-binary :all: --compile-bytecode -r "${lock}"
  rm "${lock}"
}

target="$(python_platform "${TARGETARCH}")"
install "${BUILDARCH}"
"${venv}/bin/python" -m ipykernel install --sys-prefix --name python3 \
  --display-name "Python 3 (ipykernel)"
"${venv}/bin/jupyter" labextension disable --level=sys_prefix \
  "@jupyterlab/apputils-extension:announcements"
if [ "${TARGETARCH}" != "${BUILDARCH}" ]; then
  config="$(mktemp -d)"
  cp -a "${venv}/share/jupyter/kernels/python3" "${config}/kernel"
  cp -a "${venv}/etc/jupyter/labconfig" "${config}/labconfig"
  install "${TARGETARCH}"
  rm -rf "${venv}/share/jupyter/kernels/python3"
  cp -a "${config}/kernel" "${venv}/share/jupyter/kernels/python3"
  cp -a "${config}/labconfig" "${venv}/etc/jupyter/labconfig"
  rm -rf "${config}"
fi
"${uv}" pip check --no-config --python "${venv}/bin/python" --python-platform "${target}" \
  --python-version 3.13
fix-permissions "${venv}"
