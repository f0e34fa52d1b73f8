"""Fixtures of the build-system integration tests: throwaway repos, real engine, real registry.

tests/integration tests the build system only, with tiny throwaway images; the tests of
the repository's own images (and their stages) are in tests/images.

Every test builds tiny images FROM the local OS image (debian:trixie-slim; created
with debootstrap if missing) under a unique registry prefix `kfit-<hex>`, and removes
every image under that prefix afterwards. Nothing is pruned globally.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pytest

from kfimages.bootstrap import DEFAULT_OS_IMAGE, ensure_os_image
from kfimages.build import build_images
from kfimages.graph import load_graph
from kfimages.plan import BuildRequest
from kfimages.report import BuildReport
from kfimages.settings import Settings
from tests.harness.http import free_port
from tests.harness.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
OS_IMAGE = DEFAULT_OS_IMAGE

log = logging.getLogger(__name__)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.docker)


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
    (path / ".gitignore").write_text("__pycache__/\n", encoding="utf-8")
    prefix = f"kfit-{uuid.uuid4().hex[:10]}"
    yield Repo(path=path, registry=prefix)
    remove_images(f"{prefix}/*")
    remove_images(f"*/{prefix}/*")


@pytest.fixture
def chain(repo: Repo, os_image: str) -> Repo:
    """a (root, FROM the OS image) -> b, c (independent siblings); committed."""
    repo.image(
        "a",
        os_image,
        """
        ARG BASE_IMG
        RUN echo "a from $BASE_IMG" > /a.txt
        """,
    )
    for child in ("b", "c"):
        repo.image(
            child,
            "a",
            f"""
            ARG BASE_IMG
            COPY payload.txt /{child}.txt
            RUN echo "$BASE_IMG" > /{child}.base && sleep 3
            """,
        )
        repo.write(f"{child}/payload.txt", f"{child}\n")
    repo.commit("chain")
    return repo


@dataclass(frozen=True)
class Registry:
    """A real registry (Debian's docker-registry) on 127.0.0.1."""

    host: str

    def tags(self, repository: str) -> list[str]:
        url = f"http://{self.host}/v2/{repository}/tags/list"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return sorted(json.load(response).get("tags") or [])
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return []
            raise

    def catalog(self) -> list[str]:
        with urllib.request.urlopen(f"http://{self.host}/v2/_catalog", timeout=5) as response:
            return sorted(json.load(response).get("repositories") or [])


REGISTRY_CONFIG = """
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
  maintenance:
    readonly:
      enabled: {readonly}
http:
  addr: {addr}
"""


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    """docker-registry serving on a free 127.0.0.1 port with temporary storage."""
    yield from _serve_registry(tmp_path, readonly=False)


@pytest.fixture
def readonly_registry(tmp_path: Path) -> Iterator[Registry]:
    """docker-registry in read-only mode: it answers, and refuses every push."""
    yield from _serve_registry(tmp_path, readonly=True)


def _serve_registry(tmp_path: Path, *, readonly: bool) -> Iterator[Registry]:
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    if not Path(binary).exists():
        pytest.fail("docker-registry is not installed: apt-get install docker-registry")
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        REGISTRY_CONFIG.format(
            root=tmp_path / "registry-data",
            addr=f"127.0.0.1:{port}",
            readonly=str(readonly).lower(),
        ),
        encoding="utf-8",
    )
    logfile = (tmp_path / "registry.log").open("w")
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=logfile, stderr=logfile)
    reg = Registry(host=f"127.0.0.1:{port}")

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError((tmp_path / "registry.log").read_text())
        urllib.request.urlopen(f"http://{reg.host}/v2/", timeout=2).close()
        return True

    try:
        wait_until(up, timeout=20, message="docker-registry answering /v2/")
    except AssertionError:
        proc.kill()
        raise
    yield reg
    proc.terminate()
    proc.wait(timeout=10)
    logfile.close()
