"""`invoke outdated [NAMES]`: what is stale in the images.

1. Every pin the named images depend on (kfimages.author.pins: theirs and their ancestors')
   against the newest release in its own registry (PyPI, npm, Posit), one table with the
   kind of bump and where the pin lives. A registry that cannot be reached from here gives
   `unknown here` and why, never an error.
2. For each named image that is built locally, the Debian packages whose fixed version is in
   the security suite but not in the image (kfimages.ship.security): it needs a rebuild.

`--fail-on security` fails (exit 1) when a built image lacks a security fix or its suite's
index cannot be read; `--fail-on any` also on any pin with a newer release or unknown here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kfimages import engine
from kfimages.author import pins as found_pins
from kfimages.author import registries
from kfimages.author.pins import NPM, POSIT, PYPI, Pin
from kfimages.errors import UserError
from kfimages.repo.graph import Graph, image_ref
from kfimages.ship import security, versions
from kfimages.tables import text_table

log = logging.getLogger(__name__)

SECURITY, ANY = "security", "any"
FAIL_ON = (SECURITY, ANY)
UNKNOWN = "unknown here"
CURRENT = "current"
WORKERS = 8
EXIT_STALE = 1


@dataclass(frozen=True)
class Row:
    """A pin and the newest release of its registry ("" when unknown, with the reason)."""

    pin: Pin
    newest: str
    reason: str = ""

    @property
    def bump(self) -> str:
        """major, minor or patch when the newest is newer; `current`; `unknown here`."""
        if not self.newest:
            return UNKNOWN
        if versions.compare("pypi", self.pin.version, self.newest) >= 0:
            return CURRENT
        return versions.change_kind("pypi", self.pin.version, self.newest)


@dataclass(frozen=True)
class ImageSecurity:
    """The security fixes a built image lacks; `problem` when they could not be told."""

    name: str
    ref: str
    built: bool
    fixes: tuple[security.Fix, ...] = ()
    problem: str = ""


def fail_on(value: str) -> str:
    """A checked `--fail-on` value ("" = never fail)."""
    if value and value not in FAIL_ON:
        raise UserError(f"--fail-on {value}: choose one of {', '.join(FAIL_ON)}")
    return value


def pin_images(graph: Graph, pin: Pin) -> set[str]:
    """The images built from a pin's places (the Dockerfile's images, the folder's images for
    a requirements file) and every image below them."""
    first = pin.places[0].path
    if pin.kind == found_pins.ARG:
        direct = {i.name for i in graph.images.values() if i.dockerfile == first}
    else:
        direct = {i.name for i in graph.images.values() if i.folder == first.split("/", 1)[0]}
    return graph.descendants(direct) if direct else set()


def pins_of(graph: Graph, selected: Sequence[str]) -> list[Pin]:
    """The pins of the repository that any of the `selected` images depends on."""
    wanted = set(selected)
    return [p for p in found_pins.discover(graph) if pin_images(graph, p) & wanted]


def newest(pin: Pin, *, ca_cert: Sequence[str] = ()) -> str:
    """The newest release of a pin's package in its registry (Unreachable, UserError)."""
    source = pin.source
    if source.registry == PYPI:
        index = source.index_url or registries.PYPI_INDEX
        return registries.pypi_project(source.package, index_url=index, ca_cert=ca_cert).newest
    if source.registry == NPM:
        return str(registries.npm_document(source.package, "latest", ca_cert=ca_cert)["version"])
    if source.registry == POSIT:
        return registries.posit_newest(source.package, ca_cert=ca_cert)
    raise registries.Unreachable(f"no registry known for {source.package or pin.name}")


def _row(pin: Pin, ca_cert: Sequence[str]) -> Row:
    try:
        return Row(pin, newest(pin, ca_cert=ca_cert))
    except (registries.Unreachable, UserError) as exc:
        return Row(pin, "", str(exc))


def check_pins(pin_list: Sequence[Pin], *, ca_cert: Sequence[str] = ()) -> list[Row]:
    """A Row per pin, the registries asked in parallel (one question per package)."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(lambda p: _row(p, ca_cert), pin_list))


def check_images(
    graph: Graph,
    selected: Sequence[str],
    *,
    registry: str,
    tag: str,
    cache: security.IndexCache,
    read: Callable[[str], security.ImageSystem] = security.read_image_system,
) -> list[ImageSecurity]:
    """The missing security fixes of each selected image that is built (parents first)."""
    found = []
    for image in graph.build_order(selected):
        ref = image_ref(image, registry=registry, tag=tag)
        if engine.inspect_image(ref) is None:
            found.append(ImageSecurity(image.name, ref, built=False))
            continue
        try:
            fixes = tuple(cache.fixes(read(ref)))
        except security.IndexUnavailable as exc:
            found.append(ImageSecurity(image.name, ref, built=True, problem=str(exc)))
            continue
        found.append(ImageSecurity(image.name, ref, built=True, fixes=fixes))
    return found


def render_pins(rows: Sequence[Row]) -> list[str]:
    """The pin table, then one line per unknown pin saying why."""
    table = [
        (r.pin.name, r.pin.version, r.newest or UNKNOWN, r.bump, r.pin.source.registry or "-",
         r.pin.where)
        for r in rows
    ]  # fmt: skip
    lines = text_table(("PIN", "PINNED", "NEWEST", "BUMP", "REGISTRY", "WHERE"), table, rule=True)
    lines += [f"{r.pin.name}: {UNKNOWN}: {r.reason}" for r in rows if not r.newest]
    return lines


def render_security(images: Sequence[ImageSecurity]) -> list[str]:
    """Per image: the security fixes it lacks, or why they are not known."""
    lines = []
    for image in images:
        if not image.built:
            lines.append(f"{image.name}: not built ({image.ref}): not checked")
        elif image.problem:
            lines.append(f"{image.name}: security fixes {UNKNOWN}: {image.problem}")
        elif image.fixes:
            fixes = "; ".join(map(str, image.fixes))
            lines.append(
                f"{image.name}: lacks {len(image.fixes)} security fix(es), rebuild it "
                f"(invoke build {image.name} --refresh): {fixes}"
            )
        else:
            lines.append(f"{image.name}: every security fix of its suite is in {image.ref}")
    return lines


def failures(rows: Sequence[Row], images: Sequence[ImageSecurity], *, fail_on: str) -> list[str]:
    """Why `--fail-on` fails the run (empty: it does not)."""
    if not fail_on:
        return []
    found = [f"{i.name} lacks security fixes" for i in images if i.fixes]
    found += [f"{i.name}: security fixes {UNKNOWN}" for i in images if i.problem]
    if fail_on == ANY:
        found += [f"{r.pin.name} {r.pin.version} -> {r.newest}" for r in rows if r.newest
                  and r.bump != CURRENT]  # fmt: skip
        found += [f"{r.pin.name}: {UNKNOWN}" for r in rows if not r.newest]
    return found
