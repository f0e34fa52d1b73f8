"""Rebuild selection: which images a change touches, from git.

The changed paths are everything that differs between `git merge-base BASE HEAD`
and the working tree: commits since the merge-base, staged and unstaged edits,
deletions, and untracked files that are not ignored. A rename counts as its old
and its new path.

Each changed path (repository-relative, posix) maps to images by these rules,
then every descendant of an image hit directly is added, and the result is
returned parents first (`Graph.build_order`):

1. `*.md` anywhere affects nothing (documentation only), unless an image's
   `image.yaml` lists it explicitly in `paths` (rule 5).
2. A file in an image folder affects every image of that folder (shared files,
   `image.yaml`, `s6/`, `.dockerignore`, ...), except the Dockerfile of one
   image (`Dockerfile` or `<variant>.Dockerfile`, and its
   `<dockerfile>.dockerignore`), which affects only that image. A Dockerfile that
   belongs to no image any more (deleted) affects nothing; a deleted image is not
   in the graph at all, and a renamed folder is a new image affected by its new
   files.
3. `tests/images/<folder>/**` (an image folder's smoke tests) affects the images
   of `<folder>`: they need retesting, and so do their descendants, whose runs
   include their ancestors' tests.
4. Files directly in `tests/images/` (the smoke tests' `conftest.py`) and the test
   harness `tests/harness/**` affect every image.
5. A glob in an image's `image.yaml` `paths` (repository-relative; `*` and `?`
   stay within one path segment, `**` spans segments, a directory matches the
   files below it) affects that image.
6. Everything else affects no image. In particular the build system itself
   (`kfimages/**`, `tasks.py`, `noxfile.py`, `requirements.txt`,
   `pyproject.toml`, `scripts/**`, `.ci/**`, `bench/**`, `tests/unit/**`,
   `tests/integration/**`) does not trigger image rebuilds: it is covered by the
   unit tests and by the integration tests, which build a throwaway chain of
   images with the real engine. After a build-system change that should reach
   the images, build them by name (`invoke build NAME...`).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from kfimages.errors import UserError
from kfimages.graph import DOCKERFILE, VARIANT_SUFFIX, Graph, Image

log = logging.getLogger(__name__)

TESTS_IMAGES = ("tests", "images")
TESTS_HARNESS = ("tests", "harness")
DOCKERIGNORE_SUFFIX = ".dockerignore"


# --------------------------------------------------------------------------- git


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # GIT_OPTIONAL_LOCKS=0: a read-only query must not take index.lock, which a
    # concurrent `git commit` in the same tree needs.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            check=False,
            env=env,
        )
    except FileNotFoundError:
        raise UserError("git is not installed; install it (e.g. `apt-get install git`)") from None


def _git_ok(root: Path, *args: str) -> str:
    proc = _git(root, *args)
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()
        raise UserError(
            f"`git {' '.join(args)}` failed in {root}: {detail[-1] if detail else proc.returncode}"
        )
    return proc.stdout


def _check_repository(root: Path) -> None:
    proc = _git(root, "rev-parse", "--is-inside-work-tree")
    if proc.returncode != 0 or proc.stdout.strip() != "true":
        raise UserError(
            f"{root} is not a git repository (work tree); rebuild selection compares with a "
            "git base ref: run it inside a clone, or build images by name instead"
        )
    if _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}").returncode != 0:
        raise UserError(f"{root}: HEAD has no commit yet; commit first, or build images by name")


def _is_shallow(root: Path) -> bool:
    return _git(root, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"


def merge_base(*, root: Path, base_ref: str) -> str:
    """The commit where HEAD forked from `base_ref`, or a UserError saying how to fetch it."""
    _check_repository(root)
    if not base_ref or base_ref.startswith("-"):
        raise UserError(f"invalid base ref '{base_ref}'; give a branch, tag or commit")
    resolved = _git(root, "rev-parse", "--verify", "--quiet", f"{base_ref}^{{commit}}")
    if resolved.returncode != 0:
        if _is_shallow(root):
            raise UserError(
                f"base ref '{base_ref}' is not in this shallow clone; fetch it with "
                f"`git fetch --deepen=100 origin` or `git fetch --unshallow origin` "
                f"(for a branch: `git fetch origin {base_ref}`)"
            )
        raise UserError(
            f"base ref '{base_ref}' does not exist here; fetch it (e.g. "
            f"`git fetch origin {base_ref.removeprefix('origin/')}`) or check the name"
        )
    commit = resolved.stdout.strip()
    proc = _git(root, "merge-base", commit, "HEAD")
    if proc.returncode != 0:
        if _is_shallow(root):
            raise UserError(
                f"the merge-base of '{base_ref}' and HEAD is missing from this shallow clone; "
                "run `git fetch --unshallow origin` (or `git fetch --deepen=<n> origin` until "
                "the fork point is fetched)"
            )
        raise UserError(
            f"'{base_ref}' and HEAD have no common history; choose a base ref that HEAD "
            "descends from (e.g. origin/main)"
        )
    return proc.stdout.strip()


def _nul_list(text: str) -> set[str]:
    return {p for p in text.split("\0") if p}


def changed_paths(*, root: Path, base_ref: str) -> set[str]:
    """Paths (relative to `root`, posix) that differ between the merge-base and the work tree.

    Includes committed, staged, unstaged and untracked-not-ignored changes; a
    renamed file contributes its old and its new path.
    """
    base = merge_base(root=root, base_ref=base_ref)
    # --no-renames: a rename shows as delete + add, i.e. both paths.
    # --relative: paths relative to `root` (and only below it) when root is a subfolder.
    diff = _git_ok(root, "diff", "--name-only", "--no-renames", "--relative", "-z", base, "--")
    untracked = _git_ok(root, "ls-files", "--others", "--exclude-standard", "-z")
    paths = _nul_list(diff) | _nul_list(untracked)
    log.debug("%d paths changed since %s (merge-base of %s)", len(paths), base[:12], base_ref)
    return paths


# ------------------------------------------------------------------ path rules


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Regex for a repository-relative glob: `**` spans segments, `*`/`?` do not."""
    out: list[str] = []
    i = 0
    pat = pattern.strip("/")
    while i < len(pat):
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif pat[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pat[i] == "?":
            out.append("[^/]")
            i += 1
        elif pat[i] == "[" and (end := pat.find("]", i + 2)) != -1:
            body = pat[i + 1 : end].replace("\\", "\\\\")
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body}]")
            i = end + 1
        else:
            out.append(re.escape(pat[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def path_matches(pattern: str, path: str) -> bool:
    """Whether `path` or one of its parent folders matches the glob `pattern`."""
    regex = _glob_regex(pattern)
    parts = path.split("/")
    return any(regex.match("/".join(parts[:n])) for n in range(len(parts), 0, -1))


def _is_doc(path: str) -> bool:
    return path.lower().endswith(".md")


def _folder_images(graph: Graph) -> dict[str, list[Image]]:
    folders: dict[str, list[Image]] = {}
    for image in graph.images.values():
        folders.setdefault(image.folder, []).append(image)
    return folders


def _is_dockerfile_name(filename: str) -> bool:
    base = filename.removesuffix(DOCKERIGNORE_SUFFIX)
    return base == DOCKERFILE or base.endswith(VARIANT_SUFFIX)


def images_for_path(
    graph: Graph, path: str, *, folders: Mapping[str, list[Image]] | None = None
) -> set[str]:
    """Names of the images that a change of `path` affects directly (no descendants).

    `folders` (image folder -> its images) may be passed to save recomputing it per path.
    """
    hit = {
        image.name
        for image in graph.images.values()
        if any(path_matches(p, path) for p in image.config.extra_paths)
    }
    if _is_doc(path):
        return hit
    parts = path.split("/")
    if folders is None:
        folders = _folder_images(graph)
    if len(parts) >= 2 and parts[0] in folders:
        members = folders[parts[0]]
        if len(parts) == 2 and _is_dockerfile_name(parts[1]):
            dockerfile = path.removesuffix(DOCKERIGNORE_SUFFIX)
            hit.update(i.name for i in members if i.dockerfile == dockerfile)
        else:
            hit.update(i.name for i in members)
    elif tuple(parts[:2]) == TESTS_HARNESS and len(parts) > 2:
        hit.update(graph.images)
    elif tuple(parts[:2]) == TESTS_IMAGES:
        if len(parts) == 3:
            hit.update(graph.images)
        elif len(parts) > 3 and parts[2] in folders:
            hit.update(i.name for i in folders[parts[2]])
    return hit


# ------------------------------------------------------------------- selection


@dataclass(frozen=True)
class Selection:
    """The affected images and why each one is in the set."""

    images: list[Image]
    """Affected images, parents first."""
    triggers: Mapping[str, tuple[str, ...]]
    """Image name -> the changed paths that hit it directly (sorted)."""
    via: Mapping[str, str]
    """Image name -> the nearest directly-hit ancestor, for images hit through a parent."""
    paths: frozenset[str] = field(default_factory=frozenset)
    """Every changed path considered."""

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.images]

    def reason(self, name: str, *, max_paths: int = 3) -> str:
        """One line: the paths that triggered `name` and/or the ancestor it descends from."""
        parts: list[str] = []
        if name in self.triggers:
            paths = self.triggers[name]
            shown = ", ".join(paths[:max_paths])
            more = f" (+{len(paths) - max_paths} more)" if len(paths) > max_paths else ""
            parts.append(f"changed: {shown}{more}")
        if name in self.via:
            parts.append(f"descendant of {self.via[name]}")
        return "; ".join(parts)

    @property
    def reasons(self) -> dict[str, str]:
        """Image name -> `reason(name)`, for every affected image."""
        return {i.name: self.reason(i.name) for i in self.images}


def _nearest_hit_ancestor(graph: Graph, name: str, direct: Iterable[str]) -> str | None:
    hits = set(direct)
    for ancestor in reversed(graph.ancestors(name)):
        if ancestor.name in hits:
            return ancestor.name
    return None


def select(graph: Graph, *, paths: Iterable[str]) -> Selection:
    """Apply the rules of this module to a set of changed paths (no git involved)."""
    all_paths = frozenset(paths)
    triggers: dict[str, list[str]] = {}
    folders = _folder_images(graph)
    for path in sorted(all_paths):
        for name in images_for_path(graph, path, folders=folders):
            triggers.setdefault(name, []).append(path)
    closure = graph.descendants(triggers)
    via: dict[str, str] = {}
    for name in closure:
        ancestor = _nearest_hit_ancestor(graph, name, triggers)
        if ancestor is not None:
            via[name] = ancestor
    return Selection(
        images=graph.build_order(closure),
        triggers=MappingProxyType({k: tuple(v) for k, v in triggers.items()}),
        via=MappingProxyType(via),
        paths=all_paths,
    )


def explain(graph: Graph, *, base_ref: str) -> Selection:
    """The affected images with their reasons, for the changes since `base_ref`."""
    return select(graph, paths=changed_paths(root=graph.root, base_ref=base_ref))


def affected(graph: Graph, *, base_ref: str) -> list[Image]:
    """Images whose build inputs changed since the merge-base with `base_ref`, parents first.

    Includes every descendant of a changed image; see the module docstring for the rules.
    """
    return explain(graph, base_ref=base_ref).images
