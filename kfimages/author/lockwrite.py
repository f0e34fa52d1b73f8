"""`invoke lock`: resolve each lock of kfimages.author.lock with uv and write it (header, pins,
and the wheels of its platform from uv's pylock.toml of the same resolution)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable
from pathlib import Path

from kfimages.author.lock import (
    _REF_RE,
    PYTHON_VERSION,
    LockSpec,
    _for_platform,
    _rel,
    discover,
    parent_constraints,
    render_header,
)
from kfimages.errors import UserError
from kfimages.repo.locks import (
    DEFAULT_PLATFORM,
    SDIST_MARK,
    WHEEL_MARK,
    Pin,
    normalize,
    parse_pins,
    sdist_allowed,
)

log = logging.getLogger(__name__)

PARENTS_NAME = "(parent images' locks)"
"""The parents' constraints as a lock's `# via` comments name them (not the temporary file)."""


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


def override_args(spec: LockSpec, root: Path) -> list[str]:
    """uv's `--override FILE` for each OVERRIDES file that applies to the lock."""
    return [arg for path in spec.overrides for arg in ("--override", str(root / path))]


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
        overrides = override_args(spec, root)
        _compile(spec, root, uv=uv, args=[
            str(source), "--output-file", str(out), "--generate-hashes",
            "--constraint", str(parents), *overrides, *(["--upgrade"] if upgrade else []),
        ])  # fmt: skip
        # `# via` comments name the constraints by a stable name: a relock changes what changed
        body = (
            out.read_text(encoding="utf-8")
            .replace(str(source), spec.source)
            .replace(str(parents), PARENTS_NAME)
        )
        pins, _ = parse_pins(body)
        exact = tmp / "pins.txt"
        exact.write_text("".join(f"{p.name}=={p.version}\n" for p in pins), encoding="utf-8")
        pylock = tmp / "pylock.toml"
        _compile(spec, root, uv=uv, args=[
            str(source), "--format", "pylock.toml", "--output-file", str(pylock),
            "--constraint", str(parents), "--constraint", str(exact), *overrides,
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
