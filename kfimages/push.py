"""Pushes a finished plan: only when every image was built or reused, immutable tags first.

Every `sha-...` tag of every image is pushed before any moving tag (`latest`, the content
tags of kfimages.taggers, or any other tag that a rebuild moves), so a push that fails
half-way has moved no moving tag for part of the set. The first failing push stops the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from kfimages import docker_env
from kfimages.plan import Step
from kfimages.report import BuildReport

log = logging.getLogger(__name__)

IMMUTABLE_PREFIX = "sha-"

Pusher = Callable[[str], tuple[bool, str]]


def is_moving(ref: str) -> bool:
    """Whether a ref's tag moves with rebuilds (anything but a `sha-...` tag)."""
    return not ref.rsplit(":", 1)[-1].startswith(IMMUTABLE_PREFIX)


def push_order(
    steps: Sequence[Step], *, extra: Mapping[str, Sequence[str]] | None = None
) -> list[tuple[str, str]]:
    """(image name, ref) pairs: every immutable ref (plan order), then every moving one;
    `extra` adds refs per image (its content tags) after its own refs."""
    extra = extra or {}
    pairs = [(s.name, ref) for s in steps for ref in [*s.delivery.refs, *extra.get(s.name, ())]]
    return [p for p in pairs if not is_moving(p[1])] + [p for p in pairs if is_moving(p[1])]


def push_all(steps: Sequence[Step], report: BuildReport, *, push: Pusher = docker_env.push) -> bool:
    """Push every ref of every step in `push_order`; False (and the reason on the image's
    result) at the first failure. Call only when the whole plan succeeded."""
    results = report.by_name()
    content = {name: result.content_refs for name, result in results.items()}
    for name, ref in push_order(steps, extra=content):
        log.info("pushing %s", ref)
        ok, detail = push(ref)
        if not ok:
            results[name].reason = f"push of {ref} failed: {detail}"
            log.error("push of %s failed: %s", ref, detail)
            return False
        results[name].pushed.append(ref)
    return True
