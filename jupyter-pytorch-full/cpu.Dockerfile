# jupyter-pytorch-full (cpu): PyTorch and the "full" data-science set on jupyter (see README.md).
# The cpu.Dockerfile and cuda.Dockerfile are identical up to the torch index default and the
# last lines (labels, NVIDIA environment): when both variants install torch from the same
# index (here: PyPI), the big layers are built once and shared.
# Build context: this folder. The parent is passed as build-arg BASE_IMG.
ARG BASE_IMG=jupyter
FROM $BASE_IMG
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Where torch, torchvision and torchaudio come from: PyTorch's CPU-only wheel index by default
# (about 10 times smaller than the CUDA build). A mirror or, where that index cannot be
# reached, PyPI (CUDA wheels that also run on CPU): see README.md.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

# 1. PyTorch (the biggest layer, changes least often). Files are created by jovyan with
#    umask 0002 in the venv's setgid directories: owned 1000:0 and group-writable, like the
#    rest of /opt/venv. The pip cache lives in a BuildKit cache mount (PIP_CACHE_DIR), never
#    in a layer; hadolint does not see PIP_CACHE_DIR pointing into the mount.
# hadolint ignore=DL3042
RUN --mount=type=bind,source=requirements-torch.txt,target=/tmp/requirements-torch.txt \
    --mount=type=cache,id=kfnb-pytorch-pip,target=/tmp/pip-cache,uid=1000,gid=0,sharing=locked \
    umask 0002 \
 && PIP_CACHE_DIR=/tmp/pip-cache pip install --index-url "$TORCH_INDEX_URL" \
      -r /tmp/requirements-torch.txt \
 && find "$VIRTUAL_ENV" ! -type l ! -perm -g=w -exec chmod g=u {} +

# 2. The "full" set from PyPI (the torch pins keep pip from touching PyPI's torch).
# hadolint ignore=DL3042
RUN --mount=type=bind,source=requirements-torch.txt,target=/tmp/requirements-torch.txt \
    --mount=type=bind,source=requirements-full.txt,target=/tmp/requirements-full.txt \
    --mount=type=cache,id=kfnb-pytorch-pip,target=/tmp/pip-cache,uid=1000,gid=0,sharing=locked \
    umask 0002 \
 && PIP_CACHE_DIR=/tmp/pip-cache pip install -r /tmp/requirements-full.txt \
      -c /tmp/requirements-torch.txt \
 && find "$VIRTUAL_ENV" ! -type l ! -perm -g=w -exec chmod g=u {} + \
 && pip check

LABEL org.opencontainers.image.title="jupyter-pytorch-full-cpu" \
      org.opencontainers.image.description="Kubeflow notebook server image: JupyterLab 4 with PyTorch (CPU) and pandas, scikit-learn, matplotlib, xgboost, kfp, jupyterlab-git, ..."
