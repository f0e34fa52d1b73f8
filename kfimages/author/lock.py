"""Hashed lock files of the images' Python requirements: find, write (`invoke lock`), check.

Every `<image folder>/requirements*.in` is locked once per platform of
`kfimages.repo.locks.PYTHON_PLATFORMS`: into `<same stem>.lock.txt` next to it for linux/amd64
and `<same stem>.linux-arm64.lock.txt` for linux/arm64, every transitive pin with `--hash`,
resolved by uv for the images' Python (`PYTHON_VERSION` on that platform's manylinux), and
installed by the images' build stages with `--require-hashes --no-deps`. A folder's locks are
resolved with its ancestor folders' lock pins (of the same platform) as constraints, except the
packages its `.in` names itself (how a child re-pins a parent's package on purpose); a `.in`
names the locks of its own folder it must agree with (`-c requirements-torch.lock.txt`: the
same platform's is used). Another platform's lock starts from linux/amd64's pins (uv keeps them
where they fit), so both platforms get the same versions where the index allows. After the pins
each lock lists the wheels of its platform of every pin (`# wheel:`, from uv's pylock.toml of
the same resolution), which the build plan checks (kfimages.repo.locks). The index is PyPI
unless the `.in` says `--index-url`. Each lock's header records the resolver, Python,
platform, index and the sha256 of every input; `check_locks` recomputes them offline.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from kfimages.errors import UserError
from kfimages.repo.graph import Graph, load_graph
from kfimages.repo.locks import (
    DEFAULT_PLATFORM,
    FIX,
    IN_GLOB,
    LOCK_SUFFIX,
    OVERRIDES,
    PYTHON_PLATFORMS,
    WHEEL_MARK,
    Pin,
    lock_path,
    normalize,
    parse_pins,
    parse_sdists,
    parse_wheels,
    read_pins,
)

log = logging.getLogger(__name__)

__all__ = ["Pin", "lock_path", "normalize", "parse_pins", "read_pins"]

DEFAULT_INDEX = "https://pypi.org/simple"
PYTHON_VERSION = "3.13"
"""The images' Python (Debian 13's python3 in jupyter's venv)."""
PYTHON_PLATFORM = PYTHON_PLATFORMS[DEFAULT_PLATFORM]
"""linux/amd64's (every platform's: PYTHON_PLATFORMS)."""
MARK = "# kfimages lock"

_REF_RE = re.compile(r"^\s*(-r|-c|--requirement|--constraint)(?:\s+|=)?(\S+)")
_INDEX_RE = re.compile(r"^\s*(?:-i|--index-url)(?:\s+|=)(\S+)")
_HEADER_RE = re.compile(r"^# (resolver|python|platform|index-url|input): (.+)$")
_NAME_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class LockSpec:
    """One `.in` file and what its lock is made from (paths relative to the repository)."""

    source: str
    lock: str
    index_url: str
    constraints: tuple[str, ...]
    """Locks of the ancestor folders, passed to the resolver as -c."""
    inputs: tuple[str, ...]
    """Every file whose sha256 the header records: the `.in`, its -r/-c files (a lock: the
    same platform's), constraints, for another platform the linux/amd64 lock of the `.in`, and
    the overrides."""
    platform: str = DEFAULT_PLATFORM
    """`os/arch` of the lock (kfimages.repo.locks.PYTHON_PLATFORMS)."""
    overrides: tuple[str, ...] = ()
    """The OVERRIDES files of the folder and of its ancestor folders, passed to the resolver as
    --override."""

    @property
    def python_platform(self) -> str:
        return PYTHON_PLATFORMS[self.platform]

    @property
    def preference(self) -> str | None:
        """The linux/amd64 lock whose pins another platform's lock starts from."""
        return None if self.platform == DEFAULT_PLATFORM else lock_path(self.source)


@dataclass(frozen=True)
class Header:
    """A lock's header: `fields` (resolver, python, platform, index-url), `inputs` (path ->
    sha256)."""

    fields: dict[str, str]
    inputs: dict[str, str]


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rel(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def _references(source: Path, root: Path, seen: set[str]) -> list[str]:
    """Files a requirements file names with -r/-c (recursively), repository-relative."""
    out: list[str] = []
    for raw in source.read_text(encoding="utf-8").splitlines():
        match = _REF_RE.match(raw.split(" #", 1)[0])
        if not match:
            continue
        ref = (source.parent / match.group(2)).resolve()
        try:
            rel = _rel(ref, root)
        except ValueError:
            raise UserError(f"{source}: {match.group(2)} is outside the repository") from None
        if rel in seen:
            continue
        seen.add(rel)
        if not ref.is_file() and not rel.endswith(LOCK_SUFFIX):
            raise UserError(f"{_rel(source, root)}: {match.group(2)} does not exist")
        out.append(rel)
        if not rel.endswith(LOCK_SUFFIX):
            out.extend(_references(ref, root, seen))
    return out


def named(source: Path) -> set[str]:
    """Normalized names of the requirements a `.in` file lists itself (not its -r files)."""
    lines = source.read_text(encoding="utf-8").splitlines()
    return {normalize(m.group(1)) for raw in lines if (m := _NAME_RE.match(raw.strip()))}


def parent_constraints(spec: LockSpec, root: Path) -> str:
    """The parents' pins (no hashes) the resolver must keep: all but those the `.in` names."""
    own = named(root / spec.source)
    pins: dict[str, str] = {}
    for lock in spec.constraints:
        pins.update(read_pins(root / lock))
    return "".join(
        f"{name}=={version}\n" for name, version in sorted(pins.items()) if name not in own
    )


def index_of(source: Path) -> str:
    """The `--index-url` a `.in` file names, else PyPI."""
    lines = source.read_text(encoding="utf-8").splitlines()
    found = [m.group(1).rstrip("/") for raw in lines if (m := _INDEX_RE.match(raw))]
    return found[0] if found else DEFAULT_INDEX


def _folders(graph: Graph) -> dict[str, set[str]]:
    """Image folder -> the folders of its images' ancestors (itself excluded)."""
    out: dict[str, set[str]] = {}
    for image in graph.images.values():
        ancestors = {a.folder for a in graph.ancestors(image.name)} - {image.folder}
        out.setdefault(image.folder, set()).update(ancestors)
    return out


def overrides_of(folder: str, ancestors: set[str], root: Path) -> tuple[str, ...]:
    """The OVERRIDES files that apply to a folder's locks: its ancestors' and its own."""
    return tuple(
        f"{f}/{OVERRIDES}" for f in sorted({folder, *ancestors}) if (root / f / OVERRIDES).is_file()
    )


def discover(root: Path, graph: Graph | None = None) -> list[LockSpec]:
    """Every lock of the repository, in an order where each lock's inputs come first."""
    graph = graph or load_graph(root)
    folders = _folders(graph)
    sources = {
        folder: sorted(_rel(p, root) for p in (root / folder).glob(IN_GLOB) if p.is_file())
        for folder in sorted(folders)
    }
    specs: dict[str, LockSpec] = {}
    for platform in PYTHON_PLATFORMS:
        for folder, ins in sources.items():
            parents = sorted(
                lock_path(s, platform) for a in folders[folder] for s in sources.get(a, [])
            )
            overrides = overrides_of(folder, folders[folder], root)
            for source in ins:
                refs = [
                    _for_platform(r, platform) for r in _references(root / source, root, {source})
                ]
                own = [lock_path(source)] if platform != DEFAULT_PLATFORM else []
                inputs = (source, *refs, *(p for p in [*parents, *own] if p not in refs))
                spec = LockSpec(
                    source=source,
                    lock=lock_path(source, platform),
                    index_url=index_of(root / source),
                    constraints=tuple(parents),
                    inputs=(*inputs, *overrides),
                    platform=platform,
                    overrides=overrides,
                )
                specs[spec.lock] = spec
    return _ordered(specs)


def _for_platform(path: str, platform: str) -> str:
    """A lock a `.in` names (`-c requirements-torch.lock.txt`): the same platform's."""
    return lock_path(path, platform) if path.endswith(LOCK_SUFFIX) else path


def _ordered(specs: dict[str, LockSpec]) -> list[LockSpec]:
    """A lock after the locks it takes as input (parents' locks, its -c locks)."""
    order: list[LockSpec] = []
    pending = list(specs.values())
    while pending:
        locks = {s.lock for s in pending}
        ready = [s for s in pending if not (set(s.inputs) - {s.lock}) & locks]
        if not ready:
            raise UserError(f"a -c cycle among {', '.join(s.source for s in pending)}")
        order += ready
        pending = [s for s in pending if s not in ready]
    return order


def render_header(spec: LockSpec, root: Path, *, resolver: str) -> str:
    lines = [
        f"{MARK}: written by `invoke lock` from {Path(spec.source).name}; do not edit.",
        f"# Install: pip install --require-hashes --no-deps -r {Path(spec.lock).name}",
        f"# resolver: {resolver}",
        f"# python: {PYTHON_VERSION}",
        f"# platform: {spec.python_platform}",
        f"# index-url: {spec.index_url}",
        *(f"# input: {p} sha256:{sha256_file(root / p)}" for p in spec.inputs),
    ]
    return "\n".join(lines) + "\n"


def parse_header(text: str) -> Header | None:
    """The header of a lock's text, None when it has none."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith(MARK):
        return None
    header = Header(fields={}, inputs={})
    for line in lines[1:]:
        if not line.startswith("#"):
            break
        if match := _HEADER_RE.match(line):
            key, value = match.groups()
            if key == "input":
                path, _, digest = value.rpartition(" sha256:")
                header.inputs[path] = digest
            else:
                header.fields[key] = value
    return header


def lock_problems(spec: LockSpec, root: Path) -> list[str]:
    """Why one lock does not match its inputs (offline), empty when it does."""
    path = root / spec.lock
    if not path.is_file():
        return [f"{spec.lock} is missing (the lock of {spec.source}); {FIX}"]
    text = path.read_text(encoding="utf-8")
    header = parse_header(text)
    if header is None:
        return [f"{spec.lock} has no '{MARK}' header; {FIX}"]
    problems: list[str] = []
    now = {p: sha256_file(root / p) if (root / p).is_file() else "-" for p in spec.inputs}
    changed = sorted(
        p for p in now.keys() | header.inputs.keys() if now.get(p) != header.inputs.get(p)
    )
    if changed:
        problems.append(f"{spec.lock} is stale: {', '.join(changed)} changed since; {FIX}")
    wanted = {
        "python": PYTHON_VERSION,
        "platform": spec.python_platform,
        "index-url": spec.index_url,
    }
    problems.extend(
        f"{spec.lock} was locked for {key} {header.fields.get(key, '(none)')}, not {value}; {FIX}"
        for key, value in wanted.items()
        if header.fields.get(key) != value
    )
    pins, bad = parse_pins(text)
    bad += [f"line {p.line}: {p.name}=={p.version} has no --hash" for p in pins if not p.hashes]
    listed = parse_wheels(text) | parse_sdists(text)
    bad += [
        f"line {p.line}: {p.name}=={p.version} has no '{WHEEL_MARK.strip()}' line"
        for p in pins
        if f"{normalize(p.name)}=={p.version}" not in listed
    ]
    return problems + [f"{spec.lock}: {b}; {FIX}" for b in bad or ([] if pins else ["no pin"])]


def check_locks(root: Path, graph: Graph | None = None) -> list[str]:
    """Every problem of every lock of the repository (offline), one line each."""
    graph = graph or load_graph(root)
    specs = discover(root, graph)
    problems = [p for spec in specs for p in lock_problems(spec, root)]
    known = {s.lock for s in specs}
    for folder in sorted(_folders(graph)):
        for path in sorted((root / folder).glob(f"requirements*{LOCK_SUFFIX}")):
            if (rel := _rel(path, root)) not in known:
                problems.append(f"{rel} has no .in of the same name; remove it or add the .in")
    return problems
