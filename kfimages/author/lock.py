"""Hashed lock files of the images' Python requirements: find, write (`invoke lock`), check.

Every `<image folder>/requirements*.in` is locked into `<same stem>.lock.txt` next to it: every
transitive pin with `--hash`, resolved by uv for the images' Python (`PYTHON_VERSION` on
`PYTHON_PLATFORM`), installed with `pip install --require-hashes --no-deps -r <lock>`.
A folder's locks are resolved with its ancestor folders' lock pins as constraints, except the
packages its `.in` names itself (how a child re-pins a parent's package on purpose); a `.in`
names the locks of its own folder it must agree with (`-c requirements-torch.lock.txt`). The
index is PyPI unless the `.in` says `--index-url`. Each lock's header records the resolver,
Python, platform, index and the sha256 of every input; `check_locks` recomputes them offline.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kfimages.errors import UserError
from kfimages.repo.graph import Graph, load_graph

log = logging.getLogger(__name__)

IN_GLOB = "requirements*.in"
LOCK_SUFFIX = ".lock.txt"
DEFAULT_INDEX = "https://pypi.org/simple"
PYTHON_VERSION = "3.13"
"""The images' Python (Debian 13's python3 in jupyter's venv)."""
PYTHON_PLATFORM = "x86_64-manylinux_2_28"
"""linux/amd64 with glibc >= 2.28 (Debian 13 has 2.41)."""
MARK = "# kfimages lock"
FIX = "run: invoke lock"
PARENTS_NAME = "(parent images' locks)"  # the constraints in a lock's `# via` comments

_REF_RE = re.compile(r"^\s*(-r|-c|--requirement|--constraint)(?:\s+|=)?(\S+)")
_INDEX_RE = re.compile(r"^\s*(?:-i|--index-url)(?:\s+|=)(\S+)")
_HEADER_RE = re.compile(r"^# (resolver|python|platform|index-url|input): (.+)$")
_NAME_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")
_PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;]+)")


@dataclass(frozen=True)
class LockSpec:
    """One `.in` file and what its lock is made from (paths relative to the repository)."""

    source: str
    lock: str
    index_url: str
    constraints: tuple[str, ...]
    """Locks of the ancestor folders, passed to the resolver as -c."""
    inputs: tuple[str, ...]
    """Every file whose sha256 the header records: the `.in`, its -r/-c files, constraints."""


@dataclass(frozen=True)
class Header:
    """A lock's header: `fields` (resolver, python, platform, index-url), `inputs` (path ->
    sha256)."""

    fields: dict[str, str]
    inputs: dict[str, str]


@dataclass(frozen=True)
class Pin:
    """One requirement line of a lock."""

    name: str
    version: str
    hashes: tuple[str, ...]
    line: int


def normalize(name: str) -> str:
    """PEP 503 name: lower case, runs of `-_.` as one `-`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lock_path(source: str) -> str:
    return source.removesuffix(".in") + LOCK_SUFFIX


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


def discover(root: Path, graph: Graph | None = None) -> list[LockSpec]:
    """Every lock of the repository, in an order where each lock's inputs come first."""
    graph = graph or load_graph(root)
    folders = _folders(graph)
    sources = {
        folder: sorted(_rel(p, root) for p in (root / folder).glob(IN_GLOB) if p.is_file())
        for folder in sorted(folders)
    }
    specs: dict[str, LockSpec] = {}
    for folder, ins in sources.items():
        parents = sorted(lock_path(s) for a in folders[folder] for s in sources.get(a, []))
        for source in ins:
            refs = _references(root / source, root, {source})
            inputs = (source, *refs, *(p for p in parents if p not in refs))
            specs[source] = LockSpec(
                source=source,
                lock=lock_path(source),
                index_url=index_of(root / source),
                constraints=tuple(parents),
                inputs=tuple(inputs),
            )
    return _ordered(specs)


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
        f"# platform: {PYTHON_PLATFORM}",
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


def parse_pins(text: str) -> tuple[list[Pin], list[str]]:
    """Requirement lines of a lock (continuations joined), and the lines that are no pin."""
    pins: list[Pin] = []
    bad: list[str] = []
    logical = ""
    start = 0
    for number, raw in enumerate([*text.splitlines(), ""], start=1):
        line = "" if raw.lstrip().startswith("#") else raw.split(" #", 1)[0].rstrip()
        if not logical:
            start = number
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical = (logical + line).strip()
        if logical and not logical.startswith("-"):
            match = _PIN_RE.match(logical)
            hashes = tuple(re.findall(r"--hash=(\S+)", logical))
            if match:
                pins.append(Pin(match.group(1), match.group(3), hashes, start))
            else:
                bad.append(f"line {start}: {logical.split()[0]} is not pinned with ==")
        logical = ""
    return pins, bad


def read_pins(path: Path) -> dict[str, str]:
    """Normalized name -> version of a lock's requirement lines."""
    pins, _ = parse_pins(path.read_text(encoding="utf-8"))
    return {normalize(p.name): p.version for p in pins}


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
    wanted = {"python": PYTHON_VERSION, "platform": PYTHON_PLATFORM, "index-url": spec.index_url}
    problems.extend(
        f"{spec.lock} was locked for {key} {header.fields.get(key, '(none)')}, not {value}; {FIX}"
        for key, value in wanted.items()
        if header.fields.get(key) != value
    )
    pins, bad = parse_pins(text)
    bad += [f"line {p.line}: {p.name}=={p.version} has no --hash" for p in pins if not p.hashes]
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


def uv_command() -> list[str]:
    """The pinned uv (requirements.txt) next to this interpreter, else the one on PATH."""
    found = shutil.which("uv", path=Path(sys.executable).parent) or shutil.which("uv")
    if not found:
        raise UserError("uv is not installed; .venv/bin/pip install -r requirements.txt")
    return [found]


def write_lock(spec: LockSpec, root: Path, *, uv: list[str], upgrade: bool = False) -> float:
    """Resolve `spec` with uv and write its lock (header + pins); the seconds it took.

    An existing lock's pins are kept where they still fit (uv prefers them) unless `upgrade`.
    """
    start = time.monotonic()
    target = root / spec.lock
    with tempfile.TemporaryDirectory(prefix="kfimages-lock-") as tmp:
        out = Path(tmp) / "lock.txt"
        if target.is_file() and not upgrade:
            out.write_text(target.read_text(encoding="utf-8"), encoding="utf-8")
        parents = Path(tmp) / "parents.txt"
        parents.write_text(parent_constraints(spec, root), encoding="utf-8")
        command = [
            *uv, "pip", "compile", str(root / spec.source), "--output-file", str(out),
            "--generate-hashes", "--no-header", "--quiet", "--no-config",
            "--python-version", PYTHON_VERSION, "--python-platform", PYTHON_PLATFORM,
            "--index-url", spec.index_url,
            "--constraint", str(parents),
            *(["--upgrade"] if upgrade else []),
        ]  # fmt: skip
        log.debug("%s", " ".join(command))
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise UserError(f"{spec.source}: uv pip compile failed:\n{proc.stderr.strip()}")
        # `# via` comments name the constraints by a stable name: a relock changes what changed
        body = out.read_text(encoding="utf-8").replace(str(parents), PARENTS_NAME)
    version = subprocess.run([*uv, "--version"], capture_output=True, text=True, check=True)
    header = render_header(spec, root, resolver=" ".join(version.stdout.split()[:2]))
    target.write_text(header + body, encoding="utf-8")
    return time.monotonic() - start


def lock_all(
    root: Path, *, only: Iterable[str] = (), upgrade: bool = False
) -> list[tuple[LockSpec, float]]:
    """Write the locks (parents' and -c locks first); `only`: those `.in` files or folders."""
    wanted = set(only)
    uv = uv_command()
    done: list[tuple[LockSpec, float]] = []
    for spec in discover(root):
        if wanted and not wanted & {spec.source, str(Path(spec.source).parent)}:
            continue
        seconds = write_lock(spec, root, uv=uv, upgrade=upgrade)
        log.info("%s: locked in %.1f s", spec.lock, seconds)
        done.append((spec, seconds))
    return done
