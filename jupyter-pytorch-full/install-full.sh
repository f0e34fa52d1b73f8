#!/bin/bash
# install-full.sh STEP: the install steps of both jupyter-pytorch-full variants, written once.
# cpu.Dockerfile and cuda.Dockerfile run it with identical RUN instructions (so that, with the
# same TORCH_INDEX_URL, both variants share these layers) and differ only in TORCH_INDEX_URL's
# default, their labels and environment. Two steps, one layer each, biggest and most stable first:
#
#   torch   requirements-torch.txt (torch, torchvision, torchaudio) from $TORCH_INDEX_URL
#   full    requirements-full.txt (the "full" data-science set) from PyPI, with the torch pins
#           as constraints so that pip never swaps torch; then `pip check`
#
# Run as jovyan (USER 1000) with requirements-torch.txt and requirements-full.txt bind-mounted
# next to this script and the pip cache in a BuildKit cache mount at $PIP_CACHE_DIR (never in a
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
    pip install --index-url "${TORCH_INDEX_URL:?install-full.sh: TORCH_INDEX_URL is not set}" \
      -r "${here}/requirements-torch.txt"
    fix-permissions "${VIRTUAL_ENV}"
    ;;
  full)
    pip install -r "${here}/requirements-full.txt" -c "${here}/requirements-torch.txt"
    fix-permissions "${VIRTUAL_ENV}"
    pip check
    ;;
  *)
    echo "usage: install-full.sh torch|full (got '${step}')" >&2
    exit 2
    ;;
esac
