"""`invoke bump PIN [--to VERSION] [--sha256 HEX]`: move one pin (as `invoke outdated` names it)
everywhere it lives, then relock, regenerate and say which images it affects.

For a Dockerfile pin every sibling ARG moves with the version: a URL gets the new version (a
PyPI wheel's URL: the new release's file with the same tags, from PyPI's JSON), a `*_SHA256`
the new file's sha256 (its `*_URL` partner's, else the release's one wheel), a `*_INTEGRITY`
the npm registry's `dist.integrity`; an `image.yaml` artifact follows its URL. A hash that no
registry reachable from here gives (Posit's RStudio Server) comes from `--sha256`. For a
requirement pin the `name==version` line of each `requirements*.in` moves. Then every lock
that no longer matches its inputs is rewritten, parents first (`invoke lock`), the README's
chart and the CI workflow are regenerated when stale, and `invoke affected --base HEAD`
prints the images to rebuild.
"""

from __future__ import annotations

import logging
import posixpath
import re
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kfimages.author import chart, lockwrite, registries
from kfimages.author import lock as locks
from kfimages.author.pins import ARG, NPM, POSIT, PYPI, Pin, discover, named
from kfimages.author.registries import Project, ReleaseFile, Unreachable
from kfimages.errors import UserError
from kfimages.repo.graph import Graph, load_graph
from kfimages.ship import workflow

log = logging.getLogger(__name__)

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+!_-]*$")


@dataclass(frozen=True)
class Edit:
    """Replace `old` by `new` on one line of a file (1-based)."""

    path: str
    line: int
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.old} -> {self.new}"


@dataclass(frozen=True)
class Target:
    """What a pin moves to: the version, and what the registries say of it."""

    version: str
    project: Project | None = None
    """The PyPI project (a Dockerfile pin of PyPI)."""
    integrity: str = ""
    """npm's dist.integrity of the version (a Dockerfile pin of npm)."""
    sha256: str = ""
    """--sha256: the hash of the file no registry gives (Posit)."""


def check_sha256(value: str) -> str:
    text = value.strip().lower()
    if text and not _SHA256_RE.match(text):
        raise UserError(f"--sha256 {value}: give the file's SHA-256 as 64 hex digits (sha256sum)")
    return text


def pins_called(graph: Graph, name: str) -> list[Pin]:
    """The pins named `name`, or a UserError listing the valid names."""
    every = discover(graph)
    found = named(every, name)
    if not found:
        valid = ", ".join(sorted({p.name for p in every})) or "(none)"
        raise UserError(f"unknown pin '{name}'; pins: {valid} (see `invoke outdated`)")
    return found


def version_forms(version: str) -> list[str]:
    """How a version is written in a file name: as is, and with `+` as `-` (Posit's files)."""
    return list(dict.fromkeys([version, version.replace("+", "-")]))


def replace_version(text: str, old: str, new: str) -> str:
    """`text` with every written form of version `old` replaced by the same form of `new`."""
    for old_form, new_form in zip(version_forms(old), version_forms(new), strict=True):
        text = text.replace(old_form, new_form)
    return text


def wheel_like(files: Sequence[ReleaseFile], *, url: str, old: str, new: str) -> ReleaseFile:
    """The file of the new release with the same tags as the pinned wheel's `url`."""
    pinned = posixpath.basename(urllib.parse.urlsplit(url).path)
    wanted = replace_version(pinned, old, new)
    for file in files:
        if file.filename == wanted:
            return file
    raise UserError(f"the release {new} has no file {wanted} (like {pinned}); pick another --to")


def the_wheel(files: Sequence[ReleaseFile], *, version: str) -> ReleaseFile:
    """The one universal wheel (`*-none-any.whl`) of a release."""
    wheels = [f for f in files if f.filename.endswith("-none-any.whl")]
    if len(wheels) != 1:
        raise UserError(f"release {version} has {len(wheels)} universal wheels, not one")
    return wheels[0]


def _arg_values(pin: Pin, target: Target) -> dict[str, str]:
    """The new value of each ARG of a Dockerfile pin."""
    args = {p.key: p.value for p in pin.places if not p.key.startswith("artifact ")}
    old, new = pin.version, target.version
    out: dict[str, str] = {}
    files = target.project.files(new) if target.project else ()
    for key, value in args.items():
        if key.endswith("_VERSION") and value == old:
            out[key] = new
        elif "_URL" in key and urllib.parse.urlsplit(value).scheme in ("http", "https"):
            same = wheel_like(files, url=value, old=old, new=new) if files else None
            out[key] = same.url if same else replace_version(value, old, new)
    for key in args:
        if "_SHA256" in key:
            partner = key.replace("_SHA256", "_URL")
            if files:
                url = args.get(partner)
                file = wheel_like(files, url=url, old=old, new=new) if url else None
                out[key] = (file or the_wheel(files, version=new)).sha256
            elif target.sha256:
                out[key] = target.sha256
            else:
                raise UserError(
                    f"{pin.name}: no registry reachable from here gives the SHA-256 of "
                    f"{new} ({key}); pass --sha256 HEX of the file its URL names"
                )
        elif key.endswith("_INTEGRITY"):
            if not target.integrity:
                raise UserError(f"{pin.name}: {key} needs the npm registry's dist.integrity")
            out[key] = target.integrity
    return out


def edits_for(pin: Pin, target: Target) -> list[Edit]:
    """The line edits that move one pin to `target`."""
    if pin.kind != ARG:
        place = pin.places[0]  # `name[extras]==version` as written
        moved = place.value.removesuffix(pin.version) + target.version
        return [Edit(place.path, place.line, place.value, moved)] if moved != place.value else []
    values = _arg_values(pin, target)
    edits = [Edit(p.path, p.line, p.value, values[p.key]) for p in pin.places if p.key in values]
    urls = {p.value: values[p.key] for p in pin.places if p.key in values and "_URL" in p.key}
    for place in pin.places:
        if place.key.startswith("artifact ") and place.value in urls:
            edits.append(Edit(place.path, place.line, place.value, urls[place.value]))
    return [e for e in edits if e.old != e.new]


def apply(root: Path, edits: Iterable[Edit]) -> None:
    """Apply line edits (each `old` must be on its line: else the file changed meanwhile)."""
    by_path: dict[str, list[Edit]] = {}
    for edit in edits:
        by_path.setdefault(edit.path, []).append(edit)
    for path, file_edits in by_path.items():
        text = (root / path).read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        for edit in file_edits:
            line = lines[edit.line - 1]
            if edit.old not in line:
                raise UserError(f"{edit.path}:{edit.line} no longer holds {edit.old}; rerun")
            lines[edit.line - 1] = line.replace(edit.old, edit.new, 1)
        (root / path).write_text("".join(lines), encoding="utf-8")


def resolve_target(
    pins: Sequence[Pin], *, to: str, sha256: str, ca_cert: Sequence[str] = ()
) -> Target:
    """The version to move to (`to`, else the registry's newest) and the registry facts the
    rewrite needs; a registry that does not answer is a UserError naming it."""
    source = pins[0].source
    name = pins[0].name
    if to and not _VERSION_RE.match(to):
        raise UserError(f"--to {to!r} is not a version")
    kinds = {p.kind for p in pins}
    other_index = (source.index_url or registries.PYPI_INDEX).rstrip("/") != registries.PYPI_INDEX
    try:
        if source.registry == PYPI and not (other_index and to):  # another index: trust --to
            project = registries.pypi_project(
                source.package, index_url=source.index_url or registries.PYPI_INDEX,
                ca_cert=ca_cert,
            )  # fmt: skip
            version = to or project.newest
            project.files(version)  # the version exists (else a UserError naming the newest)
            return Target(version, project=project if ARG in kinds else None, sha256=sha256)
        if source.registry == NPM:
            version = to or str(registries.npm_document(source.package, "latest")["version"])
            integrity = registries.npm_integrity(source.package, version, ca_cert=ca_cert)
            return Target(version, integrity=integrity, sha256=sha256)
        if source.registry == POSIT and not to:
            return Target(registries.posit_newest(source.package, ca_cert=ca_cert), sha256=sha256)
    except Unreachable as exc:
        fix = (
            "pass --to VERSION --sha256 HEX (from the vendor's download page)"
            if source.registry == POSIT
            else "retry when it answers (behind a proxy: its CA in the host's store or "
            "$KFIMAGES_CA_CERT)"
        )
        raise UserError(f"{name}: {exc}; {fix}") from None
    if not to:
        raise UserError(f"{name}: its newest version cannot be read here; pass --to VERSION")
    return Target(to, sha256=sha256)


def relock(root: Path, *, write: Callable[[locks.LockSpec], float] | None = None) -> list[str]:
    """Rewrite every lock that no longer matches its inputs, parents first; their paths."""
    done = []
    uv: list[str] = []
    for spec in locks.discover(root):
        if not locks.lock_problems(spec, root):
            continue
        if write is None:
            uv = uv or lockwrite.uv_command()
            seconds = lockwrite.write_lock(spec, root, uv=uv)
        else:
            seconds = write(spec)
        log.info("%s: relocked in %.1f s", spec.lock, seconds)
        done.append(spec.lock)
    return done


def regenerate(root: Path) -> list[str]:
    """The README's chart and the CI workflow where the repository has them and they are
    stale (a pin moves neither today; a bump keeps every generated file current)."""
    graph = load_graph(root)
    written = []
    readme = root / chart.README
    has_chart = readme.is_file() and chart.START in readme.read_text(encoding="utf-8")
    if has_chart and chart.write_chart(root, graph=graph):
        written.append(chart.README)
    flow = root / workflow.WORKFLOW
    if flow.is_file() and flow.read_text(encoding="utf-8") != workflow.expected(graph):
        written.append(str(workflow.write(graph).relative_to(root)))
    return written


def bump(
    graph: Graph, name: str, *, to: str = "", sha256: str = "", ca_cert: Sequence[str] = ()
) -> tuple[list[Edit], list[str]]:
    """Move pin `name`: (the edits made, the files regenerated: locks, chart, workflow);
    nothing when it already is at the target."""
    found = pins_called(graph, name)
    if sha256 and not any(p.kind == ARG and p.source.registry not in (PYPI, NPM) for p in found):
        raise UserError(f"--sha256 is for a pin whose registry gives no hash; {name}'s does")
    target = resolve_target(found, to=to, sha256=check_sha256(sha256), ca_cert=ca_cert)
    edits = sorted((e for pin in found for e in edits_for(pin, target)), key=_position)
    if not edits:
        return [], []
    apply(graph.root, edits)
    return edits, [*relock(graph.root), *regenerate(graph.root)]


def _position(edit: Edit) -> tuple[str, int]:
    return edit.path, edit.line
