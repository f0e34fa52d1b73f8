"""Pushes a finished plan: only when every image was built or reused, immutable tags first.

Every `sha-...` tag of every image is pushed before any moving tag (`latest`, the content
tags of kfimages.taggers, or any other tag that a rebuild moves), so a push that fails
half-way has moved no moving tag for part of the set. The first failing push stops the run.

A plan of the build host's platform alone pushes each ref as it is. A plan with another
platform (`--platform linux/amd64,linux/arm64`) pushes each platform's image under its tag
plus `-<arch>` (kfimages.platforms: the host's image is tagged so locally first), then makes
one manifest list per tag with `docker buildx imagetools create`, after every per-platform
image of every image was pushed: immutable per-platform tags, immutable lists, moving
per-platform tags, moving lists. A content tag that not every platform's image has (e.g.
`cuda-13.0`) stays a per-platform tag.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from kfimages import docker_env
from kfimages.plan import Step
from kfimages.platforms import push_suffix
from kfimages.report import BuildReport

log = logging.getLogger(__name__)

IMMUTABLE_PREFIX = "sha-"

Pusher = Callable[[str], tuple[bool, str]]
ListMaker = Callable[[str, Sequence[str]], tuple[bool, str]]
Tagger = Callable[[str, str], None]


def is_moving(ref: str) -> bool:
    """Whether a ref's tag moves with rebuilds (anything but a `sha-...` tag)."""
    return not ref.rsplit(":", 1)[-1].startswith(IMMUTABLE_PREFIX)


@dataclass(frozen=True)
class Action:
    """One registry write: push the local image `local` as `ref`, or (with `sources`) make
    `ref` a manifest list of those pushed refs."""

    step: str
    """The step whose result records the write."""
    ref: str
    local: str = ""
    sources: tuple[str, ...] = ()

    @property
    def is_list(self) -> bool:
        return bool(self.sources)


def push_order(
    steps: Sequence[Step], *, extra: Mapping[str, Sequence[str]] | None = None
) -> list[tuple[str, str]]:
    """(step name, ref) pairs: every immutable ref (plan order), then every moving one;
    `extra` adds refs per step (its content tags) after its own refs."""
    extra = extra or {}
    pairs = [(s.name, ref) for s in steps for ref in [*s.delivery.refs, *extra.get(s.name, ())]]
    return [p for p in pairs if not is_moving(p[1])] + [p for p in pairs if is_moving(p[1])]


def _ordered(actions: Sequence[Action]) -> list[Action]:
    """Immutable pushes, immutable lists, moving pushes, moving lists (stable)."""
    return sorted(actions, key=lambda a: (is_moving(a.ref), a.is_list))


def multi_platform_actions(
    steps: Sequence[Step], *, extra: Mapping[str, Sequence[str]] | None = None
) -> list[Action]:
    """The writes of a plan with another platform than the host's: per-platform tags, then a
    manifest list per tag that every platform's image of the image has."""
    extra = extra or {}
    by_image: dict[str, list[Step]] = {}
    for step in steps:
        by_image.setdefault(step.image.name, []).append(step)
    pushes: list[Action] = []
    lists: list[Action] = []
    for group in by_image.values():
        per_tag: dict[str, list[str]] = {}
        for step in group:
            own = push_suffix(step.inputs.platform)
            for local in [*step.delivery.refs, *extra.get(step.name, ())]:
                plain = local.removesuffix(step.suffix) if step.suffix else local
                pushes.append(Action(step=step.name, ref=plain + own, local=local))
                per_tag.setdefault(plain, []).append(plain + own)
        for plain, sources in per_tag.items():
            if len(sources) == len(group):
                lists.append(Action(step=group[0].name, ref=plain, sources=tuple(sources)))
            else:
                log.info("%s: not on every platform: no manifest list, only %s", plain, sources)
    return _ordered([*pushes, *lists])


def push_all(
    steps: Sequence[Step],
    report: BuildReport,
    *,
    push: Pusher = docker_env.push,
    make_list: ListMaker = docker_env.create_manifest_list,
    tag: Tagger = docker_env.tag,
    multi_platform: bool = False,
) -> bool:
    """Push every ref in `push_order` (with `multi_platform`: every write of
    `multi_platform_actions`); False (and the reason on the step's result) at the first
    failure. Call only when the whole plan succeeded."""
    results = report.by_name()
    content = {name: result.content_refs for name, result in results.items()}
    actions = (
        multi_platform_actions(steps, extra=content)
        if multi_platform
        else [Action(step=n, ref=r, local=r) for n, r in push_order(steps, extra=content)]
    )
    for action in actions:
        if action.is_list:
            log.info("manifest list %s of %s", action.ref, ", ".join(action.sources))
            ok, detail = make_list(action.ref, action.sources)
        else:
            if action.local != action.ref:
                tag(action.local, action.ref)
            log.info("pushing %s", action.ref)
            ok, detail = push(action.ref)
        if not ok:
            what = "manifest list" if action.is_list else "push"
            results[action.step].reason = f"{what} of {action.ref} failed: {detail}"
            log.error("%s of %s failed: %s", what, action.ref, detail)
            return False
        results[action.step].pushed.append(action.ref)
    return True
