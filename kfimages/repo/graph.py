"""Discovers the images of the repository and their parent chains.

An image is a top-level folder holding a `Dockerfile` (image `<folder>`) or
`<variant>.Dockerfile` files (images `<folder>.<variant>`). Its parent is the
default of the global `ARG BASE_IMG=<parent>` that a `FROM $BASE_IMG` uses: the
name of another image of the repository, or an external reference (the OS image).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from kfimages import dockerfiles
from kfimages.errors import UserError
from kfimages.names import NAME_RE
from kfimages.repo.config import ImageConfig, load_folder_config

log = logging.getLogger(__name__)

DOCKERFILE = "Dockerfile"
VARIANT_SUFFIX = ".Dockerfile"
PARENT_ARG = "BASE_IMG"
BUILD_PARENT_ARG = "BUILD_BASE_IMG"
"""A Dockerfile's stage that runs on the build host's platform (`FROM --platform=$BUILDPLATFORM
$BUILD_BASE_IMG`) to place files for the target platform (cross-install): the build passes the
build platform's image of the same parent as this arg when it builds for another platform."""
DEFAULT_REGISTRY = "kfnb"
"""Registry/namespace prefix of the refs built by default: a local name, nothing is pushed."""
DEFAULT_TAG = "latest"
TESTS_DIR = "tests/images"
"""The images' smoke tests: `tests/images/<folder>/` (pytest tests/images --image NAME)."""

_EXTERNAL_RE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*[/:@][a-z0-9._/:@-]*$", re.IGNORECASE)


@dataclass(frozen=True)
class Image:
    """One buildable image: a Dockerfile in a top-level folder."""

    name: str
    folder: str
    variant: str | None
    dockerfile: str
    parent: str
    config: ImageConfig
    cross: bool = False
    """Its Dockerfile has a stage FROM `$BUILD_BASE_IMG` (BUILD_PARENT_ARG): cross-install."""

    @property
    def repository(self) -> str:
        """Repository name: the folder, with `-<variant>` appended for a variant."""
        return self.folder if self.variant is None else f"{self.folder}-{self.variant}"


def image_ref(image: Image, *, registry: str, tag: str) -> str:
    """The reference `[<registry>/]<repository>:<tag>` that an image is built as."""
    prefix = f"{registry.rstrip('/')}/" if registry else ""
    return f"{prefix}{image.repository}:{tag}"


def parse_parent(dockerfile: Path) -> str:
    """The default value of the global `ARG BASE_IMG` that a `FROM $BASE_IMG` uses."""
    text = dockerfile.read_text(encoding="utf-8")
    default = dockerfiles.global_arg_default(text, PARENT_ARG)
    used = any(dockerfiles.uses_arg(image, PARENT_ARG) for image in dockerfiles.from_images(text))
    if default is None or not used:
        raise UserError(
            f"{dockerfile}: no parent found; declare `ARG {PARENT_ARG}=<parent>` before the "
            f"first FROM and use it as `FROM ${PARENT_ARG}`"
        )
    return default


def uses_build_parent(dockerfile: Path) -> bool:
    """Whether a FROM of the Dockerfile is `$BUILD_BASE_IMG` (a cross-install stage)."""
    text = dockerfile.read_text(encoding="utf-8")
    return any(
        dockerfiles.uses_arg(image, BUILD_PARENT_ARG) for image in dockerfiles.from_images(text)
    )


@dataclass(frozen=True)
class Graph:
    """The images of a repository, keyed by name, with parent/child navigation."""

    root: Path
    images: Mapping[str, Image]

    def get(self, name: str) -> Image:
        """The image called `name`, or an error that lists the valid names."""
        try:
            return self.images[name]
        except KeyError:
            valid = ", ".join(sorted(self.images)) or "(none)"
            raise UserError(f"unknown image '{name}'; valid names: {valid}") from None

    def parent_of(self, name: str) -> Image | None:
        """The parent image in this repository, or None when the parent is external."""
        return self.images.get(self.get(name).parent)

    def ancestors(self, name: str) -> list[Image]:
        """The parent chain of `name`, root first, excluding `name` itself."""
        chain: list[Image] = []
        parent = self.parent_of(name)
        while parent is not None:
            chain.append(parent)
            parent = self.parent_of(parent.name)
        return list(reversed(chain))

    def children(self, name: str) -> list[Image]:
        """Images whose parent is `name`, sorted by name."""
        return sorted((i for i in self.images.values() if i.parent == name), key=lambda i: i.name)

    def descendants(self, names: Iterable[str]) -> set[str]:
        """The given images and every image below them."""
        out: set[str] = set()
        todo = [self.get(n).name for n in names]
        while todo:
            current = todo.pop()
            if current not in out:
                out.add(current)
                todo.extend(child.name for child in self.children(current))
        return out

    def with_ancestors(self, names: Iterable[str]) -> set[str]:
        """The given images and every repository image above them."""
        out: set[str] = set()
        for name in names:
            out.add(self.get(name).name)
            out.update(a.name for a in self.ancestors(name))
        return out

    def depth(self, name: str) -> int:
        """How many repository images lie above `name`."""
        return len(self.ancestors(name))

    def build_order(self, names: Iterable[str]) -> list[Image]:
        """The given images sorted parents first (by depth, then name)."""
        chosen = {self.get(n).name for n in names}
        return [self.images[n] for n in sorted(chosen, key=lambda n: (self.depth(n), n))]

    def roots(self) -> list[Image]:
        """Images whose parent is external (the OS image)."""
        return sorted(
            (i for i in self.images.values() if i.parent not in self.images),
            key=lambda i: i.name,
        )


def _dockerfiles(folder: Path) -> list[tuple[str | None, Path]]:
    found: list[tuple[str | None, Path]] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        if path.name == DOCKERFILE:
            found.append((None, path))
        elif path.name.endswith(VARIANT_SUFFIX) and len(path.name) > len(VARIANT_SUFFIX):
            found.append((path.name[: -len(VARIANT_SUFFIX)], path))
    return found


def _check_name(path: Path, part: str) -> None:
    if not NAME_RE.match(part):
        raise UserError(
            f"{path}: '{part}' is not a valid image name part; use lower-case letters, "
            "digits, '-' and '_' (it becomes a repository name)"
        )


def discover_images(root: Path) -> list[Image]:
    """Every image under the top-level folders of `root` (hidden folders skipped)."""
    images: list[Image] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = _dockerfiles(folder)
        if not files:
            continue
        _check_name(folder, folder.name)
        configs = load_folder_config(folder)
        variants = {v for v, _ in files}
        for variant in configs:
            if variant is not None and variant not in variants:
                raise UserError(
                    f"{folder / 'image.yaml'}: variant '{variant}' has no "
                    f"{variant}{VARIANT_SUFFIX}; remove it or add the Dockerfile"
                )
        for variant, path in files:
            if variant is not None:
                _check_name(path, variant)
            name = folder.name if variant is None else f"{folder.name}.{variant}"
            images.append(
                Image(
                    name=name,
                    folder=folder.name,
                    variant=variant,
                    dockerfile=path.relative_to(root).as_posix(),
                    parent=parse_parent(path),
                    config=configs.get(variant, configs[None]),
                    cross=uses_build_parent(path),
                )
            )
    return images


def _check_unique(images: list[Image]) -> None:
    for attr in ("name", "repository"):
        seen: dict[str, Image] = {}
        for image in images:
            key = getattr(image, attr)
            if key in seen:
                raise UserError(
                    f"{seen[key].dockerfile} and {image.dockerfile} both produce the {attr} "
                    f"'{key}'; rename one of them"
                )
            seen[key] = image


def _ref_repository(ref: str) -> str:
    """The last path component of a reference, without tag or digest: `a/b:c@d` -> `b`."""
    last = ref.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def _check_parents(images: Mapping[str, Image]) -> None:
    repositories = {i.repository: i.name for i in images.values()}
    for image in images.values():
        if image.parent in images:
            continue
        if not _EXTERNAL_RE.match(image.parent):
            raise UserError(
                f"{image.dockerfile}: parent '{image.parent}' is neither an image of this "
                f"repository ({', '.join(sorted(images))}) nor an external reference such as "
                "'debian:trixie-slim'"
            )
        own = repositories.get(_ref_repository(image.parent))
        if own is not None:
            raise UserError(
                f"{image.dockerfile}: parent '{image.parent}' is a ref of the repository image "
                f"'{own}'; write `ARG {PARENT_ARG}={own}` so that it is built first and its "
                "exact ref is passed in"
            )


def _check_cycles(images: Mapping[str, Image]) -> None:
    for start in images:
        path = [start]
        current = images[start].parent
        while current in images:
            if current in path:
                cycle = " -> ".join([*path[path.index(current) :], current])
                raise UserError(f"parent cycle {cycle}; one image must build FROM an external one")
            path.append(current)
            current = images[current].parent


def load_graph(root: Path) -> Graph:
    """Discover and validate the image graph of the repository at `root`."""
    images = discover_images(root)
    _check_unique(images)
    by_name = {i.name: i for i in images}
    _check_parents(by_name)
    _check_cycles(by_name)
    log.debug("discovered %d images under %s", len(by_name), root)
    return Graph(root=root, images=MappingProxyType(by_name))
