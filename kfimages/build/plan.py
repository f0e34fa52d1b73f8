"""From names on the command line to ordered build steps (pure: no process, no engine).

`select` parses a NAMES argument (kfimages.names, the one grammar of every task) and
`expand_names` turns its words (`jupyter`, `all`, `affected`) into image names; `plan_images`
adds their repository ancestors, parents first; `make_steps` gives each image its
`BuildInputs` (what decides the content) and `Delivery` (refs, labels, contexts).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kfimages.build.buildx import Delivery
from kfimages.build.cross import host_images
from kfimages.errors import UserError
from kfimages.git import GitInfo
from kfimages.names import AFFECTED, ALL, parse
from kfimages.platforms import SUPPORTED, is_foreign, tag_suffix
from kfimages.repo import changes
from kfimages.repo.graph import DEFAULT_REGISTRY, DEFAULT_TAG, Graph, Image, image_ref
from kfimages.repo.inputs import CA_CONTEXT, BuildInputs, make_inputs

log = logging.getLogger(__name__)

IMMUTABLE_TAG_PREFIX = "sha-"
"""Tags that name one commit's image and never move (kfimages.ship.push pushes them first)."""
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class BuildRequest:
    """What the user asked for on the command line (besides the names)."""

    registry: str = DEFAULT_REGISTRY
    tags: tuple[str, ...] = ()
    """Empty: `sha-<12 hex>[-dirty]` of HEAD plus `latest`."""
    jobs: int = 1
    no_cache: bool = False
    push: bool = False
    ca_files: tuple[Path, ...] = ()
    """Extra CAs trusted by the build's downloads (with the host's store); never baked."""
    bake_ca_files: tuple[Path, ...] = ()
    """CAs written into the images (an input of every image; push needs allow_baked_ca)."""
    allow_dirty: bool = False
    """Push images built from a work tree with uncommitted changes."""
    allow_baked_ca: bool = False
    """Push images with baked CA certificates."""
    bootstrap: bool = True
    """Create a missing, unpullable OS image with debootstrap (else fail)."""
    refresh_os: bool = False
    """Re-create the OS image first (pull, else debootstrap): its new image ID is the root's
    parent digest (Facts.os_images), so the root image and its descendants are rebuilt."""
    platforms: tuple[str, ...] = ()
    """`os/arch` to build for (kfimages.platforms.SUPPORTED); empty: the build host's. Each
    platform is one more set of steps; another platform's refs carry its tag suffix."""
    dry_run: bool = False
    wait: bool = True
    """Wait for another build on the same engine to finish (kfimages.build.enginelock);
    False: fail at once (`--no-wait`). A dry run takes no lock."""
    push_lists: bool = True
    """With push: make the manifest lists. False: only push each platform's image under
    `<tag>-<arch>` (a native runner's leg; `invoke lists` assembles the lists afterwards)."""
    push_record: Path | None = None
    """With push: write what was pushed there (JSON rows for `invoke lists`)."""
    push_moving: bool = True
    """With push: push the moving tags too. False: only the `sha-` refs; the record names the
    moving tags, which `invoke lists` promotes once every image of the run passed."""


@dataclass(frozen=True)
class Step:
    """One image of the plan: what decides its content and how it is delivered."""

    image: Image
    inputs: BuildInputs
    delivery: Delivery
    parent: str | None = None
    """The parent's step name when it is an image of the plan, else None."""
    suffix: str = ""
    """The platform's tag suffix ('' for the build host's platform, else `-<arch>`)."""
    build_parent: str | None = None
    """For a cross-installing image (Image.cross) on another platform than the host's: the
    step name of the build platform's image of its parent (its BUILD_BASE_IMG), which it
    waits for like its parent."""

    @property
    def name(self) -> str:
        """The step's name: the image's, plus `@<arch>` for another platform than the host's
        (the key of the schedule and of the report)."""
        return _with_suffix(self.image.name, self.suffix)

    @property
    def ref(self) -> str:
        return self.delivery.refs[0]


@dataclass(frozen=True)
class Facts:
    """What the plan needs from outside (git, the engine, the CA files), gathered first."""

    git: GitInfo
    os_images: Mapping[str, str]
    """OS image ref -> its image ID (the root's parent digest)."""
    repository_files: Sequence[str]
    baked_ca: str
    created: str
    work_dir: Path
    overrides: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, Path] = field(default_factory=dict)


def check_tags(tags: Sequence[str]) -> None:
    for tag in tags:
        if not _TAG_RE.match(tag):
            raise UserError(f"invalid tag '{tag}': use letters, digits, '_', '.', '-' (max 128)")


def check_immutable_only(request: BuildRequest) -> None:
    """`--immutable-only` is a CI leg: it needs what lets `invoke lists` promote the rest."""
    if not request.push or request.push_lists or request.push_record is None:
        raise UserError(
            "--immutable-only is a CI leg's push: use it with --push --no-lists --record FILE "
            "(then `invoke lists FILE...` promotes the moving tags)"
        )
    if request.tags and not any(t.startswith(IMMUTABLE_TAG_PREFIX) for t in request.tags):
        raise UserError(
            f"--immutable-only pushes only {IMMUTABLE_TAG_PREFIX}... tags and none of --tag "
            f"{', '.join(request.tags)} is one: add --tag {IMMUTABLE_TAG_PREFIX}<commit>"
        )


def check_request(request: BuildRequest) -> None:
    """The errors a build and its dry run report before anything else."""
    if request.jobs < 1:
        raise UserError(f"--jobs must be at least 1, not {request.jobs}")
    if request.push and request.registry == DEFAULT_REGISTRY:
        raise UserError(
            f"--push needs a registry: pass --registry HOST[:PORT]/NAMESPACE "
            f"('{DEFAULT_REGISTRY}' is the local-only default)"
        )
    check_tags(request.tags)
    for platform in request.platforms:
        if platform not in SUPPORTED:
            raise UserError(
                f"unknown platform '{platform}'; use one or more of {', '.join(SUPPORTED)}"
            )
    if (request.push_record is not None or not request.push_lists) and not request.push:
        raise UserError("--no-lists and --record only apply to --push")
    if not request.push_moving:
        check_immutable_only(request)
    if request.push and request.bake_ca_files and not request.allow_baked_ca:
        raise UserError(
            "refusing to push images with baked CA certificates (--bake-ca): every user of "
            "the registry would trust them; pass --allow-baked-ca if that is meant"
        )


def check_push(request: BuildRequest, git: GitInfo) -> None:
    """What a push must not publish, found before anything is built."""
    if request.push and git.dirty and not request.allow_dirty:
        raise UserError(
            "refusing to push from a work tree with uncommitted changes (the images would not "
            "match any commit); commit or stash them, or pass --allow-dirty"
        )


def select(
    graph: Graph, value: str | None, *, base: str = "", base_env: str | None = None
) -> list[str]:
    """The image names of a task's NAMES argument (kfimages.names.parse, then expand_names)."""
    names = parse(value, known=graph.images, base=base, base_env=base_env)
    return expand_names(graph, names.words, base_ref=names.base_ref)


def expand_names(graph: Graph, words: Sequence[str], *, base_ref: str | None = None) -> list[str]:
    """Image names of the words of a parsed NAMES argument (kfimages.names.parse), with `all`
    and `affected` expanded (order kept, each image once)."""
    out: list[str] = []
    for word in words:
        if word == ALL:
            picked = sorted(graph.images)
        elif word == AFFECTED:
            if base_ref is None:
                raise ValueError("`affected` without a base ref: parse with kfimages.names.parse")
            picked = [i.name for i in changes.affected(graph, base_ref=base_ref)]
            log.info("affected since %s: %s", base_ref, ", ".join(picked) or "no image")
        else:
            picked = [graph.get(word).name]
        out += [name for name in picked if name not in out]
    return out


def plan_images(graph: Graph, names: Iterable[str]) -> list[Image]:
    """The requested images plus their repository ancestors, parents first."""
    return graph.build_order(graph.with_ancestors(names))


def tags_for(request: BuildRequest, git: GitInfo) -> tuple[str, ...]:
    """The requested tags, else `sha-<12 hex>[-dirty]` of HEAD and `latest`."""
    return request.tags or (git.tag, DEFAULT_TAG)


def _labels(image: Image, *, facts: Facts, version: str) -> dict[str, str]:
    return {
        "org.opencontainers.image.source": facts.git.source,
        "org.opencontainers.image.revision": facts.git.sha,
        "org.opencontainers.image.created": facts.created,
        "org.opencontainers.image.title": image.name,
        "org.opencontainers.image.version": version,
    }


def _with_suffix(name: str, suffix: str) -> str:
    """`jupyter` + `-arm64` -> `jupyter@arm64`; no suffix (the host's platform): the name."""
    return f"{name}@{suffix[1:]}" if suffix else name


def step_name(name: str, platform: str, *, host: str) -> str:
    """The step name of an image on a platform (Step.name)."""
    return _with_suffix(name, tag_suffix(platform, host=host))


def make_steps(
    graph: Graph,
    images: Sequence[Image],
    *,
    request: BuildRequest,
    facts: Facts,
    platforms: Sequence[str],
    host: str,
) -> list[Step]:
    """A Step per image and platform: each platform's images in the given order (parents
    first), the platforms in the order given; first, when a cross-installing image is built
    for another platform without the host's, the host's steps of its parent chain
    (host_images), which its build stage runs FROM."""
    extra = host_images(graph, images, platforms=platforms, host=host)
    by_platform: dict[str, list[Step]] = {}
    for platform in sorted(platforms, key=lambda p: p != host):  # the host's first
        build_steps = {s.image.name: s for s in by_platform.get(host, [])}
        if extra and not build_steps:
            by_platform[host] = _platform_steps(
                graph, extra, request=request, facts=facts, platform=host, host=host
            )
            build_steps = {s.image.name: s for s in by_platform[host]}
        by_platform[platform] = _platform_steps(
            graph, images, request=request, facts=facts, platform=platform, host=host,
            build_steps=build_steps,
        )  # fmt: skip
    order = ([host] if extra else []) + list(platforms)
    return [step for platform in order for step in by_platform[platform]]


def _platform_steps(
    graph: Graph,
    images: Sequence[Image],
    *,
    request: BuildRequest,
    facts: Facts,
    platform: str,
    host: str,
    build_steps: Mapping[str, Step] | None = None,
) -> list[Step]:
    tags = tags_for(request, facts.git)
    suffix = tag_suffix(platform, host=host)
    steps: dict[str, Step] = {}
    for image in images:
        parent = graph.parent_of(image.name)
        if parent is None:
            parent_ref = image.parent + suffix
            parent_digest = facts.os_images[parent_ref]
        else:
            parent_ref = image_ref(parent, registry=request.registry, tag=tags[0]) + suffix
            parent_digest = steps[parent.name].inputs.digest
        crossing = image.cross and is_foreign(platform, host=host)
        build_parent = (build_steps or {})[parent.name] if crossing and parent is not None else None
        # A root image's build stage runs FROM the host's OS image (its ID is the input).
        build_parent_ref = build_parent.ref if build_parent else ""
        build_parent_digest = build_parent.inputs.digest if build_parent else ""
        if crossing and parent is None:
            build_parent_ref = image.parent
            build_parent_digest = facts.os_images[build_parent_ref]
        inputs = make_inputs(
            image,
            root=graph.root,
            overrides=facts.overrides,
            repository_files=facts.repository_files,
            baked_ca=facts.baked_ca,
            parent=parent_digest,
            platform=platform,
            build_parent=build_parent_digest,
        )
        contexts = {CA_CONTEXT: facts.work_dir / CA_CONTEXT}
        for index, artifact in enumerate(inputs.artifacts):
            if artifact.context:  # the folder is named by position, never by the artifact
                contexts[artifact.context] = facts.work_dir / f"{image.name}-artifact-{index}"
        delivery = Delivery(
            refs=tuple(image_ref(image, registry=request.registry, tag=t) + suffix for t in tags),
            parent_ref=parent_ref,
            build_parent_ref=build_parent_ref,
            labels=_labels(image, facts=facts, version=tags[0]),
            context_dirs=contexts,
            secrets=facts.secrets,
            no_cache=request.no_cache,
        )
        steps[image.name] = Step(
            image=image,
            inputs=inputs,
            delivery=delivery,
            parent=steps[parent.name].name if parent is not None else None,
            suffix=suffix,
            build_parent=build_parent.name if build_parent else None,
        )
    return list(steps.values())
