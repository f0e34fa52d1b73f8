"""`invoke bake`: the plan as a `docker-bake.json`, so BuildKit's own scheduler builds the graph
on any builder (the local engine, a remote buildkitd, the Kubernetes driver).

The file is computed from the very `Step`s a build uses (`kfimages.build.run.prepare`, as a dry
run), through the same helpers as the buildx command line (`buildx.build_args`,
`buildx.labels`), so bake and `invoke build` cannot drift: one target per image with its
context, Dockerfile, args (`BASE_IMG` = the parent's exact ref), named contexts (`ca-certs`,
`artifact-*`), secrets (`build-ca`), labels (with `io.kfimages.inputs`), tags and platform.

The parent: a parent that is a target of the same file is the named context
`<parent ref>: target:<parent>` (BuildKit builds it first and hands it over without a
registry); an ancestor that is not asked for and whose input digest already exists locally
is reused, not rebuilt: its local ref is the named context `docker-image://<ref>`.
Content tags (kfimages.build.taggers) need the built image: `invoke build` after `bake --load`
reuses the baked images and adds them.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kfimages.build import buildx, retag
from kfimages.build import run as build
from kfimages.build.ca import fill_ca_dir
from kfimages.build.plan import BuildRequest, Step
from kfimages.repo.graph import Graph
from kfimages.repo.inputs import CA_CONTEXT
from kfimages.settings import Settings

CACHE_TAG = "buildcache"
"""Tag of an image's registry cache (`--cache-registry R`: `R/<repository>:buildcache`)."""


def target_name(step: Step) -> str:
    """A bake target name for an image (its repository: letters, digits, `-`, `_`), plus
    the platform's tag suffix for another platform than the host's (`jupyter-arm64`)."""
    return step.image.repository + step.suffix


def _parent_context(
    step: Step, *, targets: Mapping[str, str], reused: Mapping[str, str]
) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, ref in (
        (step.parent, step.delivery.parent_ref),
        (step.build_parent, step.delivery.build_parent_ref),
    ):
        if name is None:
            continue
        if name in targets:
            out[ref] = f"target:{targets[name]}"
        else:
            out[ref] = f"docker-image://{reused[name]}"
    return out


def target(
    step: Step,
    *,
    targets: Mapping[str, str],
    reused: Mapping[str, str],
    root: str,
    cache_registry: str = "",
    cache_write: bool = True,
) -> dict[str, Any]:
    """The bake target of one image (`targets`: image name -> target name of the file;
    `reused`: image name -> local ref of a reused ancestor; `root`: the repository's
    absolute path, which the context is under; `cache_write` False: the registry cache is
    read only, no cache-to)."""
    inputs, delivery = step.inputs, step.delivery
    contexts = {name: str(path) for name, path in sorted(delivery.context_dirs.items())}
    out: dict[str, Any] = {
        "context": f"{root.rstrip('/')}/{inputs.folder}",
        "dockerfile": inputs.dockerfile.rsplit("/", 1)[-1],
        "args": buildx.build_args(inputs, delivery),
        "contexts": {**contexts, **_parent_context(step, targets=targets, reused=reused)},
        "labels": buildx.labels(inputs, delivery),
        "tags": list(delivery.refs),
    }
    if delivery.secrets:
        out["secret"] = [f"id={k},src={v}" for k, v in sorted(delivery.secrets.items())]
    if inputs.platform:
        out["platforms"] = [inputs.platform]
    if delivery.no_cache:
        out["no-cache"] = True
    if cache_registry:
        cache = f"{cache_registry.rstrip('/')}/{step.image.repository}:{CACHE_TAG}"
        out["cache-from"] = [f"type=registry,ref={cache}"]
        if cache_write:
            out["cache-to"] = [f"type=registry,ref={cache},mode=max"]
    return out


def bake_file(
    steps: Sequence[Step],
    *,
    reused: Mapping[str, str],
    root: str,
    cache_registry: str = "",
    cache_write: bool = True,
) -> dict[str, Any]:
    """The bake definition of a plan: a target per step not in `reused` (image name -> the
    local ref reused instead), all in the `default` group, parents first."""
    built = [s for s in steps if s.name not in reused]
    targets = {s.name: target_name(s) for s in built}
    body = {}
    for step in built:
        body[targets[step.name]] = target(
            step, targets=targets, reused=reused, root=root, cache_registry=cache_registry,
            cache_write=cache_write,
        )  # fmt: skip
    return {"group": {"default": {"targets": list(body)}}, "target": body}


def select(
    steps: Sequence[Step], *, wanted: set[str], reusable: Callable[[Step], str | None]
) -> tuple[list[Step], dict[str, str]]:
    """The steps to bake and the reused ancestors (name -> local ref): every wanted image
    is baked; an ancestor only when a baked image needs it and `reusable(step)` (a local
    ref with its input digest, or None) finds none."""
    needed, baked, reused = set(wanted), set[str](), dict[str, str]()
    for step in reversed(steps):
        if step.name not in needed:
            continue
        source = None if step.name in wanted else reusable(step)
        if source is not None:
            reused[step.name] = source
        else:
            baked.add(step.name)
            needed.update(p for p in (step.parent, step.build_parent) if p is not None)
    return [s for s in steps if s.name in baked], reused


def make_bake(
    graph: Graph,
    names: Sequence[str],
    request: BuildRequest,
    *,
    settings: Settings,
    work: Path,
    cache_registry: str = "",
    cache_write: bool = True,
) -> dict[str, Any]:
    """Plan `names` exactly as `invoke build --dry-run` does and turn the plan into a bake
    definition; `work` keeps the named contexts and secrets the file points at."""
    plan_request = dataclasses.replace(request, dry_run=True)
    steps = build.prepare(graph, names, plan_request, settings=settings, work=work)
    for folder in {p for s in steps for p in s.delivery.context_dirs.values()}:
        shutil.rmtree(folder, ignore_errors=True)  # a previous bake's files must not linger
    fill_ca_dir(request.bake_ca_files, target=work / CA_CONTEXT)
    for step in steps:
        build.fill_artifact_contexts(step)
    wanted = {s.name for s in steps if s.image.name in names}  # on every platform
    baked, reused = select(
        steps, wanted=wanted, reusable=lambda s: retag.find_reusable(s, tag=False)
    )
    return bake_file(
        baked, reused=reused, root=str(graph.root), cache_registry=cache_registry,
        cache_write=cache_write,
    )  # fmt: skip


def render(doc: Mapping[str, Any]) -> str:
    """The bake file as JSON text (stable: keys in a fixed order)."""
    return json.dumps(doc, indent=2) + "\n"
