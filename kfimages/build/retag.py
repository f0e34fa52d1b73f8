"""Moving a build's local refs: a reuse adds the step's refs to the image with the same inputs,
and the image that the moving ref `latest` named before the step keeps a ref, `previous`.

`latest` (with another platform's suffix, `latest-arm64`) moves when a build or a reuse gives
it another image: BuildKit applies the `-t` tags at its export, a reuse tags them here. The
image it named before would be left untagged; it keeps the ref `<repo>:previous` (resp.
`previous-arm64`), so `kfnb/jupyter:previous` is the image `kfnb/jupyter:latest` replaced
(what `invoke diff NAME` and `invoke release-notes` compare). `previous` moves only when
`latest` named an image before the step and names another one after it; a first build (no
`latest` yet) leaves it as it is.

The two moves are one: `Replaced` is read before the step may move `latest`, and `follow`
runs after the step however it ended (built, failed, interrupted). It moves `previous` exactly
when `latest` moved, even after a stop request (kfimages.build.stop): a signal that arrives
once BuildKit exported never leaves `latest` moved without `previous`, and one that arrives
before leaves both. Its two engine calls run in a session of their own (engine.tag,
engine.image_id), so a terminal's Ctrl-C does not cut them short.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kfimages import engine
from kfimages.build.plan import Step
from kfimages.build.stop import STOP
from kfimages.repo.graph import DEFAULT_TAG
from kfimages.repo.inputs import INPUTS_LABEL

log = logging.getLogger(__name__)

MOVING_TAG = DEFAULT_TAG
"""The moving tag whose replaced image is kept (`latest`)."""
PREVIOUS_TAG = "previous"
"""The tag of the image `latest` named before it last moved."""


def previous_ref(ref: str) -> str | None:
    """`<repo>:previous[-arch]` of a `<repo>:latest[-arch]` ref, None for any other tag."""
    repository, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag or not tag.startswith(MOVING_TAG):
        return None
    suffix = tag.removeprefix(MOVING_TAG)
    if suffix and not suffix.startswith("-"):
        return None
    return f"{repository}:{PREVIOUS_TAG}{suffix}"


@dataclass(frozen=True)
class Replaced:
    """What a step's moving ref named before the step."""

    ref: str
    """The moving ref (`kfnb/jupyter:latest`)."""
    previous: str
    """Where the image it named goes when it moves (`kfnb/jupyter:previous`)."""
    image_id: str
    """The image it named; "" when it did not exist (a first build: nothing to keep)."""


def replaced(step: Step) -> Replaced | None:
    """Read before a step may move its refs: the image its `latest` ref names now (None when
    the step has no `latest` ref, e.g. `--tag v1` only)."""
    for ref in step.delivery.refs:
        previous = previous_ref(ref)
        if previous is not None and ref.endswith(f":{MOVING_TAG}{step.suffix}"):
            return Replaced(ref=ref, previous=previous, image_id=engine.image_id(ref))
    return None


def follow(before: Replaced | None) -> str | None:
    """After the step, however it ended: when `latest` moved from an image to another, tag the
    image it named `previous`; the ref it moved, else None. Never checks the stop request:
    this completes a move of `latest` that already happened."""
    if before is None or not before.image_id:
        return None
    now = engine.image_id(before.ref)
    if not now or now == before.image_id:
        return None
    engine.tag(before.image_id, before.previous)
    log.info("%s: %s moved, %s names the image it replaced (%s)", before.ref.rsplit(":", 1)[0],
             MOVING_TAG, before.previous, before.image_id[:19])  # fmt: skip
    return before.previous


def find_reusable(step: Step, *, tag: bool = True) -> str | None:
    """A local ref of an image with the same input digest; with `tag`, the step's refs are
    added to it (a dry run only looks)."""
    refs, digest = step.delivery.refs, step.inputs.digest
    labels = engine.image_labels(refs[0])
    source: str | None = None
    if labels is not None and labels.get(INPUTS_LABEL) == digest:
        source = refs[0]
    else:
        repository = refs[0].rsplit(":", 1)[0]
        found = engine.find_by_label(repository=repository, label=INPUTS_LABEL, value=digest)
        source = found[0] if found else None
    if source is None or not tag:
        return source
    for ref in refs:
        if ref != source:
            STOP.check(f"{ref} not tagged from {source}")
            engine.tag(source, ref)
    return source
