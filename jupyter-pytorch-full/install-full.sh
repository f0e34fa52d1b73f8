#!/bin/bash
# install-full.sh STEP: the install steps of both jupyter-pytorch-full variants, written once.
# cpu.Dockerfile and cuda.Dockerfile run it with identical RUN instructions (so that, with the
# same TORCH_INDEX_URL, both variants share these layers) and differ only in TORCH_INDEX_URL's
# default, their labels and environment. Two steps, one layer each, biggest and most stable first:
#
#   torch   torch, torchvision, torchaudio from $TORCH_INDEX_URL: from the lock
#           requirements-torch*.lock.txt whose header names that index (`# index-url:`) and the
#           target platform (`# platform:`); the locks here are PyPI's. An index without a lock
#           is refused (exit 1, naming the fix): no image installs torch without hashes.
#   full    requirements-full[.linux-<arch>].lock.txt (the "full" data-science set, every
#           package hashed) from PyPI; it was resolved with jupyter's and the torch lock as
#           constraints, so it agrees with what is installed (and re-pins only what
#           requirements-full.in names); then `uv pip check` for the target platform.
#
# Cross-install: it runs in the Dockerfiles' stage `cross`, on the build platform, in /opt/venv:
# a copy of the TARGET parent's venv (its files, the build platform's python3.13 behind
# bin/python). uv installs the target platform's wheels into it (`--python-platform`,
# `--require-hashes --no-deps`: the lock is the whole set; what the parent has at the lock's
# version stays), compileall compiles what has no .pyc yet (a .pyc depends on the Python
# version only), and what the step changed goes to /tmp/stage/STEP: `venv/` (the new and
# changed files, fix-permissions'd: the target stage COPYs it over /opt/venv) and `remove.txt`
# (what the step removed, e.g. a re-pinned package's old files: the target deletes them first).
# Run as jovyan with umask 0002, the files it uses bind-mounted next to this script and uv's
# cache in a BuildKit cache mount at $UV_CACHE_DIR (never in a layer).
set -euo pipefail

here="$(dirname "$0")"
step="${1:-}"
venv=/opt/venv
uv=/tmp/uv/bin/uv
: "${TARGETARCH:?install-full.sh: TARGETARCH is not set}"
: "${UV_CACHE_DIR:?install-full.sh: UV_CACHE_DIR is not set (a BuildKit cache mount)}"
export UV_CACHE_DIR UV_LINK_MODE=copy

case "${TARGETARCH}" in
  amd64) platform=x86_64-manylinux_2_28 suffix="" ;;
  arm64) platform=aarch64-manylinux_2_28 suffix=".linux-arm64" ;;
  *)
    echo "install-full.sh: no lock for linux/${TARGETARCH}; build for linux/amd64 or linux/arm64" >&2
    exit 2
    ;;
esac

umask 0002
case "${step}" in
  torch)
    index="${TORCH_INDEX_URL:?install-full.sh: TORCH_INDEX_URL is not set}"
    index="${index%/}"
    lock=""
    for candidate in "${here}"/requirements-torch*.lock.txt; do
      if [ -f "${candidate}" ] \
        && [ "$(sed -n 's/^# index-url: //p' "${candidate}")" = "${index}" ] \
        && [ "$(sed -n 's/^# platform: //p' "${candidate}")" = "${platform}" ]; then
        lock="${candidate}"
        break
      fi
    done
    if [ -z "${lock}" ]; then
      echo "install-full.sh: no lock for the torch index ${index} on ${platform}: refusing to" \
        "install torch without hashes; add requirements-torch-<name>.lock.txt with the line" \
        "'# index-url: ${index}' (see jupyter-pytorch-full/README.md), or build from" \
        "https://pypi.org/simple" >&2
      exit 1
    fi
    echo "install-full.sh: torch from ${index}, locked ($(basename "${lock}"), hashes checked)"
    ;;
  full)
    index=https://pypi.org/simple
    lock="${here}/requirements-full${suffix}.lock.txt"
    ;;
  *)
    echo "usage: install-full.sh torch|full (got '${step}')" >&2
    exit 2
    ;;
esac

stage="/tmp/stage/${step}"
mkdir -p "${stage}/venv"
marker="$(mktemp)"
before="$(mktemp)"
after="$(mktemp)"
find "${venv}" -mindepth 1 -printf '%P\n' | sort >"${before}"

with-build-ca "${uv}" pip install --no-config --python "${venv}/bin/python" \
  --python-platform "${platform}" --python-version 3.13 --index-url "${index}" \
  --require-hashes --no-deps -r "${lock}"
# Only what has no up-to-date .pyc (the new files), in parallel; like pip, a file that does
# not compile (a template, test data) is no error.
python3 -m compileall -q -j 0 "${venv}/lib/python3.13/site-packages" >/dev/null || true

find "${venv}" -mindepth 1 -printf '%P\n' | sort >"${after}"
comm -23 "${before}" "${after}" >"${stage}/remove.txt"
(cd "${venv}" && find . -mindepth 1 ! -type d -newer "${marker}" -print0 \
  | tar --null -T - -cf -) | tar -C "${stage}/venv" -xf -
fix-permissions "${stage}/venv"
rm -f "${marker}" "${before}" "${after}"
echo "install-full.sh: ${step}: $(find "${stage}/venv" ! -type d | wc -l) files to add," \
  "$(wc -l <"${stage}/remove.txt") to remove"
if [ "${step}" = full ]; then
  # Dependencies for the target platform. uv also compares each installed WHEEL file's tags with
  # the platform and reports the aarch64 wheel of nvidia-cusparselt-cu13 (file name
  # ...-manylinux2014_aarch64.whl, which fits) as "built for a different platform": every wheel
  # was chosen for this platform from the lock (the build plan checks its file names), so that
  # line alone is no failure; any other finding is.
  if ! report="$("${uv}" pip check --no-config --python "${venv}/bin/python" \
    --python-platform "${platform}" --python-version 3.13 2>&1)"; then
    echo "${report}"
    if grep -v -e '^Using Python' -e '^Checked ' -e '^Found [0-9]* incompatibilit' \
      -e 'was built for a different platform$' <<<"${report}" | grep -q .; then
      echo "install-full.sh: uv pip check failed" >&2
      exit 1
    fi
  fi
fi
