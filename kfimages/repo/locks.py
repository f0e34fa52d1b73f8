"""The images' lock files as the build reads them: one lock per requirements `.in` and
platform, its pins, and the wheels it names for its platform (offline; `invoke lock` writes them,
kfimages.author.lock).

Names: `<stem>.in` is locked into `<stem>.lock.txt` for linux/amd64 and
`<stem>.linux-<arch>.lock.txt` for another platform (`requirements.linux-arm64.lock.txt`).
After its pins a lock lists, one `# wheel: <name>==<version> <file>` line each, the wheels of
its platform that the index has for each pin; the build plan refuses a platform whose lock has
a pin without one (`missing_wheel_problems`): nothing is compiled for the target in a build.
The one exception is a pure-Python package published as an sdist only that the `.in` allows
(`# kfimages: sdist NAME`): its lock line is `# sdist: <name>==<version> <file>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PLATFORM = "linux/amd64"
"""The platform of `<stem>.lock.txt` (the other platforms' names say theirs)."""
PYTHON_PLATFORMS = {
    "linux/amd64": "x86_64-manylinux_2_28",
    "linux/arm64": "aarch64-manylinux_2_28",
}
"""uv's `--python-platform` of each platform: glibc >= 2.28 (Debian 13 has 2.41)."""
IN_GLOB = "requirements*.in"
LOCK_SUFFIX = ".lock.txt"
WHEEL_MARK = "# wheel: "
SDIST_MARK = "# sdist: "
SDIST_DIRECTIVE = "# kfimages: sdist "
"""A `.in` line naming packages (comma-separated) that may come from an sdist, each a reviewed
pure-Python package that has no wheel on the index (built into a py3-none-any wheel on the
build platform); any other pin without a wheel of the platform stops the build plan."""
OVERRIDES = "python-overrides.txt"
"""An image folder's uv overrides (requirements format), applied to its locks and to the locks of
every folder whose images are built FROM its images: how a folder leaves out a dependency that
a package declares but the images do not need (`NAME ; sys_platform == "never"`: a marker that
is never true removes the requirement wherever it appears). Each line says why in a comment."""
FIX = "run: invoke lock"

_PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;]+)")
_PLATFORM_TAG_RE = re.compile(r"^(?:manylinux_(\d+)_(\d+)_|manylinux(1|2010|2014)_)(\w+)$")
_LEGACY_GLIBC = {"1": (2, 5), "2010": (2, 12), "2014": (2, 17)}


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


def lock_path(source: str, platform: str = DEFAULT_PLATFORM) -> str:
    """The lock of a `.in` (or of a lock's own name) for `platform`."""
    stem = source.removesuffix(".in").removesuffix(LOCK_SUFFIX)
    for other in PYTHON_PLATFORMS:
        stem = stem.removesuffix("." + other.replace("/", "-"))
    if platform == DEFAULT_PLATFORM:
        return stem + LOCK_SUFFIX
    return f"{stem}.{platform.replace('/', '-')}{LOCK_SUFFIX}"


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


def parse_wheels(text: str) -> dict[str, tuple[str, ...]]:
    """`<normalized name>==<version>` -> the wheel files a lock names for it."""
    return _marked(text, WHEEL_MARK)


def parse_sdists(text: str) -> dict[str, tuple[str, ...]]:
    """`<normalized name>==<version>` -> the sdist a lock names for it (allowed by its `.in`)."""
    return _marked(text, SDIST_MARK)


def _marked(text: str, mark: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        if line.startswith(mark):
            pin, _, filename = line.removeprefix(mark).partition(" ")
            name, _, version = pin.partition("==")
            key = f"{normalize(name)}=={version}"
            out[key] = (*out.get(key, ()), filename.strip())
    return out


def sdist_allowed(source_text: str) -> set[str]:
    """Normalized names a `.in` allows to come from an sdist (SDIST_DIRECTIVE lines)."""
    return {
        normalize(name.strip())
        for line in source_text.splitlines()
        if line.startswith(SDIST_DIRECTIVE)
        for name in line.removeprefix(SDIST_DIRECTIVE).split(",")
        if name.strip()
    }


def wheel_fits(filename: str, python_platform: str) -> bool:
    """Whether a wheel installs on CPython 3.13 on `python_platform` (`aarch64-manylinux_2_28`)."""
    parts = filename.removesuffix(".whl").split("-")
    if len(parts) < 5 or not filename.endswith(".whl"):
        return False
    python_tags, abi_tags, platform_tags = (p.split(".") for p in parts[-3:])
    arch, _, policy = python_platform.partition("-")
    glibc = tuple(int(n) for n in policy.removeprefix("manylinux_").split("_"))
    python_ok = any(
        t in ("py3", "py313", "cp313") or (t.startswith("cp3") and "abi3" in abi_tags)
        for t in python_tags
    )
    abi_ok = any(a in ("none", "abi3", "cp313") for a in abi_tags)
    return python_ok and abi_ok and any(_platform_fits(t, arch, glibc) for t in platform_tags)


def _platform_fits(tag: str, arch: str, glibc: tuple[int, ...]) -> bool:
    if tag == "any":
        return True
    match = _PLATFORM_TAG_RE.match(tag)
    if not match or match.group(4) != arch:
        return False
    if match.group(3):
        return _LEGACY_GLIBC[match.group(3)] <= glibc
    return (int(match.group(1)), int(match.group(2))) <= glibc


def missing_wheel_problems(root: Path, folder: str, platform: str) -> list[str]:
    """Why an image of `folder` cannot be built for `platform` from its locks: a lock missing
    for that platform, or a pin without a wheel of it (one line each, naming the fix)."""
    python_platform = PYTHON_PLATFORMS.get(platform)
    problems: list[str] = []
    for source in sorted((root / folder).glob(IN_GLOB)):
        rel = source.relative_to(root).as_posix()
        lock = lock_path(rel, platform)
        if python_platform is None or not (root / lock).is_file():
            problems.append(f"{rel} has no lock for {platform} ({lock}); {FIX}")
            continue
        text = (root / lock).read_text(encoding="utf-8")
        wheels, sdists = parse_wheels(text), parse_sdists(text)
        allowed = sdist_allowed(source.read_text(encoding="utf-8"))
        pins, _ = parse_pins(text)
        for pin in pins:
            key = f"{normalize(pin.name)}=={pin.version}"
            if key in sdists and normalize(pin.name) in allowed:
                continue
            if not any(wheel_fits(w, python_platform) for w in wheels.get(key, ())):
                problems.append(
                    f"{lock}: {pin.name}=={pin.version} has no wheel for {platform} "
                    f"({python_platform}); pin a version with one in {rel}, then {FIX}"
                )
    return problems
