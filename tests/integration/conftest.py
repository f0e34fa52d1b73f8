"""Fixtures of the build-system integration tests: throwaway repos, real engine, real registry.

tests/integration tests the build system only, with tiny throwaway images; the tests of
the repository's own images (and their stages) are in tests/images.

Every test builds tiny images FROM the local OS image (debian:trixie-slim; created
with debootstrap if missing) under a unique registry prefix `kfit-<hex>`, and removes
every image under that prefix afterwards. Nothing is pruned globally.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pytest

from kfimages.build.bootstrap import DEFAULT_OS_IMAGE, ensure_os_image
from kfimages.build.plan import BuildRequest
from kfimages.build.report import BuildReport
from kfimages.build.run import build_images
from kfimages.repo.graph import load_graph
from kfimages.settings import Settings
from kfimages.ship.push import publish
from kfimages.verify.integration import REPO_IMAGES_OPTION
from tests.harness.registry import Registry, RegistryProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
OS_IMAGE = DEFAULT_OS_IMAGE

log = logging.getLogger(__name__)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        REPO_IMAGES_OPTION,
        default=None,
        help="only the tests marked repo_images that use one of these images of the repository "
        "(comma-separated; `invoke integration` passes the affected ones)",
    )


def uses_images(item: pytest.Item, names: set[str]) -> bool:
    """Whether a test is marked `repo_images` with one of `names` (no names: any image)."""
    mark = item.get_closest_marker("repo_images")
    return mark is not None and (not mark.args or bool(names & set(mark.args)))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.docker)
    wanted = config.getoption(REPO_IMAGES_OPTION)
    if wanted is None:
        return
    names = set(wanted.split(","))
    dropped = [item for item in items if not uses_images(item, names)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if uses_images(item, names)]


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


@pytest.fixture(scope="session")
def os_image() -> str:
    """The OS image the tiny test images build FROM (local, pulled or bootstrapped)."""
    if docker("info", check=False).returncode != 0:
        pytest.exit("Docker daemon not reachable; run: bash scripts/install-docker.sh", 2)
    return ensure_os_image(OS_IMAGE).ref


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=it@example.org", "-c", "user.name=it", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@dataclass
class Repo:
    """A throwaway git repository of image folders, with a unique registry prefix."""

    path: Path
    registry: str

    def write(self, rel: str, text: str, *, mode: int | None = None) -> Path:
        path = self.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        if mode is not None:
            path.chmod(mode)
        return path

    def image(
        self, folder: str, parent: str, body: str = "", *, variant: str | None = None
    ) -> None:
        """A Dockerfile `ARG BASE_IMG=<parent>` / `FROM $BASE_IMG` plus `body` lines."""
        name = "Dockerfile" if variant is None else f"{variant}.Dockerfile"
        text = f"ARG BASE_IMG={parent}\nFROM $BASE_IMG\n{textwrap.dedent(body).strip()}\n"
        self.write(f"{folder}/{name}", text)

    def commit(self, message: str = "change") -> str:
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.path, "rev-parse", "HEAD")

    def build(
        self,
        *names: str,
        environ: Mapping[str, str] | None = None,
        stream: TextIO | None = None,
        **options: object,
    ) -> BuildReport:
        """build_images with a BuildRequest of `options` (registry and tag t1 by default)
        and the Settings of `environ` (KFIMAGES_* variables; none by default)."""
        opts = {"registry": self.registry, "tags": ("t1",), **options}
        return build_images(
            load_graph(self.path),
            list(names),
            BuildRequest(**opts),  # type: ignore[arg-type]
            settings=Settings.from_environ(environ or {}),
            stream=stream or sys.stdout,
            publish=publish,
        )

    def ref(self, name: str, tag: str = "t1") -> str:
        return f"{self.registry}/{name.replace('.', '-')}:{tag}"

    def invoke(
        self, *args: str, env: Mapping[str, str] | None = None, prefix: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        """Run `invoke` on this repo's copy of tasks.py (kfimages from the project)."""
        # Hermetic: no CA or build-arg overrides of the caller's environment (e.g. .ci/run's).
        outer = {k: v for k, v in os.environ.items() if not k.startswith("KFIMAGES_")}
        full_env = {**outer, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
        return subprocess.run(
            [*prefix, sys.executable, "-m", "invoke", "-r", str(self.path), *args],
            capture_output=True,
            text=True,
            env=full_env,
            cwd=self.path,
            check=False,
        )


def artifact_image(repo: Repo, folder: str, parent: str, *, url: str) -> None:
    """An image FROM `parent` whose image.yaml declares an artifact `tool` at `url` (build arg
    TOOL_URL), copied from its `artifact-tool` context into /opt/artifact/; it writes the URL
    it got into /opt/url. With a closed loopback port as `url`, its build is blocked (as
    rstudio's is on a machine that cannot reach Posit)."""
    repo.write(
        f"{folder}/Dockerfile",
        f"""
        ARG BASE_IMG={parent}
        FROM scratch AS artifact-tool
        FROM $BASE_IMG
        ARG TOOL_URL=unset
        COPY --from=artifact-tool . /opt/artifact/
        RUN echo "$TOOL_URL" > /opt/url
        """,
    )
    repo.write(
        f"{folder}/image.yaml",
        f"""
        artifacts:
          - name: tool
            url: {url}
            build_arg: TOOL_URL
        """,
    )


def remove_images(reference: str) -> None:
    """Remove every local image matching a reference filter (e.g. `kfit-1234/*`)."""
    listed = docker("image", "ls", "--filter", f"reference={reference}", "--format",
                    "{{.Repository}}:{{.Tag}}", check=False)  # fmt: skip
    refs = sorted(set(listed.stdout.split()))
    if refs:
        docker("image", "rm", "--force", *refs, check=False)


@pytest.fixture
def repo(tmp_path: Path, os_image: str) -> Iterator[Repo]:
    """An empty throwaway repository (with tasks.py) and its unique registry prefix."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    shutil.copy(REPO_ROOT / "tasks.py", path / "tasks.py")
    (path / ".gitignore").write_text("__pycache__/\n/artifacts/\n", encoding="utf-8")
    prefix = f"kfit-{uuid.uuid4().hex[:10]}"
    yield Repo(path=path, registry=prefix)
    remove_images(f"{prefix}/*")
    remove_images(f"*/{prefix}/*")


def write_chain(repo: Repo, os_image: str, *, child_work: str = "true") -> Repo:
    """a (root, FROM the OS image) -> b, c (independent siblings), each child's RUN step
    ending with `child_work`; committed."""
    repo.image(
        "a",
        os_image,
        """
        ARG BASE_IMG
        COPY payload.txt /a.payload
        RUN echo "a from $BASE_IMG" > /a.txt
        """,
    )
    # This test's own content in every image: the tests run on two pytest processes, and a
    # chain with the same inputs as another test's has that test's input digests (a dry run
    # then finds "its" digest on an image the other test just built; seen for the root, a, in
    # CI run 40, after the children alone had their own content).
    repo.write("a/payload.txt", f"a {repo.registry}\n")
    for child in ("b", "c"):
        repo.image(
            child,
            "a",
            f"""
            ARG BASE_IMG
            COPY payload.txt /{child}.txt
            RUN echo "$BASE_IMG" > /{child}.base && {child_work}
            """,
        )
        repo.write(f"{child}/payload.txt", f"{child} {repo.registry}\n")
    repo.commit("chain")
    return repo


@pytest.fixture
def chain(repo: Repo, os_image: str) -> Repo:
    """a (root, FROM the OS image) -> b, c (independent siblings); committed. The children's
    steps do no work of their own (most tests build them; `slow_chain` for overlaps)."""
    return write_chain(repo, os_image)


@pytest.fixture
def slow_chain(repo: Repo, os_image: str) -> Repo:
    """The chain whose children's steps take 3 s more each: long enough to overlap."""
    return write_chain(repo, os_image, child_work="sleep 3")


@pytest.fixture
def registry_process(tmp_path: Path) -> Iterator[RegistryProcess]:
    """docker-registry on a free 127.0.0.1 port with temporary storage, restartable."""
    process = RegistryProcess(tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def registry(registry_process: RegistryProcess) -> Registry:
    """docker-registry serving on a free 127.0.0.1 port with temporary storage."""
    return Registry(host=registry_process.host)


@pytest.fixture
def readonly_registry(tmp_path: Path) -> Iterator[Registry]:
    """docker-registry in read-only mode: it answers, and refuses every push."""
    process = RegistryProcess(tmp_path)
    process.start(readonly=True)
    try:
        yield Registry(host=process.host)
    finally:
        process.stop()
