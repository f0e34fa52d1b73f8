"""Throwaway git repositories with small image folders, for the planning unit tests.

Every repository is a real one (`git init`, real commits) under pytest's tmp_path;
no Docker is involved: the Dockerfiles are only parsed, never built.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kfimages.repo.changes import affected
from kfimages.repo.graph import Graph, load_graph


class Repo:
    """A git work tree in a temporary folder, with helpers to write image folders."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def git(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(self.root), *args],
            capture_output=True,
            text=True,
            check=True,
        )
        return proc.stdout.strip()

    def init(self) -> Repo:
        self.root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "dev@example.invalid")
        self.git("config", "user.name", "Unit Test")
        self.git("config", "commit.gpgsign", "false")
        return self

    def write(self, rel: str, text: str = "x\n") -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def append(self, rel: str, text: str = "# changed\n") -> None:
        with (self.root / rel).open("a", encoding="utf-8") as fh:
            fh.write(text)

    def image(self, folder: str, parent: str, *, variant: str | None = None) -> Path:
        """Write `<folder>/Dockerfile` (or `<variant>.Dockerfile`) building FROM `parent`."""
        name = "Dockerfile" if variant is None else f"{variant}.Dockerfile"
        return self.write(
            f"{folder}/{name}",
            f"ARG BASE_IMG={parent}\nFROM $BASE_IMG\nRUN true\n",
        )

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def graph(self) -> Graph:
        return load_graph(self.root)

    def affected(self, base: str = "main") -> list[str]:
        """Names of the images affected since the merge-base with `base` (parents first)."""
        return [i.name for i in affected(self.graph(), base_ref=base)]


@pytest.fixture
def git_isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the user's and system's git configuration out of the tests."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    # never find an enclosing repository above tmp_path (e.g. with --basetemp in a clone)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def repo(tmp_path: Path, git_isolated: None) -> Repo:
    """An empty git repository (branch main, no commit)."""
    return Repo(tmp_path / "repo").init()


@pytest.fixture
def chain(repo: Repo) -> Repo:
    """A committed repository shaped like the real one, then a `feature` branch checked out.

    base (debian:trixie-slim) -> jupyter -> pytorch.cpu, pytorch.cuda
    base -> codeserver; plus docs, build-system files and smoke tests.
    """
    repo.image("base", "debian:trixie-slim")
    repo.write("base/s6/cont-init.d/10-home", "#!/bin/sh\n")
    repo.image("jupyter", "base")
    repo.write("jupyter/README.md", "# jupyter\n")
    repo.image("codeserver", "base")
    repo.image("pytorch", "jupyter", variant="cpu")
    repo.image("pytorch", "jupyter", variant="cuda")
    repo.write("pytorch/requirements.txt", "torch\n")
    repo.write("README.md", "# images\n")
    repo.write("docs/build-system.md", "# build\n")
    repo.write("kfimages/__init__.py", "")
    repo.write("tasks.py", "")
    repo.write("noxfile.py", "")
    repo.write("requirements.txt", "pytest\n")
    repo.write("pyproject.toml", "[project]\n")
    repo.write("scripts/install-docker.sh", "#!/bin/sh\n")
    repo.write(".ci/run", "#!/bin/sh\n")
    repo.write("bench/plan.py", "")
    repo.write("tests/unit/test_x.py", "")
    repo.write("tests/integration/test_y.py", "")
    repo.write("tests/images/conftest.py", "")
    repo.write("tests/images/helpers.py", "")
    repo.write("tests/images/base/test_base.py", "")
    repo.write("tests/images/jupyter/test_jupyter.py", "")
    repo.write(".gitignore", "__pycache__/\n*.log\n")
    repo.commit("initial")
    repo.git("checkout", "-q", "-b", "feature")
    return repo
