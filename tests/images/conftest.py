"""Smoke tests: selects the tests for `--image NAME`; the fixtures every image's tests share.

Tests live in `tests/images/<folder>/`. For an image under test, the tests of its
own folder and of every ancestor's folder run, so base's contract tests also run
against each child image, and a new sibling folder is tested with no edit here.
A test marked `@pytest.mark.folder_image_only` (slow end-to-end checks of what a child
image does not change, e.g. the gateway tests) runs for its folder's own image only and
skips, with the reason, for the images built FROM it.

`--platform linux/arm64` on an amd64 host tests that platform's image (`<ref>-arm64`,
kfimages.platforms) under QEMU: only the tests marked `@pytest.mark.emulated` are collected
(a small subset, at most two containers per image: under emulation a server answers its
first request about 50x later), the others are deselected, so a platform with no marked
test fails the run with pytest's exit code 5.

Fixtures: `image_under_test`, `image_ref_under_test`, `docker_client`, `containers`
(tests.harness.containers; for the images of GPU_FOLDERS and those built FROM them, with
every GPU of the host where it has any; a test's own), `module_containers` (the same, shared
by the read-only tests of a module), `gpu_host` (tests.harness.gpu), `home_volume` (and
`module_home_volume` for a shared container), `derived_image` (tests.harness.images),
`artifacts_dir`, `previous` (the previous build of the image under test, `--upgrade-from REF`:
tests.harness.old_home). Helpers are in tests/harness/, not here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from kfimages.platforms import host_platform, is_foreign, qualify
from kfimages.repo.artifacts import check_url
from kfimages.repo.graph import DEFAULT_REGISTRY, DEFAULT_TAG, Graph, Image, image_ref, load_graph
from kfimages.repo.inputs import resolve_artifacts, resolve_build_args
from kfimages.settings import Settings
from kfimages.verify.smoke import stale_problem
from tests.harness.containers import TrackedContainers
from tests.harness.gpu import (
    ENV_VAR,
    GpuHost,
    detect,
    device_nodes,
    engine_runtimes,
    run_nvidia_smi,
)
from tests.harness.images import DerivedImages
from tests.harness.old_home import add_options as add_upgrade_options
from tests.harness.old_home import previous_image

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGES_TESTS = Path(__file__).resolve().parent
ARTIFACTS = REPO_ROOT / "artifacts"
GPU_FOLDERS = frozenset({"jupyter-pytorch-full"})
"""The containers of these folders' images (and of images built FROM them) get every GPU of
the host where it has any, so that their tests check CUDA for real there; not a `cpu`
variant, whose tests check the clean CPU fallback on any host."""


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
    group.addoption(
        "--platform",
        default="",
        help="platform of the image to test (default the host's); another one runs only the "
        "tests marked `emulated`, under QEMU",
    )
    add_upgrade_options(parser)


def platform_under_test(config: pytest.Config) -> str:
    """The platform under test: --platform, else the host's."""
    return str(config.getoption("--platform") or host_platform())


def emulated(config: pytest.Config) -> bool:
    """Whether the image under test runs under emulation (another platform than the host's)."""
    return is_foreign(platform_under_test(config))


def _target(config: pytest.Config) -> ImageUnderTest | None:
    name = config.getoption("--image")
    if not name:
        return None
    graph = load_graph(REPO_ROOT)
    image = graph.get(name)
    ref = image_ref(image, registry=config.getoption("--registry"), tag=config.getoption("--tag"))
    return ImageUnderTest(image=image, ref=qualify(ref, platform_under_test(config)), graph=graph)


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
    foreign = emulated(config)
    for item in items:
        folder = _test_folder(item)
        if foreign and not item.get_closest_marker("emulated"):
            dropped.append(item)  # under emulation only the marked subset runs
        elif folder is None:
            keep.append(item)
        elif target is None:
            item.add_marker(pytest.mark.skip(reason="image smoke test: pass --image NAME"))
            keep.append(item)
        elif target.is_or_inherits(folder):
            if item.get_closest_marker("folder_image_only") and target.name != folder:
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"runs for {folder} only, not again for {target.name} built FROM it"
                    )
                )
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


def _client() -> Any:
    """A docker SDK client that answered a ping; a daemon that does not answer ends the run
    with exit code 2 and one line."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.exit(f"Docker daemon not reachable ({exc}); run: bash scripts/install-docker.sh", 2)
    return client


def _gpu_host(client: Any) -> GpuHost:
    """The host's GPUs as the engine gives them; a bad KFIMAGES_TEST_GPU ends the run (exit 2)."""
    try:
        return detect(
            devices=device_nodes(),
            smi_output=run_nvidia_smi(),
            runtimes=engine_runtimes(client.info()),
            override=os.environ.get(ENV_VAR),
        )
    except ValueError as exc:
        pytest.exit(str(exc), 2)


def pytest_sessionstart(session: pytest.Session) -> None:
    """The run's one-line errors (daemon not reachable, a bad KFIMAGES_TEST_GPU) once, before
    any test and in the main process: under pytest-xdist (`invoke smoke --workers`) a worker
    that exits 2 is taken for an interrupted one and its line is lost."""
    if hasattr(session.config, "workerinput") or _target(session.config) is None:
        return
    client = _client()
    try:
        if os.environ.get(ENV_VAR):
            _gpu_host(client)
    finally:
        client.close()


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """The one docker SDK client of the tests: every test, fixture and helper that needs the
    SDK takes this fixture (or is handed it); nothing else calls `docker.from_env()`
    (tests/unit/test_dependencies.py checks it)."""
    client = _client()
    yield client
    client.close()


def _unreachable_artifact(target: ImageUnderTest) -> str | None:
    """Why the image (or an ancestor) cannot be built here: an artifact it downloads
    cannot be fetched (the same check and KFIMAGES_BUILD_ARG_* overrides as invoke build)."""
    overrides = Settings.from_environ().build_args
    graph = target.graph
    for image in [*graph.ancestors(target.name), target.image]:
        args = resolve_build_args(image, root=graph.root, overrides=overrides)
        for artifact in resolve_artifacts(image, build_args=args):
            problem = check_url(artifact.url)
            if problem is not None:
                return f"{image.name} downloads {artifact.name}: {problem}"
    return None


def fail_if_stale(config: pytest.Config, name: str) -> None:
    """Fail the run when the local image of `name` is not what a build would give now (its
    io.kfimages.inputs label is not the current input digest): never test a stale image."""
    problem = stale_problem(
        load_graph(REPO_ROOT),
        name,
        settings=Settings.from_environ(),
        registry=config.getoption("--registry"),
        tag=config.getoption("--tag"),
        platform=str(config.getoption("--platform") or ""),
    )
    if problem is not None:
        pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def image_ref_under_test(
    image_under_test: ImageUnderTest, docker_client: Any, pytestconfig: pytest.Config
) -> str:
    """The ref of the image under test, checked to exist locally and to be up to date."""
    try:
        docker_client.images.get(image_under_test.ref)
    except docker.errors.ImageNotFound:
        blocked = _unreachable_artifact(image_under_test)
        if blocked is not None:
            pytest.skip(f"image {image_under_test.ref} cannot be built here: {blocked}")
        pytest.fail(
            f"image {image_under_test.ref} is not built; run: invoke build "
            f"{image_under_test.name} --platform {platform_under_test(pytestconfig)}",
            pytrace=False,
        )
    fail_if_stale(pytestconfig, image_under_test.name)
    return image_under_test.ref


def requests_gpus(target: ImageUnderTest, config: pytest.Config) -> bool:
    """Whether the containers of `target` ask for the host's GPUs (where it has any): an image
    of GPU_FOLDERS or built FROM one, not a `cpu` variant, run natively."""
    return (
        bool(target.chain_folders & GPU_FOLDERS)
        and target.image.variant != "cpu"
        and not emulated(config)
    )


@pytest.fixture(scope="session")
def gpu_host(docker_client: Any) -> GpuHost:
    """The host's NVIDIA GPUs as the engine can give them (tests.harness.gpu); a bad
    KFIMAGES_TEST_GPU ends the run with exit code 2."""
    host = _gpu_host(docker_client)
    log.info("%s", host.describe())
    return host


def _tracked(docker_client: Any, request: pytest.FixtureRequest) -> TrackedContainers:
    """TrackedContainers of the image under test, looked up on the first `run` without
    `image=`; with the host's GPUs where `requests_gpus`."""

    def under_test() -> str:
        return str(request.getfixturevalue("image_ref_under_test"))

    target = _target(request.config)
    defaults: dict[str, Any] = {}
    if target is not None and requests_gpus(target, request.config):
        defaults = request.getfixturevalue("gpu_host").run_kwargs()
    return TrackedContainers(docker_client, under_test, defaults=defaults)


@pytest.fixture
def containers(docker_client: Any, request: pytest.FixtureRequest) -> Iterator[TrackedContainers]:
    """Containers of the image under test (or of `image=`); removed after the test whatever
    happened. The image under test is looked up on the first `run` without `image=`, so a
    test of another image (a stage) runs where the image under test cannot be built. Where
    `requests_gpus`, every container gets the host's GPUs if it has any (`gpu_host`)."""
    tracked = _tracked(docker_client, request)
    try:
        yield tracked
    finally:
        tracked.remove_all()


@pytest.fixture(scope="module")
def module_containers(
    docker_client: Any, request: pytest.FixtureRequest
) -> Iterator[TrackedContainers]:
    """`containers` shared by the tests of one module (docker-stacks style): a module-scoped
    fixture of the module starts a container with them, and the tests that only read it
    (files, versions, permissions, endpoints) share it; they are removed after the module's
    last test whatever happened. A test that changes what another test could see (writes,
    restarts, stops, other options or environment, root) takes `containers`: its own."""
    tracked = _tracked(docker_client, request)
    try:
        yield tracked
    finally:
        tracked.remove_all()


@contextlib.contextmanager
def _empty_volume(docker_client: Any) -> Iterator[str]:
    volume = docker_client.volumes.create(name=f"kfnb-smoke-home-{uuid.uuid4().hex[:12]}")
    try:
        yield str(volume.name)
    finally:  # containers may still hold it: they are removed after this fixture
        for container in docker_client.containers.list(all=True, filters={"volume": volume.name}):
            container.remove(force=True, v=True)
        volume.remove(force=True)


@pytest.fixture
def home_volume(docker_client: Any) -> Iterator[str]:
    """An empty named volume for /home/jovyan (a fresh PVC); removed after the test."""
    with _empty_volume(docker_client) as name:
        yield name


@pytest.fixture(scope="module")
def module_home_volume(docker_client: Any) -> Iterator[str]:
    """`home_volume` for a container of `module_containers`: removed after the module."""
    with _empty_volume(docker_client) as name:
        yield name


@pytest.fixture
def previous(pytestconfig: pytest.Config, docker_client: Any, image_ref_under_test: str) -> str:
    """The previous build of the image under test, for the upgrade tests
    (tests.harness.old_home.previous_image: `--upgrade-from REF`, else $KFIMAGES_UPGRADE_FROM,
    else `<repository>:previous`); the test skips when the store has none (a cold run)."""
    return previous_image(pytestconfig, docker_client, ref_under_test=image_ref_under_test)


@pytest.fixture(scope="session")
def derived_image() -> Iterator[DerivedImages]:
    """`derived_image(parent_ref, files, dockerfile=None) -> ref`: an image FROM `parent_ref`
    built out of `files` ({relative path: text or bytes}; `#!` files are executable) through
    kfimages.build.buildx.build_adhoc, once per content; removed at the end of the session."""
    images = DerivedImages()
    try:
        yield images
    finally:
        images.remove_all()


HOST_LOCAL_CAS = Path("/usr/local/share/ca-certificates")
"""Where Debian keeps a host's own CAs (here: the TLS-intercepting proxy's)."""
RUNTIME_CA_DIR = "/etc/kubeflow/ca-certificates"


@pytest.fixture(scope="session")
def platform_ca() -> dict[str, dict[str, str]]:
    """docker SDK `volumes` that mount the host's local CAs where a platform mounts its CA
    ConfigMap (/etc/kubeflow/ca-certificates, read-only), for tests whose container
    downloads at run time: the images trust no CA of the build host (none is baked in).
    Empty when the host has no local CA (it then needs none)."""
    if not any(HOST_LOCAL_CAS.glob("*.crt")):
        return {}
    return {str(HOST_LOCAL_CAS): {"bind": RUNTIME_CA_DIR, "mode": "ro"}}


@pytest.fixture
def artifacts_dir(image_under_test: ImageUnderTest) -> Path:
    """Where a test keeps artifacts (screenshots) for the image under test."""
    path = ARTIFACTS / image_under_test.name
    path.mkdir(parents=True, exist_ok=True)
    return path
