"""Rebuild selection: the images whose inputs differ between the merge-base and the work tree.

`explain(graph, base_ref=REF)` exports the tree of `git merge-base REF HEAD` into a
temporary folder, loads the image graph there, and compares every image's *source
inputs* (`kfimages.repo.inputs.source_fingerprint`: its context files with their modes, its
Dockerfile, the files its image.yaml `paths` match, its image.yaml build args and
artifacts) with the work tree's (committed, staged, unstaged and untracked-not-ignored
files). An image is hit directly when:

1. its source inputs differ (so an edit of one variant's section of image.yaml, or of
   one `<variant>.Dockerfile`, hits that variant only, and a `*.md` file, which is no
   input, hits nothing unless `paths` names it), or it is new;
2. its image.yaml `size_budget_mb` (what its smoke tests check) differs;
3. a changed path is one of its folder's smoke tests, `tests/images/<folder>/**`;
4. a changed path is of the shared harness: under `tests/harness/`, or under
   `tests/images/` outside every image folder's tests (`conftest.py`): every image is hit.

Every descendant of a hit image is added, and the result is ordered parents first. The
build system itself (`kfimages/`, `tasks.py`, `tests/unit`, `scripts/`, ...) hits no
image: the unit and integration tests cover it.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from kfimages import git
from kfimages.errors import UserError
from kfimages.repo.graph import TESTS_DIR, Graph, Image, load_graph
from kfimages.repo.inputs import make_inputs, source_fingerprint

log = logging.getLogger(__name__)

TESTS_IMAGES = tuple(TESTS_DIR.split("/"))
TESTS_HARNESS = ("tests", "harness")


def source_inputs(graph: Graph, *, files: list[str]) -> dict[str, dict[str, str]]:
    """Image name -> its source fingerprint (no environment, no parent, no CA)."""
    out: dict[str, dict[str, str]] = {}
    for image in graph.images.values():
        inputs = make_inputs(
            image,
            root=graph.root,
            overrides={},
            repository_files=files,
            baked_ca="",
            parent="",
            platform="",
        )
        tracked = set(files)  # ignored files are in the build context, but never changes
        fingerprint = {
            key: value
            for key, value in source_fingerprint(inputs).items()
            if key.startswith("(") or key in tracked
        }
        fingerprint["(size_budget_mb)"] = str(image.config.size_budget_mb)
        out[image.name] = fingerprint
    return out


def _diff(old: Mapping[str, str] | None, new: Mapping[str, str]) -> list[str]:
    if old is None:
        return ["(new image)"]
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _test_hits(graph: Graph, path: str, folders: Mapping[str, list[str]]) -> set[str]:
    """Rules 3 and 4: the images a changed file under tests/images/ needs retested."""
    parts = path.split("/")
    if tuple(parts[:2]) == TESTS_HARNESS:
        return set(graph.images)
    if tuple(parts[:2]) != TESTS_IMAGES or len(parts) < 3:
        return set()
    if len(parts) == 3:
        return set(graph.images)  # conftest.py and other files of the shared harness
    if parts[2] in folders:
        return set(folders[parts[2]])
    if (graph.root / parts[2]).exists() or parts[2] == "__pycache__":
        return set()  # the tests of a top-level folder that is no image (yet)
    return set(graph.images)  # a harness package such as tests/images/harness/


@dataclass(frozen=True)
class Selection:
    """The affected images and why each one is in the set."""

    images: list[Image]
    """Affected images, parents first."""
    triggers: Mapping[str, tuple[str, ...]]
    """Image name -> what hit it directly (changed inputs or test paths, sorted)."""
    via: Mapping[str, str]
    """Image name -> the nearest directly-hit ancestor, for images hit through a parent."""
    paths: frozenset[str] = field(default_factory=frozenset)
    """Every changed path of the work tree since the merge-base."""

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.images]

    def reason(self, name: str, *, max_paths: int = 3) -> str:
        """One line: what triggered `name` and/or the ancestor it descends from."""
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


def _old_inputs(root: Path, commit: str) -> dict[str, dict[str, str]]:
    """Source fingerprints of the images at `commit` ({} when its graph does not load)."""
    with tempfile.TemporaryDirectory(prefix="kfimages-base-") as tmp:
        tree = Path(tmp)
        git.export_tree(root=root, commit=commit, target=tree)
        try:
            old = load_graph(tree)
        except UserError as exc:
            log.warning("the image graph at %s does not load (%s): every image is new", commit, exc)
            return {}
        files = [p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()]
        return source_inputs(old, files=files)


def select(
    graph: Graph,
    *,
    old: Mapping[str, Mapping[str, str]],
    new: Mapping[str, Mapping[str, str]],
    paths: Iterable[str],
) -> Selection:
    """The selection from both sides' source fingerprints and the changed paths (no git)."""
    all_paths = frozenset(paths)
    folders: dict[str, list[str]] = {}
    for image in graph.images.values():
        folders.setdefault(image.folder, []).append(image.name)
    triggers: dict[str, list[str]] = {}
    for name, fingerprint in new.items():
        changed = _diff(old.get(name), fingerprint)
        if changed:
            triggers[name] = changed
    for path in sorted(all_paths):
        for name in _test_hits(graph, path, folders):
            triggers.setdefault(name, []).append(path)
    closure = graph.descendants(triggers)
    via: dict[str, str] = {}
    for name in closure:
        for ancestor in reversed(graph.ancestors(name)):
            if ancestor.name in triggers:
                via[name] = ancestor.name
                break
    return Selection(
        images=graph.build_order(closure),
        triggers=MappingProxyType({k: tuple(sorted(set(v))) for k, v in triggers.items()}),
        via=MappingProxyType(via),
        paths=all_paths,
    )


def explain(graph: Graph, *, base_ref: str) -> Selection:
    """The affected images with their reasons, for the changes since `base_ref`."""
    commit = git.merge_base(root=graph.root, base_ref=base_ref)
    paths = git.changed_paths(root=graph.root, commit=commit)
    new = source_inputs(graph, files=git.repository_files(graph.root))
    selection = select(graph, old=_old_inputs(graph.root, commit), new=new, paths=paths)
    log.debug("%d paths changed since %s; affected: %s", len(paths), commit[:12], selection.names)
    return selection


def affected(graph: Graph, *, base_ref: str) -> list[Image]:
    """Images whose inputs changed since the merge-base with `base_ref`, parents first."""
    return explain(graph, base_ref=base_ref).images
