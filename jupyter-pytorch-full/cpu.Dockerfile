# jupyter-pytorch-full (cpu): PyTorch and the "full" data-science set on jupyter (see README.md).
# What both variants install is written once, in install-full.sh (with the lock files
# requirements-torch.lock.txt and requirements-full.lock.txt, written by `invoke lock` from the
# .in files). The RUN instructions below are the same in cuda.Dockerfile, so
# that when both variants install torch from the same index (here: PyPI) the big layers are
# built once and shared; this file keeps only what differs: the torch index and the labels.
# Build context: this folder. The parent is passed as build-arg BASE_IMG.
ARG BASE_IMG=jupyter
FROM $BASE_IMG
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Where torch, torchvision and torchaudio come from: an index that has a hashed lock here
# (requirements-torch*.lock.txt whose `# index-url:` names it). PyPI by default, as the cuda
# variant: what CI tests is what is published, every package hashed. PyTorch's CPU-only index
# (about 10 times smaller) needs its own lock first: see README.md.
ARG TORCH_INDEX_URL=https://pypi.org/simple

# 1. PyTorch (the biggest layer, changes least often).
#    From the hashed lock of TORCH_INDEX_URL; an index without a lock is refused
#    (see install-full.sh).
RUN --mount=type=bind,source=install-full.sh,target=/tmp/kfnb-full/install-full.sh \
    --mount=type=bind,source=requirements-torch.in,target=/tmp/kfnb-full/requirements-torch.in \
    --mount=type=bind,source=requirements-torch.lock.txt,target=/tmp/kfnb-full/requirements-torch.lock.txt \
    --mount=type=cache,id=kfnb-pytorch-pip,target=/tmp/pip-cache,uid=1000,gid=0,sharing=locked \
    --mount=type=secret,id=build-ca,mode=0444 \
    PIP_CACHE_DIR=/tmp/pip-cache with-build-ca bash /tmp/kfnb-full/install-full.sh torch

# 2. The "full" set from PyPI, from requirements-full.lock.txt (hashed).
RUN --mount=type=bind,source=install-full.sh,target=/tmp/kfnb-full/install-full.sh \
    --mount=type=bind,source=requirements-full.lock.txt,target=/tmp/kfnb-full/requirements-full.lock.txt \
    --mount=type=cache,id=kfnb-pytorch-pip,target=/tmp/pip-cache,uid=1000,gid=0,sharing=locked \
    --mount=type=secret,id=build-ca,mode=0444 \
    PIP_CACHE_DIR=/tmp/pip-cache with-build-ca bash /tmp/kfnb-full/install-full.sh full

# The description only: `invoke build` sets title, version, source, revision and created.
LABEL org.opencontainers.image.description="Kubeflow notebook server image: JupyterLab 4 with PyTorch (CPU) and pandas, scikit-learn, matplotlib, xgboost, kfp, jupyterlab-git, ..."
