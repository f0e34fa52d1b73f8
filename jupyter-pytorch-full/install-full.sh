#!/bin/bash
# install-full.sh STEP: the install steps of both jupyter-pytorch-full variants, written once.
# cpu.Dockerfile and cuda.Dockerfile run it with identical RUN instructions (so that, with the
# same TORCH_INDEX_URL, both variants share these layers) and differ only in TORCH_INDEX_URL's
# default, their labels and environment. Two steps, one layer each, biggest and most stable first:
#
#   torch   torch, torchvision, torchaudio from $TORCH_INDEX_URL: from the lock
#           requirements-torch*.lock.txt whose header names that index (`# index-url:`), with
#           --require-hashes; the lock here is PyPI's. An index without a lock is refused
#           (exit 1, naming the fix): no image installs torch without hashes.
#   full    requirements-full.lock.txt (the "full" data-science set, every package hashed) from
#           PyPI; it was resolved with jupyter's and the torch lock as constraints, so it agrees
#           with what is installed (and re-pins only what requirements-full.in names); then
#           `pip check`
#
# Each lock is installed with `pip install --require-hashes --no-deps`: the lock is the whole
# set, pip installs what is missing or different and refuses a file whose hash differs.
# Run as jovyan (USER 1000) with the files it uses bind-mounted next to this script and the pip cache in a BuildKit cache mount at $PIP_CACHE_DIR (never in a
# layer). Files are created with umask 0002 in the venv's setgid directories (owned 1000:0,
# group-writable like the rest of /opt/venv); fix-permissions (base) fixes the few created with
# fixed modes, in the same layer.
set -euo pipefail

here="$(dirname "$0")"
step="${1:-}"
: "${VIRTUAL_ENV:?install-full.sh: VIRTUAL_ENV is not set (run it in the jupyter image)}"
: "${PIP_CACHE_DIR:?install-full.sh: PIP_CACHE_DIR is not set (a BuildKit cache mount)}"
export PIP_CACHE_DIR

umask 0002
case "${step}" in
  torch)
    index="${TORCH_INDEX_URL:?install-full.sh: TORCH_INDEX_URL is not set}"
    index="${index%/}"
    lock=""
    for candidate in "${here}"/requirements-torch*.lock.txt; do
      if [ -f "${candidate}" ] && [ "$(sed -n 's/^# index-url: //p' "${candidate}")" = "${index}" ]; then
        lock="${candidate}"
        break
      fi
    done
    if [ -n "${lock}" ]; then
      echo "install-full.sh: torch from ${index}, locked ($(basename "${lock}"), hashes checked)"
      pip install --index-url "${index}" --require-hashes --no-deps -r "${lock}"
    else
      echo "install-full.sh: no lock for the torch index ${index}: refusing to install torch" \
        "without hashes; add requirements-torch-<name>.lock.txt with the line" \
        "'# index-url: ${index}' (see jupyter-pytorch-full/README.md), or build from" \
        "https://pypi.org/simple" >&2
      exit 1
    fi
    fix-permissions "${VIRTUAL_ENV}"
    ;;
  full)
    pip install --require-hashes --no-deps -r "${here}/requirements-full.lock.txt"
    fix-permissions "${VIRTUAL_ENV}"
    pip check
    ;;
  *)
    echo "usage: install-full.sh torch|full (got '${step}')" >&2
    exit 2
    ;;
esac
