"""`invoke new` end to end, in a clone of this repository (its committed HEAD): scaffold a
sibling image, lint it, see `invoke affected` select it alone, build it, run its smoke tests
(its own and base's contract tests), with no other edit.

Lint here is the part of `nox -s lint` that covers what `invoke new` writes, run with the
same tools and flags: hadolint (.hadolint.yaml) on the new Dockerfile, shellcheck on the new
s6 script, ruff check + format and mypy --strict on the new test files, and the image-chart
check. The rest of the lint session (the whole repository's ruff and mypy) does not depend
on the new image and is left to `nox -s lint`.

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

from tests.integration.conftest import REPO_ROOT, remove_images

NAME = "myide"
TAG = "t1"
TOOLS = Path(sys.executable).parent
NEW_FILES = (
    f"{NAME}/Dockerfile",
    f"{NAME}/s6/services.d/{NAME}/run",
    f"{NAME}/image.yaml",
    f"{NAME}/README.md",
    f"tests/images/{NAME}/__init__.py",
    f"tests/images/{NAME}/test_{NAME}.py",
)


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
    written = _ok(clone.invoke("new", NAME, "--parent", "base")).split()
    assert sorted(written) == sorted([*NEW_FILES, "README.md"])
    assert f'"{NAME}"' in (clone.path / "README.md").read_text(encoding="utf-8"), "chart"
    before = clone.status()
    again = clone.invoke("new", NAME, "--parent", "base")
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"error: image folder '{NAME}/' already exists; choose another name, "
        "or add a variant to it with --variant V"
    ]
    unknown = clone.invoke("new", "otheride", "--parent", "nope")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: unknown parent 'nope'; choose one of: base, ")
    assert clone.status() == before, "a failed `invoke new` wrote something"


def _lint(clone: Clone) -> None:
    _ok(clone.run(TOOLS / "hadolint", "--config", ".hadolint.yaml", f"{NAME}/Dockerfile"))
    run_script = f"{NAME}/s6/services.d/{NAME}/run"
    assert os.access(clone.path / run_script, os.X_OK)
    _ok(clone.run(TOOLS / "shellcheck", "--shell", "bash", "--external-sources", run_script))
    tests = f"tests/images/{NAME}"
    _ok(clone.run(TOOLS / "ruff", "check", tests))
    _ok(clone.run(TOOLS / "ruff", "format", "--check", tests))
    _ok(clone.run(TOOLS / "mypy", "--strict", "--no-incremental", tests))
    _ok(clone.invoke("chart", "--check"))


def test_new_image_lints_is_selected_alone_builds_and_passes_its_tests(
    clone: Clone, registry: str
) -> None:
    _scaffold(clone)
    _lint(clone)
    affected = json.loads(_ok(clone.invoke("affected", "--base", "HEAD", "--json")))
    assert affected["names"] == [NAME]

    built = _ok(clone.invoke("build", NAME, "--tag", TAG, "--registry", registry))
    assert f"{registry}/{NAME}:{TAG}" in built
    smoke = clone.run(
        sys.executable,
        "-m",
        "pytest",
        "tests/images",
        "--image",
        NAME,
        "--registry",
        registry,
        "--tag",
        TAG,
        "-v",
        "-p",
        "no:cacheprovider",
    )
    out = _ok(smoke)
    assert f"tests/images/{NAME}/test_{NAME}.py::test_service_is_up_and_stays_up PASSED" in out
    assert "tests/images/base/test_init.py::" in out, "base's contract tests did not run"
    assert " failed" not in out.splitlines()[-1]
