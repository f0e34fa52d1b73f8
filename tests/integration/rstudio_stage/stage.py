"""Building and running the parts of rstudio / rstudio-tidyverse that need no Posit download.

rstudio/Dockerfile's `r-stage` holds everything of the rstudio image except RStudio
Server itself (R, the RStudio configuration, the start-up scripts). These helpers build
it FROM the real base image, and rstudio-tidyverse/Dockerfile on top of it, so that
those layers are built and tested on every machine. The same tests run in the
integration session (`pytest tests/integration`) and, re-exported, with
`pytest tests/images --image rstudio` / `--image rstudio-tidyverse`.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from kfimages import artifacts
from kfimages.build import BUILD_ARG_ENV_PREFIX, OK_STATUSES, BuildOptions, build_images
from kfimages.ca import collect_ca_files
from kfimages.config import Artifact
from kfimages.graph import DEFAULT_REGISTRY, DEFAULT_TAG, Image, image_ref, load_graph
from tests.images.helpers import TrackedContainers

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO_ROOT / "artifacts"
R_STAGE_TARGET = "r-stage"
TEST_REPOSITORY = "kfnb-test"
"""Prefix of the stage images these tests build (never pushed, never a release ref)."""
BUILD_TIMEOUT_S = 1800
RANDOM_UID = 123456


@dataclass(frozen=True)
class StageImage:
    """A locally built stage image and what it cost."""

    ref: str
    seconds: float
    size_mb: float


def stage_options(config: pytest.Config) -> tuple[str, str]:
    """(registry, tag) of the images under test: --registry/--tag where the harness has them."""
    try:
        registry = config.getoption("--registry")
        tag = config.getoption("--tag")
    except ValueError:  # the integration session has no such options
        return DEFAULT_REGISTRY, DEFAULT_TAG
    return str(registry), str(tag)


def _image_size_mb(ref: str) -> float:
    client = docker.from_env()
    try:
        return float(client.images.get(ref).attrs["Size"]) / 1e6
    finally:
        client.close()


@cache
def ensure_base(registry: str, tag: str) -> str:
    """The ref of the repository's base image: the local one if it exists (never replaced:
    others build FROM it), else built through the build system (with $KFIMAGES_CA_CERT)."""
    graph = load_graph(REPO_ROOT)
    base = graph.get("base")
    ref = image_ref(base, registry=registry, tag=tag)
    client = docker.from_env()
    try:
        client.images.get(ref)
        return ref
    except docker.errors.ImageNotFound:
        log.info("%s is missing: building it", ref)
    finally:
        client.close()
    options = BuildOptions(registry=registry, tags=(tag,), ca_files=tuple(collect_ca_files([])))
    report = build_images(graph, ["base"], options)
    result = next(r for r in report.results if r.name == base.name)
    if result.status not in OK_STATUSES:
        pytest.fail(f"base could not be built ({result.status}: {result.reason})", pytrace=False)
    return ref


def buildx(
    *, folder: str, ref: str, build_args: Mapping[str, str], target: str | None = None
) -> float:
    """`docker buildx build --load` of a repository folder; the duration in seconds."""
    cmd = ["docker", "buildx", "build", "--progress=plain", "--load", "-t", ref]
    for key, value in build_args.items():
        cmd += ["--build-arg", f"{key}={value}"]
    if target:
        cmd += ["--target", target]
    cmd.append(str(REPO_ROOT / folder))
    log.info("%s", " ".join(cmd))
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=BUILD_TIMEOUT_S)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        pytest.fail(f"docker buildx build of {folder} ({ref}) failed:\n{tail}", pytrace=False)
    return seconds


@cache
def build_r_stage(registry: str, tag: str) -> StageImage:
    """rstudio/Dockerfile `--target r-stage` FROM the base image."""
    base = ensure_base(registry, tag)
    ref = f"{TEST_REPOSITORY}/rstudio-r-stage:{tag}"
    seconds = buildx(
        folder="rstudio", ref=ref, build_args={"BASE_IMG": base}, target=R_STAGE_TARGET
    )
    stage = StageImage(ref=ref, seconds=seconds, size_mb=_image_size_mb(ref))
    print(f"\nr-stage {ref} FROM {base}: built in {seconds:.1f}s, {stage.size_mb:.0f} MB")
    return stage


@cache
def build_tidyverse_layer(registry: str, tag: str) -> StageImage:
    """rstudio-tidyverse/Dockerfile with BASE_IMG = the R stage (the real layer, minus RStudio)."""
    r_stage = build_r_stage(registry, tag)
    ref = f"{TEST_REPOSITORY}/rstudio-tidyverse-layer:{tag}"
    seconds = buildx(folder="rstudio-tidyverse", ref=ref, build_args={"BASE_IMG": r_stage.ref})
    stage = StageImage(ref=ref, seconds=seconds, size_mb=_image_size_mb(ref))
    print(
        f"\ntidyverse layer {ref} FROM {r_stage.ref}: "
        f"built in {seconds:.1f}s, {stage.size_mb:.0f} MB"
    )
    return stage


class Runner:
    """Runs containers of stage images to completion; every container is removed."""

    def __init__(self) -> None:
        self.client = docker.from_env()
        self._tracked = TrackedContainers(self.client, ref="")

    def run(
        self, image: str, command: list[str], *, timeout: int = 180, **kwargs: Any
    ) -> tuple[int, str]:
        """(exit code, combined log) of `command` run by the image's /init."""
        return self._tracked.run_to_exit(command, image=image, timeout=timeout, **kwargs)

    def close(self) -> None:
        self._tracked.remove_all()
        self.client.close()


def hardened(uid: int = RANDOM_UID) -> dict[str, Any]:
    """docker run options of a hardened pod: random uid with gid 0, no capabilities,
    read-only root with tmpfs /tmp and /run, and a home owned by that uid (like a PVC)."""
    return {
        "user": f"{uid}:0",
        "cap_drop": ["ALL"],
        "read_only": True,
        "tmpfs": {"/tmp": "", "/run": "", "/home/jovyan": f"uid={uid},gid=0,mode=0775"},
    }


def apt_leftovers(runner: Runner, ref: str) -> str:
    """Downloaded packages and package lists left in an image (empty when cleaned)."""
    code, logs = runner.run(
        ref,
        ["-c", "find /var/cache/apt/archives /var/lib/apt/lists -type f ! -name lock ! -size 0"],
        entrypoint=["bash"],
        user="0",  # apt's partial/ folder is root's
    )
    assert code == 0, logs
    return logs.strip()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def r_stage(pytestconfig: pytest.Config) -> StageImage:
    """The rstudio image's R stage, built FROM base for this session."""
    registry, tag = stage_options(pytestconfig)
    return build_r_stage(registry, tag)


@pytest.fixture(scope="session")
def tidyverse_layer(pytestconfig: pytest.Config) -> StageImage:
    """rstudio-tidyverse's layer built on the R stage."""
    registry, tag = stage_options(pytestconfig)
    return build_tidyverse_layer(registry, tag)


@pytest.fixture
def runner() -> Iterator[Runner]:
    """Runs stage containers; removes them after the test."""
    tracked = Runner()
    try:
        yield tracked
    finally:
        tracked.close()


# --------------------------------------------------------------------------- RStudio download


def rstudio_artifact(image: Image) -> tuple[Artifact, str]:
    """The RStudio Server artifact of an image's chain and its effective URL
    (image.yaml's, or KFIMAGES_BUILD_ARG_RSTUDIO_URL as the build system uses it)."""
    graph = load_graph(REPO_ROOT)
    for candidate in [image, *reversed(graph.ancestors(image.name))]:
        for artifact in candidate.config.artifacts:
            if artifact.build_arg:
                url = os.environ.get(f"{BUILD_ARG_ENV_PREFIX}{artifact.build_arg}", artifact.url)
            else:
                url = artifact.url
            return artifact, url
    raise AssertionError(f"no artifact declared by {image.name} or its ancestors")


def skip_unless_rstudio_fetchable(image: Image) -> str:
    """Skip (with the URL) when RStudio Server cannot be fetched here; else its URL."""
    _, url = rstudio_artifact(image)
    problem = artifacts.check_url(url)
    if problem is not None:
        host = urllib.parse.urlparse(url).netloc or url
        log.info("RStudio Server unreachable at %s: %s", host, problem)
        pytest.skip(f"RStudio Server could not be fetched: {url} ({problem})")
    return url
