"""Smoke-test harness: selects the tests for `--image NAME` and provides tracked containers.

Tests live in `tests/images/<folder>/`. For an image under test, the tests of its
own folder and of every ancestor's folder run, so base's contract tests also run
against each child image, and a new sibling folder is tested with no edit here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from kfimages.artifacts import check_url
from kfimages.build import effective_artifacts, env_build_args, resolve_build_args
from kfimages.graph import DEFAULT_REGISTRY, DEFAULT_TAG, Graph, Image, image_ref, load_graph
from tests.images.helpers import TrackedContainers

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGES_TESTS = Path(__file__).resolve().parent
ARTIFACTS = REPO_ROOT / "artifacts"


@dataclass(frozen=True)
class ImageUnderTest:
    """The image a smoke-test run is about, with its place in the graph."""

    image: Image
    ref: str
    graph: Graph

    @property
    def name(self) -> str:
        return self.image.name

    @property
    def chain_folders(self) -> set[str]:
        """Folders of this image and of all its ancestors: whose tests apply to it."""
        return {self.image.folder} | {a.folder for a in self.graph.ancestors(self.image.name)}

    def is_or_inherits(self, folder: str) -> bool:
        return folder in self.chain_folders


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("images", "image smoke tests")
    group.addoption("--image", default=None, help="name of the image to test (see `invoke list`)")
    group.addoption("--tag", default=DEFAULT_TAG, help="tag of the image to test")
    group.addoption("--registry", default=DEFAULT_REGISTRY, help="registry/namespace prefix")


def _target(config: pytest.Config) -> ImageUnderTest | None:
    name = config.getoption("--image")
    if not name:
        return None
    graph = load_graph(REPO_ROOT)
    image = graph.get(name)
    ref = image_ref(image, registry=config.getoption("--registry"), tag=config.getoption("--tag"))
    return ImageUnderTest(image=image, ref=ref, graph=graph)


def _test_folder(item: pytest.Item) -> str | None:
    try:
        rel = Path(str(item.path)).resolve().relative_to(IMAGES_TESTS)
    except ValueError:
        return None
    return rel.parts[0] if len(rel.parts) > 1 else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    target = _target(config)
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        folder = _test_folder(item)
        if folder is None:
            keep.append(item)
        elif target is None:
            item.add_marker(pytest.mark.skip(reason="image smoke test: pass --image NAME"))
            keep.append(item)
        elif target.is_or_inherits(folder):
            keep.append(item)
        else:
            dropped.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


@pytest.fixture(scope="session")
def image_under_test(pytestconfig: pytest.Config) -> ImageUnderTest:
    """The image named by --image."""
    target = _target(pytestconfig)
    if target is None:
        pytest.skip("image smoke test: pass --image NAME")
    return target


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A client of the local Docker Engine."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.exit(f"Docker daemon not reachable ({exc}); run: bash scripts/install-docker.sh", 2)
    yield client
    client.close()


def _unreachable_artifact(target: ImageUnderTest) -> str | None:
    """Why the image (or an ancestor) cannot be built here: an artifact it downloads
    cannot be fetched (the same check and KFIMAGES_BUILD_ARG_* overrides as invoke build)."""
    overrides = env_build_args(os.environ)
    graph = target.graph
    for image in [*graph.ancestors(target.name), target.image]:
        args = resolve_build_args(image, root=graph.root, overrides=overrides)
        for artifact, url in effective_artifacts(image, args):
            problem = check_url(url)
            if problem is not None:
                return f"{image.name} downloads {artifact.name}: {problem}"
    return None


@pytest.fixture(scope="session")
def image_ref_under_test(image_under_test: ImageUnderTest, docker_client: Any) -> str:
    """The ref of the image under test, checked to exist locally."""
    try:
        docker_client.images.get(image_under_test.ref)
    except docker.errors.ImageNotFound:
        blocked = _unreachable_artifact(image_under_test)
        if blocked is not None:
            pytest.skip(f"image {image_under_test.ref} cannot be built here: {blocked}")
        pytest.fail(
            f"image {image_under_test.ref} is not built; run: invoke build {image_under_test.name}",
            pytrace=False,
        )
    return image_under_test.ref


@pytest.fixture
def containers(docker_client: Any, image_ref_under_test: str) -> Iterator[TrackedContainers]:
    """Containers of the image under test; removed after the test whatever happened."""
    tracked = TrackedContainers(docker_client, image_ref_under_test)
    try:
        yield tracked
    finally:
        tracked.remove_all()


@pytest.fixture
def artifacts_dir(image_under_test: ImageUnderTest) -> Path:
    """Where a test keeps artifacts (screenshots) for the image under test."""
    path = ARTIFACTS / image_under_test.name
    path.mkdir(parents=True, exist_ok=True)
    return path
