"""The parts of rstudio / rstudio-tidyverse that need no Posit download, built for the tests.

rstudio/Dockerfile's `r-stage` holds everything of the rstudio image except RStudio
Server itself (R, the RStudio configuration, the start-up scripts). The `r_stage` fixture
builds it FROM rstudio's parent image of this run (`kfnb/base:latest` by default: the
smoke session builds the ancestors first), and `tidyverse_layer` builds
rstudio-tidyverse/Dockerfile on top of it, so that those layers are built and tested
with `pytest tests/images --image rstudio` (and `--image rstudio-tidyverse`) on every
machine, also where the final images cannot be built. Builds go through
kfimages.build.buildx.build_adhoc.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import docker.errors
import pytest

from kfimages.build.buildx import AdhocBuildError, build_adhoc
from kfimages.repo import artifacts
from kfimages.repo.config import Artifact
from kfimages.repo.graph import Image, image_ref, load_graph
from kfimages.repo.inputs import resolve_artifacts, resolve_build_args
from kfimages.settings import Settings
from tests.harness.containers import TrackedContainers
from tests.harness.old_home import PREVIOUS_TAG, repository_of
from tests.images.conftest import REPO_ROOT, fail_if_stale

log = logging.getLogger(__name__)

ARTIFACTS = REPO_ROOT / "artifacts"
R_STAGE_TARGET = "r-stage"
TEST_REPOSITORY = "kfnb-test"
"""Prefix of the stage images these tests build (never pushed, never a release ref)."""
RANDOM_UID = 123456


@dataclass(frozen=True)
class StageImage:
    """A locally built stage image and what it cost."""

    ref: str
    seconds: float
    size_mb: float


def stage_parent_ref(config: pytest.Config, client: Any) -> str:
    """The ref of rstudio's parent image for this run's --registry/--tag, which must exist
    (the smoke session builds it before the tests; it is never built or replaced here)."""
    graph = load_graph(REPO_ROOT)
    parent = graph.parent_of("rstudio")
    if parent is None:
        raise AssertionError("rstudio has no parent image in the graph")
    ref = image_ref(
        parent, registry=str(config.getoption("--registry")), tag=str(config.getoption("--tag"))
    )
    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{ref} (rstudio's parent) is not built; run: invoke build {parent.name}")
    fail_if_stale(config, parent.name)  # after a change to base, the stage uses the new base
    return ref


def _image_id(client: Any, ref: str) -> str | None:
    try:
        return str(client.images.get(ref).id)
    except docker.errors.ImageNotFound:
        return None


def build_stage(
    client: Any,
    *,
    folder: str,
    ref: str,
    build_args: Mapping[str, str],
    target: str | None = None,
) -> StageImage:
    """A repository folder's Dockerfile (up to `target`), built with build_adhoc; `client`:
    the session's docker SDK client (the `docker_client` fixture), for its size. The image the
    build replaces at `ref`, if another, is kept as `<repository>:previous` (PREVIOUS_TAG), as
    builds keep theirs: the R stage's upgrade tests start from it."""
    started = time.monotonic()
    replaced = _image_id(client, ref)
    try:
        build_adhoc(context=REPO_ROOT / folder, tag=ref, build_args=build_args, target=target)
    except AdhocBuildError as exc:
        pytest.fail(str(exc), pytrace=False)
    if replaced is not None and replaced != _image_id(client, ref):
        client.images.get(replaced).tag(repository_of(ref), PREVIOUS_TAG)
        log.info("kept the image %s replaced as %s:%s", ref, repository_of(ref), PREVIOUS_TAG)
    seconds = time.monotonic() - started
    size_mb = float(client.images.get(ref).attrs["Size"]) / 1e6
    return StageImage(ref=ref, seconds=seconds, size_mb=size_mb)


@pytest.fixture(scope="session")
def r_stage(pytestconfig: pytest.Config, docker_client: Any) -> StageImage:
    """rstudio/Dockerfile `--target r-stage` FROM rstudio's parent image of this run."""
    parent = stage_parent_ref(pytestconfig, docker_client)
    ref = f"{TEST_REPOSITORY}/rstudio-r-stage:{pytestconfig.getoption('--tag')}"
    stage = build_stage(
        docker_client,
        folder="rstudio",
        ref=ref,
        build_args={"BASE_IMG": parent},
        target=R_STAGE_TARGET,
    )
    print(f"\nr-stage {ref} FROM {parent}: built in {stage.seconds:.1f}s, {stage.size_mb:.0f} MB")
    return stage


@pytest.fixture(scope="session")
def tidyverse_layer(
    r_stage: StageImage, pytestconfig: pytest.Config, docker_client: Any
) -> StageImage:
    """rstudio-tidyverse/Dockerfile with BASE_IMG = the R stage (the real layer, minus RStudio)."""
    ref = f"{TEST_REPOSITORY}/rstudio-tidyverse-layer:{pytestconfig.getoption('--tag')}"
    stage = build_stage(
        docker_client, folder="rstudio-tidyverse", ref=ref, build_args={"BASE_IMG": r_stage.ref}
    )
    print(
        f"\ntidyverse layer {ref} FROM {r_stage.ref}: "
        f"built in {stage.seconds:.1f}s, {stage.size_mb:.0f} MB"
    )
    return stage


def hardened(uid: int = RANDOM_UID) -> dict[str, Any]:
    """docker run options of a hardened pod: random uid with gid 0, no capabilities,
    read-only root with tmpfs /tmp and /run, and a home owned by that uid (like a PVC)."""
    return {
        "user": f"{uid}:0",
        "cap_drop": ["ALL"],
        "read_only": True,
        "tmpfs": {"/tmp": "", "/run": "", "/home/jovyan": f"uid={uid},gid=0,mode=0775"},
    }


def apt_leftovers(containers: TrackedContainers, ref: str) -> str:
    """Downloaded packages and package lists left in an image (empty when cleaned)."""
    return containers.run_to_exit(
        ["-c", "find /var/cache/apt/archives /var/lib/apt/lists -type f ! -name lock ! -size 0"],
        image=ref,
        entrypoint=["bash"],
        user="0",  # apt's partial/ folder is root's
    ).stdout.strip()


# --------------------------------------------------------------------------- RStudio download


def rstudio_artifact(image: Image) -> tuple[Artifact, str]:
    """The RStudio Server artifact of an image's chain and its effective URL
    (image.yaml's, or KFIMAGES_BUILD_ARG_RSTUDIO_URL as the build system uses it)."""
    graph = load_graph(REPO_ROOT)
    for candidate in [image, *reversed(graph.ancestors(image.name))]:
        args = resolve_build_args(
            candidate, root=REPO_ROOT, overrides=Settings.from_environ().build_args
        )
        for artifact, effective in zip(
            candidate.config.artifacts, resolve_artifacts(candidate, build_args=args), strict=True
        ):
            return artifact, effective.url
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
