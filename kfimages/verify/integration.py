"""`invoke integration`: the build system's integration tests (tests/integration) that the
changes since a base ref can affect, selected with the rules the images use, never silently.

- No base ref (`--base`, else $KFIMAGES_BASE_REF): every test.
- A changed path of the build system (`BUILD_SYSTEM`, globs as image.yaml `paths`: the
  package, tasks.py, the test harness, the tools' pins and configuration): every test.
- Else, the tests marked `repo_images` that use an image of this repository that is affected
  since the ref (kfimages.repo.changes: its inputs, its smoke tests, its ancestors): those only
  (`--repo-images NAMES`, read by tests/integration/conftest.py; a mark without names uses
  the whole graph, so any affected image selects it).
- Else nothing: one line says that nothing they test changed since the ref.

Every case prints one line saying what runs and why (`Selection.line`).
"""

from __future__ import annotations

import enum
import logging
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kfimages.globs import path_matches
from kfimages.repo.changes import explain
from kfimages.repo.graph import Graph
from kfimages.verify.suites import workers_args

log = logging.getLogger(__name__)

TESTS_DIR = "tests/integration"
BUILD_SYSTEM = (
    "kfimages/**",
    "tasks.py",
    "noxfile.py",
    "pyproject.toml",
    "requirements.txt",
    ".hadolint.yaml",
    "scripts/free-disk.sh",
    "tests/__init__.py",
    "tests/harness/**",
    f"{TESTS_DIR}/**",
)
"""What the integration tests test or run with: any change here runs every one of them."""
REPO_IMAGES_OPTION = "--repo-images"
"""pytest option of tests/integration/conftest.py: keep only the tests marked `repo_images`
that use one of these images (comma-separated)."""
MAX_SHOWN = 3
NO_TESTS_COLLECTED = 5
"""pytest's exit code when every test was deselected."""
WORKERS = 2
"""Default of `invoke integration --workers`: pytest-xdist processes. The tests mostly wait
(the engine's builds and pushes, a registry's retries): on the 2-core machines the 54 tests
took 642 s in one process and 365 s in two. Each test has its own throwaway repository,
registry prefix and ports, so they need no order."""


class Scope(enum.StrEnum):
    ALL = "all"
    IMAGES = "images"
    NONE = "none"


@dataclass(frozen=True)
class Selection:
    """Which integration tests run, and the line that says why."""

    scope: Scope
    line: str
    images: tuple[str, ...] = ()
    """With Scope.IMAGES: the affected images of this repository."""

    def pytest_args(self) -> list[str]:
        """The arguments that make pytest run the selection (none for every test)."""
        if self.scope == Scope.IMAGES:
            return [REPO_IMAGES_OPTION, ",".join(self.images)]
        return []


def build_system_changes(paths: Iterable[str]) -> list[str]:
    """The changed paths that the build system's tests depend on, sorted."""
    return sorted(p for p in paths if any(path_matches(glob, p) for glob in BUILD_SYSTEM))


def _shown(items: Sequence[str]) -> str:
    more = f" (+{len(items) - MAX_SHOWN} more)" if len(items) > MAX_SHOWN else ""
    return ", ".join(items[:MAX_SHOWN]) + more


def _watched() -> str:
    return ", ".join(glob.removesuffix("**") for glob in BUILD_SYSTEM)


def decide(*, base_ref: str, paths: Iterable[str], affected: Sequence[str]) -> Selection:
    """The selection from the changed paths and the affected images (no git)."""
    if not base_ref:
        return Selection(
            Scope.ALL, "integration: every test (no base ref: --base REF or $KFIMAGES_BASE_REF)"
        )
    changed = build_system_changes(paths)
    if changed:
        return Selection(
            Scope.ALL, f"integration: every test: changed since {base_ref}: {_shown(changed)}"
        )
    unchanged = f"nothing under {_watched()} changed since {base_ref}"
    if affected:
        return Selection(
            Scope.IMAGES,
            f"integration: only the tests that use the repository's images affected since "
            f"{base_ref} ({_shown(affected)}); the others skipped: {unchanged}",
            images=tuple(affected),
        )
    return Selection(Scope.NONE, f"integration: skipped: {unchanged}, and no image is affected")


def select(graph: Graph, *, base_ref: str) -> Selection:
    """The selection for the changes between the merge-base with `base_ref` and the work tree
    (every test without a ref)."""
    if not base_ref:
        return decide(base_ref="", paths=(), affected=())
    changes = explain(graph, base_ref=base_ref)
    return decide(base_ref=base_ref, paths=changes.paths, affected=changes.names)


def pytest_command(
    selection: Selection, *, extra: Sequence[str] = (), workers: int = 1
) -> list[str]:
    """The pytest command line of the selection over `workers` processes (1: no xdist)."""
    return [
        sys.executable, "-m", "pytest", TESTS_DIR, "-q", *selection.pytest_args(),
        *workers_args(workers), *extra,
    ]  # fmt: skip


def run(
    selection: Selection, *, root: Path, extra: Sequence[str] = (), workers: int = WORKERS
) -> int:
    """Print the selection's line, then run pytest for it over `workers` processes (nothing
    when it skips); the exit code."""
    print(selection.line, flush=True)
    if selection.scope == Scope.NONE:
        return 0
    command = pytest_command(selection, extra=extra, workers=workers)
    log.info("%s", " ".join(command))
    code = subprocess.run(command, cwd=root, check=False).returncode
    if code == NO_TESTS_COLLECTED and selection.scope == Scope.IMAGES:
        print(f"integration: no test uses {', '.join(selection.images)}: none ran", flush=True)
        return 0
    return code
