# jupyter-pytorch-full (cpu): PyTorch and the "full" data-science set on jupyter (see README.md).
# What both variants install is written once, in install-full.sh (with the lock files
# requirements-torch.lock.txt and requirements-full.lock.txt, written by `invoke lock` from the
# .in files). The RUN instructions below are the same in cuda.Dockerfile, so
# that when both variants install torch from the same index (here: PyPI) the big layers are
# built once and shared; this file keeps only what differs: the torch index and the labels.
# Build context: this folder. The parent is passed as build-arg BASE_IMG.
ARG BASE_IMG=jupyter
ARG BUILD_BASE_IMG=${BASE_IMG}

# The target platform's parent, named for the stage `cross` (its venv).
FROM $BASE_IMG AS parent

# ---- cross: the two steps of install-full.sh, run on the build platform ($BUILDPLATFORM) FROM
# BUILD_BASE_IMG (the build platform's jupyter: the same Debian python3.13) on a copy of the
# target parent's venv; uv installs the target platform's wheels (pip cannot install another
# platform's), so QEMU runs nothing of it for another platform. Natively (BUILD_BASE_IMG unset)
# it is the same stage on the same platform.
FROM --platform=$BUILDPLATFORM $BUILD_BASE_IMG AS cross
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
USER 0
# uv, a build-time tool only (never in the image), as in jupyter/Dockerfile: UV_WHEEL_SHA256
# are the sha256 of uv-${UV_VERSION}'s manylinux wheels for x86_64 and aarch64; bump together.
ARG UV_VERSION=0.13.9
ARG UV_WHEEL_SHA256="d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19 5435c5ce14a56431208ca0996416d310f1598e8c2c8ba707688985a16bb82dbe ecb6028d79dc96fbeafffe5c8af62a7099487ebc05a701e76714eebcffd06375"
RUN --mount=type=secret,id=build-ca,mode=0444 \
    python3 -m venv /tmp/uv \
 && echo "uv==${UV_VERSION} $(printf -- '--hash=sha256:%s ' ${UV_WHEEL_SHA256})" > /tmp/uv.lock.txt \
 && with-build-ca /tmp/uv/bin/pip install --no-cache-dir --disable-pip-version-check \
      --require-hashes --no-deps -r /tmp/uv.lock.txt \
 && rm /tmp/uv.lock.txt
# The target parent's venv (jovyan's, group 0, setgid: cp -a keeps it), with this platform's
# python3.13 behind its bin/python.
RUN --mount=type=bind,from=parent,source=/opt/venv,target=/tmp/parent-venv \
    rm -rf /opt/venv \
 && cp -a /tmp/parent-venv /opt/venv
USER 1000

# Where torch, torchvision and torchaudio come from: an index that has a hashed lock here
# (requirements-torch*.lock.txt whose `# index-url:` names it). PyPI by default, as the cuda
# variant: what CI tests is what is published, every package hashed. PyTorch's CPU-only index
# (about 10 times smaller) needs its own lock first: see README.md.
ARG TORCH_INDEX_URL=https://pypi.org/simple
ARG TARGETARCH

# 1. PyTorch (the biggest layer, changes least often), from the hashed lock of TORCH_INDEX_URL
#    for the target platform; an index without a lock is refused (see install-full.sh).
RUN --mount=type=bind,source=install-full.sh,target=/tmp/kfnb-full/install-full.sh \
    --mount=type=bind,source=requirements-torch.lock.txt,target=/tmp/kfnb-full/requirements-torch.lock.txt \
    --mount=type=bind,source=requirements-torch.linux-arm64.lock.txt,target=/tmp/kfnb-full/requirements-torch.linux-arm64.lock.txt \
    --mount=type=cache,id=kfnb-pytorch-uv,target=/tmp/uv-cache,uid=1000,gid=0,sharing=locked \
    --mount=type=secret,id=build-ca,mode=0444 \
    UV_CACHE_DIR=/tmp/uv-cache TARGETARCH="${TARGETARCH}" TORCH_INDEX_URL="${TORCH_INDEX_URL}" \
    bash /tmp/kfnb-full/install-full.sh torch

# 2. The "full" set from PyPI, from requirements-full[.linux-<arch>].lock.txt (hashed).
RUN --mount=type=bind,source=install-full.sh,target=/tmp/kfnb-full/install-full.sh \
    --mount=type=bind,source=requirements-full.lock.txt,target=/tmp/kfnb-full/requirements-full.lock.txt \
    --mount=type=bind,source=requirements-full.linux-arm64.lock.txt,target=/tmp/kfnb-full/requirements-full.linux-arm64.lock.txt \
    --mount=type=cache,id=kfnb-pytorch-uv,target=/tmp/uv-cache,uid=1000,gid=0,sharing=locked \
    --mount=type=secret,id=build-ca,mode=0444 \
    UV_CACHE_DIR=/tmp/uv-cache TARGETARCH="${TARGETARCH}" bash /tmp/kfnb-full/install-full.sh full

# ---- the image: what each step removed (a re-pinned package's old files), then what it added.
FROM parent
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN --mount=type=bind,from=cross,source=/tmp/stage/torch/remove.txt,target=/tmp/remove.txt \
    sed 's|^|/opt/venv/|' /tmp/remove.txt | xargs -r -d '\n' rm -rf --
COPY --from=cross --chown=1000:0 /tmp/stage/torch/venv/ /opt/venv/
RUN --mount=type=bind,from=cross,source=/tmp/stage/full/remove.txt,target=/tmp/remove.txt \
    sed 's|^|/opt/venv/|' /tmp/remove.txt | xargs -r -d '\n' rm -rf --
COPY --from=cross --chown=1000:0 /tmp/stage/full/venv/ /opt/venv/

# The description only: `invoke build` sets title, version, source, revision and created.
LABEL org.opencontainers.image.description="Kubeflow notebook server image: JupyterLab 4 with PyTorch (CPU) and pandas, scikit-learn, matplotlib, xgboost, kfp, jupyterlab-git, ..."
