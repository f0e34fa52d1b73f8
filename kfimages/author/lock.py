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
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kfimages.errors import UserError
from kfimages.repo.graph import Graph, load_graph
from kfimages.repo.locks import (
    DEFAULT_PLATFORM,
    FIX,
    IN_GLOB,
    LOCK_SUFFIX,
    PYTHON_PLATFORMS,
    SDIST_MARK,
    WHEEL_MARK,
    Pin,
    lock_path,
    normalize,
    parse_pins,
    parse_sdists,
    parse_wheels,
    read_pins,
    sdist_allowed,
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
    same platform's), constraints, and for another platform the linux/amd64 lock of the `.in`."""
    platform: str = DEFAULT_PLATFORM
    """`os/arch` of the lock (kfimages.repo.locks.PYTHON_PLATFORMS)."""

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
                    inputs=tuple(inputs),
                    platform=platform,
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


def uv_command() -> list[str]:
    """The pinned uv (requirements.txt) next to this interpreter, else the one on PATH."""
    found = shutil.which("uv", path=Path(sys.executable).parent) or shutil.which("uv")
    if not found:
        raise UserError("uv is not installed; .venv/bin/pip install -r requirements.txt")
    return [found]


def _platform_in(spec: LockSpec, root: Path, tmp: Path) -> Path:
    """The `.in` to resolve: itself, or for another platform a copy whose lock references
    (`-c requirements-torch.lock.txt`) name that platform's locks."""
    source = root / spec.source
    if spec.platform == DEFAULT_PLATFORM:
        return source
    lines = []
    for raw in source.read_text(encoding="utf-8").splitlines():
        match = _REF_RE.match(raw.split(" #", 1)[0])
        if match:
            ref = _for_platform(_rel(source.parent / match.group(2), root), spec.platform)
            lines.append(f"{match.group(1)} {root / ref}")
        else:
            lines.append(raw)
    copy = tmp / Path(spec.source).name
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return copy


def _compile(spec: LockSpec, root: Path, *, uv: list[str], args: list[str]) -> None:
    command = [
        *uv, "pip", "compile", *args, "--no-header", "--quiet", "--no-config",
        "--python-version", PYTHON_VERSION, "--python-platform", spec.python_platform,
        "--index-url", spec.index_url,
    ]  # fmt: skip
    log.debug("%s", " ".join(command))
    proc = subprocess.run(command, capture_output=True, text=True, check=False, cwd=root)
    if proc.returncode != 0:
        raise UserError(
            f"{spec.source} for {spec.platform}: uv pip compile failed:\n{proc.stderr.strip()}"
        )


def _filename(entry: dict[str, str]) -> str:
    return entry.get("name") or entry["url"].rsplit("/", 1)[1]


def wheel_lines(pylock: str, pins: Iterable[Pin], *, spec: LockSpec, sdists: set[str]) -> str:
    """The `# wheel:` lines of `pins` from uv's pylock.toml of the same resolution (which lists
    only the wheels of the lock's platform), and a `# sdist:` line for a pin without a wheel
    that the `.in` allows to come from an sdist (`sdists`, normalized names)."""
    wheels: dict[str, list[str]] = {}
    sources: dict[str, str] = {}
    for package in tomllib.loads(pylock).get("packages", []):
        key = f"{normalize(package['name'])}=={package['version']}"
        wheels[key] = sorted(_filename(w) for w in package.get("wheels", []))
        if "sdist" in package:
            sources[key] = _filename(package["sdist"])
    lines = [f"# wheels of {spec.python_platform} (uv's pylock.toml; the build plan checks them)"]
    for pin in pins:
        key = f"{normalize(pin.name)}=={pin.version}"
        lines += [f"{WHEEL_MARK}{pin.name}=={pin.version} {w}" for w in wheels.get(key, [])]
        if not wheels.get(key) and normalize(pin.name) in sdists and key in sources:
            lines.append(f"{SDIST_MARK}{pin.name}=={pin.version} {sources[key]}")
    return "\n".join(lines) + "\n"


def write_lock(spec: LockSpec, root: Path, *, uv: list[str], upgrade: bool = False) -> float:
    """Resolve `spec` with uv and write its lock (header + pins + wheels); the seconds it took.

    An existing lock's pins are kept where they still fit (uv prefers them) unless `upgrade`;
    another platform's new lock starts from linux/amd64's pins.
    """
    start = time.monotonic()
    target = root / spec.lock
    with tempfile.TemporaryDirectory(prefix="kfimages-lock-") as tmpdir:
        tmp = Path(tmpdir)
        out = tmp / "lock.txt"
        seed = target if target.is_file() else root / (spec.preference or spec.lock)
        if seed.is_file() and not upgrade:
            out.write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
        parents = tmp / "parents.txt"
        parents.write_text(parent_constraints(spec, root), encoding="utf-8")
        source = _platform_in(spec, root, tmp)
        _compile(spec, root, uv=uv, args=[
            str(source), "--output-file", str(out), "--generate-hashes",
            "--constraint", str(parents), *(["--upgrade"] if upgrade else []),
        ])  # fmt: skip
        body = out.read_text(encoding="utf-8").replace(str(source), spec.source)
        pins, _ = parse_pins(body)
        exact = tmp / "pins.txt"
        exact.write_text("".join(f"{p.name}=={p.version}\n" for p in pins), encoding="utf-8")
        pylock = tmp / "pylock.toml"
        _compile(spec, root, uv=uv, args=[
            str(source), "--format", "pylock.toml", "--output-file", str(pylock),
            "--constraint", str(parents), "--constraint", str(exact),
        ])  # fmt: skip
        allowed = sdist_allowed((root / spec.source).read_text(encoding="utf-8"))
        wheels = wheel_lines(pylock.read_text(encoding="utf-8"), pins, spec=spec, sdists=allowed)
    version = subprocess.run([*uv, "--version"], capture_output=True, text=True, check=True)
    header = render_header(spec, root, resolver=" ".join(version.stdout.split()[:2]))
    target.write_text(header + body + wheels, encoding="utf-8")
    return time.monotonic() - start


def lock_all(
    root: Path, *, only: Iterable[str] = (), upgrade: bool = False
) -> list[tuple[LockSpec, float]]:
    """Write the locks (parents' and -c locks first); `only`: those `.in` files or folders."""
    wanted = set(only)
    uv = uv_command()
    done: list[tuple[LockSpec, float]] = []
    for spec in discover(root):
        if wanted and not wanted & {spec.source, spec.lock, str(Path(spec.source).parent)}:
            continue
        seconds = write_lock(spec, root, uv=uv, upgrade=upgrade)
        log.info("%s: locked in %.1f s", spec.lock, seconds)
        done.append((spec, seconds))
    return done
