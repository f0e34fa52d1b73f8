"""`invoke new` end to end, in a clone of this repository (its committed HEAD): scaffold a
sibling image with a hyphenated name and a variant (`demo-ide --variant gpu`, named like
upstream's `jupyter-scipy`), lint it, see `invoke affected` select it alone, build it, run
its smoke tests (its own and base's contract tests), with no other edit.

Lint here is `nox -s lint`'s steps that what `invoke new` writes can break, with the same
tools, flags and file discovery (kfimages.author.lintfiles): hadolint on every Dockerfile,
shellcheck on every shell script, the image-chart check, and over the whole clone ruff check,
ruff format --check and mypy (the project's configuration: a test folder named `demo-ide`
with an __init__.py fails there, "is not a valid Python package name").

Images are built under a unique registry prefix `kfnb-scaffold-<hex>` (base is rebuilt
there, from BuildKit's cache when it is warm) and removed afterwards; kfnb/* is not touched.
The host's CA certificates reach the build through $KFIMAGES_CA_CERT when it is set (as
scripts/test.sh sets it), which base's HTTPS test needs behind a TLS-intercepting proxy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kfimages.author import lintfiles
from kfimages.repo.graph import load_graph
from kfimages.verify.suites import WORKERS, workers_args
from tests.integration.conftest import REPO_ROOT, remove_images

FOLDER = "demo-ide"
VARIANT = "gpu"
IMAGE = f"{FOLDER}.{VARIANT}"
TEST_MODULE = f"tests/images/{FOLDER}/test_demo_ide.py"
TAG = "t1"
TOOLS = Path(sys.executable).parent
NEW_FILES = (
    f"{FOLDER}/{VARIANT}.Dockerfile",
    f"{FOLDER}/s6/services.d/{FOLDER}/run",
    f"{FOLDER}/image.yaml",
    f"{FOLDER}/README.md",
    TEST_MODULE,
)
"""No tests/images/demo-ide/__init__.py: `demo-ide` cannot be a Python package."""


class Clone:
    """A clone of this repository, with commands run in it (kfimages and tasks.py from it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        keep_ca = {"KFIMAGES_CA_CERT"}  # hermetic otherwise (no build-arg overrides)
        outer = {k: v for k, v in os.environ.items() if not k.startswith("KFIMAGES_")}
        outer |= {k: v for k, v in os.environ.items() if k in keep_ca}
        self.env = {**outer, "PYTHONPATH": str(path)}

    def run(self, *argv: str | Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in argv],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def invoke(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "invoke", *args)

    def status(self) -> str:
        return self.run("git", "status", "--porcelain", "--untracked-files=all").stdout


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"{done.args}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.fixture
def clone(tmp_path: Path) -> Clone:
    path = tmp_path / "clone"
    done = subprocess.run(
        ["git", "clone", "--quiet", str(REPO_ROOT), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return Clone(path)


@pytest.fixture
def registry() -> Iterator[str]:
    prefix = f"kfnb-scaffold-{uuid.uuid4().hex[:10]}"
    yield prefix
    remove_images(f"{prefix}/*")


def _scaffold(clone: Clone) -> None:
    new = ("new", FOLDER, "--parent", "base", "--variant", VARIANT)
    written = _ok(clone.invoke(*new)).split()
    assert sorted(written) == sorted([*NEW_FILES, "README.md"])
    assert f'"{IMAGE}"' in (clone.path / "README.md").read_text(encoding="utf-8"), "chart"
    before = clone.status()
    again = clone.invoke(*new)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"error: image '{IMAGE}' already exists ({FOLDER}/{VARIANT}.Dockerfile); "
        "choose another variant"
    ]
    unknown = clone.invoke("new", "other-ide", "--parent", "nope")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: unknown parent 'nope'; choose one of: base, ")
    reserved = clone.invoke("new", "all", "--parent", "base")
    assert reserved.returncode == 2
    assert reserved.stderr.startswith("error: 'all' is a pseudo-name")
    assert clone.status() == before, "a failed `invoke new` wrote something"


def _lint(clone: Clone) -> None:
    graph = load_graph(clone.path)
    dockerfiles = lintfiles.dockerfiles(graph)
    assert f"{FOLDER}/{VARIANT}.Dockerfile" in dockerfiles
    _ok(clone.run(TOOLS / "hadolint", "--config", ".hadolint.yaml", *dockerfiles))
    scripts = lintfiles.shell_scripts(graph)
    run_script = f"{FOLDER}/s6/services.d/{FOLDER}/run"
    assert run_script in scripts["bash"]
    assert os.access(clone.path / run_script, os.X_OK)
    for shell, files in scripts.items():
        _ok(clone.run(TOOLS / "shellcheck", "--shell", shell, "--external-sources", *files))
    _ok(clone.invoke("chart", "--check"))
    _ok(clone.run(TOOLS / "ruff", "check", "--no-cache", "."))
    _ok(clone.run(TOOLS / "ruff", "format", "--check", "--no-cache", "."))
    _ok(clone.run(TOOLS / "mypy", "--no-incremental"))  # files: kfimages, tests (pyproject)


@pytest.mark.repo_images("base")
def test_new_image_lints_is_selected_alone_builds_and_passes_its_tests(
    clone: Clone, registry: str
) -> None:
    _scaffold(clone)
    _lint(clone)
    affected = json.loads(_ok(clone.invoke("affected", "--base", "HEAD", "--json")))
    assert affected["names"] == [IMAGE]

    built = _ok(clone.invoke("build", IMAGE, "--tag", TAG, "--registry", registry))
    assert f"{registry}/{FOLDER}-{VARIANT}:{TAG}" in built
    smoke = clone.run(
        sys.executable,
        "-m",
        "pytest",
        "tests/images",
        "--image",
        IMAGE,
        "--registry",
        registry,
        "--tag",
        TAG,
        "-rA",
        "-p",
        "no:cacheprovider",
        *workers_args(WORKERS),  # as invoke smoke runs a suite
    )
    out = _ok(smoke)
    assert f"PASSED {TEST_MODULE}::test_service_is_up_and_stays_up" in out
    assert "tests/images/base/test_init.py::" in out, "base's contract tests did not run"
    assert " failed" not in out.splitlines()[-1]
