"""What decides an image's content: one frozen `BuildInputs` per image, and its digest.

Everything a build feeds into the image is a field of `BuildInputs`: the folder's files
(with their modes), the Dockerfile, the files matched by image.yaml `paths`, the build
args after every override, the artifacts, the CA certificates baked into the image, the
parent's digest and the platform. The input digest (the label `io.kfimages.inputs`) is
computed from these fields alone, by walking them, so a new field cannot be forgotten;
the buildx command line (`kfimages.build.buildx.command`) is computed from them plus the
`Delivery` (refs and per-build labels, which the content does not depend on).

This module reads files of the repository; it runs no process and touches no image.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kfimages import dockerfiles
from kfimages.errors import UserError
from kfimages.globs import path_matches
from kfimages.repo import artifacts as artifact_check
from kfimages.repo.graph import BUILD_PARENT_ARG, PARENT_ARG, VARIANT_SUFFIX, Image
from kfimages.settings import BUILD_ARG_PREFIX, has_credentials

INPUTS_LABEL = "io.kfimages.inputs"
BAKED_CA_LABEL = "io.kfimages.baked-ca"
"""sha256 of the CA certificates baked into the image (only with --bake-ca)."""
CA_CONTEXT = "ca-certs"
ARTIFACT_CONTEXT_PREFIX = "artifact-"
DIGEST_VERSION = "kfimages-inputs-v2"


@dataclass(frozen=True)
class ArtifactInput:
    """An artifact as the build sees it: display name, effective URL, and for a `file://`
    URL the named build context that carries the file and the file's sha256."""

    name: str
    url: str
    context: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class BuildInputs:
    """Everything that decides one image's content (see the module docstring)."""

    name: str
    folder: str
    dockerfile: str
    """Repository-relative path of the image's Dockerfile."""
    files: tuple[tuple[str, str], ...]
    """(folder-relative path, `<mode>:<sha256>` or `link:<target>`) of every context file."""
    extra_files: tuple[tuple[str, str], ...]
    """(repository-relative path, sha256) of the files matched by image.yaml `paths`."""
    build_args: Mapping[str, str]
    """Every --build-arg except BASE_IMG, after image.yaml and the environment."""
    artifacts: tuple[ArtifactInput, ...]
    baked_ca: str
    """sha256 of the CA certificates copied into the image ('' for none)."""
    parent: str
    """The parent's input digest, or the OS image's ID for a root image."""
    platform: str
    """`os/arch`, e.g. linux/amd64."""
    build_parent: str = ""
    """For a cross-installing image (Image.cross) built for another platform than the build
    host's: the input digest of the build platform's image of its parent, which its build
    stage runs FROM (BUILD_BASE_IMG), or for a root image the host's OS image ID; '' otherwise."""

    @cached_property
    def digest(self) -> str:
        """sha256 over every field (walked, so that no field can be left out)."""
        return hashlib.sha256(_canonical(self).encode()).hexdigest()


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _canonical(inputs: BuildInputs) -> str:
    return json.dumps([DIGEST_VERSION, _plain(inputs)], sort_keys=True, separators=(",", ":"))


# ----------------------------------------------------------------------------- files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def context_files(image: Image, *, root: Path) -> Iterator[Path]:
    """The files of an image's folder that can change it: documentation (*.md), image.yaml
    (its effect enters as build args and artifacts) and other variants' Dockerfiles are
    left out."""
    folder = root / image.folder
    own = Path(image.dockerfile).name
    for path in sorted(folder.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        rel = path.relative_to(folder)
        name = rel.name
        if name.lower().endswith(".md") or "__pycache__" in rel.parts:
            continue
        if len(rel.parts) == 1 and name == "image.yaml":
            continue
        is_dockerfile = name == "Dockerfile" or name.endswith(VARIANT_SUFFIX)
        is_ignore = name.endswith(("Dockerfile.dockerignore", f"{VARIANT_SUFFIX}.dockerignore"))
        mine = name in (own, f"{own}.dockerignore")
        if len(rel.parts) == 1 and (is_dockerfile or is_ignore) and not mine:
            continue
        yield path


def file_fingerprints(image: Image, *, root: Path) -> tuple[tuple[str, str], ...]:
    """(folder-relative path, fingerprint) of every context file, sorted."""
    folder = root / image.folder
    out = []
    for path in context_files(image, root=root):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out.append((rel, f"link:{os.readlink(path)}"))
        else:
            mode = "x" if os.access(path, os.X_OK) else "-"
            out.append((rel, f"{mode}:{_sha256(path)}"))
    return tuple(out)


def extra_fingerprints(
    image: Image, *, root: Path, files: Sequence[str]
) -> tuple[tuple[str, str], ...]:
    """(path, sha256) of the repository files matched by the image's image.yaml `paths`."""
    patterns = image.config.extra_paths
    return tuple(
        (rel, _sha256(root / rel))
        for rel in sorted(files)
        if any(path_matches(p, rel) for p in patterns) and (root / rel).is_file()
    )


# ------------------------------------------------------------------------ build args


def declared_args(dockerfile: Path) -> set[str]:
    """Names of every `ARG` a Dockerfile declares (global or per stage)."""
    return dockerfiles.declared_args(dockerfile.read_text(encoding="utf-8"))


def resolve_build_args(image: Image, *, root: Path, overrides: Mapping[str, str]) -> dict[str, str]:
    """image.yaml build_args, then the environment's overrides for the ARGs the Dockerfile
    declares, then each artifact's build arg (its URL) where nothing set it."""
    args = dict(image.config.build_args)
    declared = declared_args(root / image.dockerfile)
    for name, value in overrides.items():
        if name in (PARENT_ARG, BUILD_PARENT_ARG):
            raise UserError(f"{BUILD_ARG_PREFIX}{name} is not allowed: the graph sets the parent")
        if name in declared:
            args[name] = value
    for artifact in image.config.artifacts:
        if artifact.build_arg:
            args.setdefault(artifact.build_arg, artifact.url)
    args.pop(PARENT_ARG, None)
    args.pop(BUILD_PARENT_ARG, None)
    for name, value in args.items():
        if has_credentials(value):
            raise UserError(
                f"{image.name}: build arg {name} is a URL with credentials (user:password@ or "
                "a token in its query string); "
                "BuildKit records build args in the image history: put the credentials in a "
                "BuildKit secret (KFIMAGES_SECRET_<ID>=FILE, see docs/build-system.md) instead"
            )
    return args


def resolve_artifacts(image: Image, *, build_args: Mapping[str, str]) -> tuple[ArtifactInput, ...]:
    """Each artifact with its effective URL (a build arg replaces image.yaml's URL); a
    `file://` URL gets the build context `artifact-<name>` and its file's sha256."""
    out = []
    for artifact in image.config.artifacts:
        url = (
            build_args.get(artifact.build_arg, artifact.url) if artifact.build_arg else artifact.url
        )
        path = artifact_check.local_path(url)
        if path is None:
            out.append(ArtifactInput(name=artifact.name, url=url))
            continue
        digest = _sha256(path) if path.is_file() else ""
        context = f"{ARTIFACT_CONTEXT_PREFIX}{context_slug(artifact.name)}"
        out.append(ArtifactInput(name=artifact.name, url=url, context=context, sha256=digest))
    return tuple(out)


def context_slug(name: str) -> str:
    """A build-context name from a display name: `RStudio Server` -> `rstudio-server`."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "file"


def make_inputs(
    image: Image,
    *,
    root: Path,
    overrides: Mapping[str, str],
    repository_files: Sequence[str],
    baked_ca: str,
    parent: str,
    platform: str,
    build_parent: str = "",
) -> BuildInputs:
    """The BuildInputs of one image (pure apart from reading the repository's files)."""
    args = resolve_build_args(image, root=root, overrides=overrides)
    return BuildInputs(
        name=image.name,
        folder=image.folder,
        dockerfile=image.dockerfile,
        files=file_fingerprints(image, root=root),
        extra_files=extra_fingerprints(image, root=root, files=repository_files),
        build_args=MappingProxyType(args),
        artifacts=resolve_artifacts(image, build_args=args),
        baked_ca=baked_ca,
        parent=parent,
        platform=platform,
        build_parent=build_parent,
    )


def source_fingerprint(inputs: BuildInputs) -> dict[str, str]:
    """What of `inputs` comes from the repository (files, Dockerfile, image.yaml's args and
    artifacts), keyed for a readable diff: the rebuild selection compares these between
    the merge-base and the working tree."""
    out = {f"{inputs.folder}/{rel}": fp for rel, fp in inputs.files}
    out.update({rel: fp for rel, fp in inputs.extra_files})
    out["(dockerfile)"] = inputs.dockerfile
    out.update({f"(build arg {k})": v for k, v in inputs.build_args.items()})
    out.update({f"(artifact {a.name})": f"{a.url} {a.sha256}" for a in inputs.artifacts})
    return out
