"""Each image against the image it replaced: `invoke diff NAME`, `invoke release-notes NAMES`
and the lines CI's smoke run prints for each rebuilt image.

A build that moves `latest` away from an image tags that image `previous`
(kfimages.build.retag), so `<repo>:previous` vs `<repo>:latest` is what the last rebuild
changed (kfimages.ship.diff). An image with no `previous` (its first build on this engine, a
cold run) has nothing to compare: that is said in one line, and only that image is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kfimages import engine
from kfimages.build.report import Result, Status
from kfimages.build.retag import MOVING_TAG, previous_ref
from kfimages.errors import UserError
from kfimages.names import BUILT, SETS, Names, parse
from kfimages.repo.graph import Graph
from kfimages.ship import diff, manifest
from kfimages.ship.sbom import read_image

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pair:
    """An image (its step name) and the refs it is compared by."""

    name: str
    latest: str
    previous: str

    def missing(self) -> str:
        """The line of an image without `previous`."""
        return (f"{self.name}: no {self.previous} (its first build here, or a cold run): "
                "no previous image to compare, skipped")  # fmt: skip


def pair_of(name: str, latest: str) -> Pair:
    previous = previous_ref(latest)
    if previous is None:  # the refs are made with MOVING_TAG below
        raise ValueError(f"{latest} is no {MOVING_TAG} ref")
    return Pair(name=name, latest=latest, previous=previous)


def pairs(graph: Graph, selected: Names, *, registry: str, platform: str, task: str) -> list[Pair]:
    """The images of NAMES (with `built`) on a platform, parents first; a named image whose
    `latest` is not in the store is a UserError (kfimages.ship.manifest.built_refs)."""
    refs = manifest.built_refs(graph, selected, registry=registry, tag=MOVING_TAG,
                               platform=platform, task=task)  # fmt: skip
    return [pair_of(name, ref) for name, ref in refs.items()]


def read_names(graph: Graph, value: str | None, *, base: str) -> Names:
    """NAMES of `invoke release-notes` (the grammar's words plus `built`)."""
    return parse(value, known=graph.images, base=base, takes=(*SETS, BUILT))


def one_name(graph: Graph, value: str) -> Names:
    """The NAME of `invoke diff NAME`: exactly one image of the repository."""
    names = parse(value, known=graph.images, takes=())
    if not names.single:
        raise UserError(f"`invoke diff NAME` compares one image, not {value!r}; "
                        "for several use `invoke release-notes NAMES`")  # fmt: skip
    return names


def compare(pair: Pair) -> diff.ImageDiff | None:
    """`previous` vs `latest` of an image, None when it has no `previous`."""
    if not engine.image_id(pair.previous):
        return None
    return diff.diff(read_image(pair.previous), read_image(pair.latest))


def notes(found: Sequence[Pair], *, output: Path | None) -> Iterator[str]:
    """Markdown release notes per image: printed (yielded), or written to `output/<name>.md`
    (the paths yielded); an image without `previous` yields its one line instead."""
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
    for pair in found:
        changes = compare(pair)
        if changes is None:
            yield pair.missing()
            continue
        text = diff.render_markdown(changes)
        if output is None:
            yield text
            continue
        path = output / f"{pair.name}.md"
        path.write_text(text, encoding="utf-8")
        yield str(path)


def rebuilt_lines(results: Sequence[Result]) -> Iterator[str]:
    """For each image a build rebuilt (status built, a `latest` ref): its diff against
    `previous` as text, or the line saying it has none; a diff that cannot be read is a
    line too (the build and its tests decide the run, not these notes)."""
    for result in results:
        if result.status != Status.BUILT or previous_ref(result.ref) is None:
            continue
        pair = pair_of(result.name, result.ref)
        try:
            changes = compare(pair)
        except UserError as exc:
            yield f"{pair.name}: no diff against {pair.previous}: {exc}"
            continue
        yield (
            pair.missing()
            if changes is None
            else (f"== {pair.name}: {pair.previous} -> {pair.latest}\n{diff.render_text(changes)}")
        )
