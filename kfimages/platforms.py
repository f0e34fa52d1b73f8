"""Target platforms: which ones are supported, how their local refs are named, and whether a
foreign one can run here (QEMU user emulation registered with binfmt_misc).

Naming: the build host's platform keeps the refs everyone uses (`kfnb/jupyter:latest`,
`debian:trixie-slim`); another platform's image gets the **suffix `-<arch>`** on its tag
(`kfnb/jupyter:latest-arm64`, `debian:trixie-slim-arm64`), because the classic image store
keeps one platform per tag. Registry pushes of several platforms use the same suffixes for
the per-platform tags (the host's too: `latest-amd64`), and one manifest list per tag
without suffix (`kfimages.ship.push`).
"""

from __future__ import annotations

import logging
import platform as host
from collections.abc import Iterable, Sequence
from pathlib import Path

from kfimages.errors import UserError

log = logging.getLogger(__name__)

SUPPORTED = ("linux/amd64", "linux/arm64")
"""The platforms the images are built for (Debian's and upstream Kubeflow's pair)."""
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
_MACHINES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_EMULATORS = {"arm64": "qemu-aarch64", "amd64": "qemu-x86_64"}
INSTALL_HINT = (
    "install QEMU user emulation: bash scripts/install-qemu.sh "
    "(apt-get install qemu-user-static binfmt-support, then update-binfmts --enable {entry})"
)


def host_platform() -> str:
    """The build host's platform as BuildKit names it (`linux/amd64`, `linux/arm64`)."""
    machine = host.machine().lower()
    return f"linux/{_MACHINES.get(machine, machine)}"


def host_first(supported: Sequence[str] = SUPPORTED) -> list[str]:
    """The supported platforms, the host's first (the order smoke tests them in)."""
    here = host_platform()
    return [here, *(p for p in supported if p != here)]


def arch(platform: str) -> str:
    """`linux/arm64` -> `arm64`."""
    return platform.split("/", 1)[1].replace("/", "")


def parse(value: str) -> tuple[str, ...]:
    """The platforms of a `--platform` value (comma-separated; empty: the host's), checked
    and in the order given, without duplicates."""
    words = [w.strip() for w in value.split(",") if w.strip()]
    out: list[str] = []
    for word in words or [host_platform()]:
        if word not in SUPPORTED:
            raise UserError(
                f"unknown platform '{word}'; use one or more of {', '.join(SUPPORTED)} "
                "(comma-separated)"
            )
        if word not in out:
            out.append(word)
    return tuple(out)


def parse_one(value: str, *, what: str) -> str:
    """The one platform of a `--platform` value (default the host's); `what` names the task
    in the error for several (`smoke tests run on`)."""
    chosen = parse(value)
    if len(chosen) != 1:
        raise UserError(f"{what} one platform at a time, not {', '.join(chosen)}")
    return chosen[0]


def is_foreign(platform: str, *, host: str | None = None) -> bool:
    """Whether `platform` is not the build host's."""
    return platform != (host or host_platform())


def tag_suffix(platform: str, *, host: str | None = None) -> str:
    """The tag suffix of a platform's local refs: '' for the host's, else `-<arch>`."""
    return f"-{arch(platform)}" if is_foreign(platform, host=host) else ""


def qualify(ref: str, platform: str, *, host: str | None = None) -> str:
    """A ref of the host platform turned into `platform`'s local ref (tag + suffix)."""
    return ref + tag_suffix(platform, host=host)


def push_suffix(platform: str) -> str:
    """The tag suffix of a platform's image in a registry, next to a manifest list."""
    return f"-{arch(platform)}"


def emulation_problem(platform: str, *, binfmt: Path = BINFMT_DIR) -> str | None:
    """Why a foreign platform cannot run here (no enabled binfmt_misc entry), else None."""
    entry = _EMULATORS.get(arch(platform), f"qemu-{arch(platform)}")
    path = binfmt / entry
    try:
        enabled = path.read_text(encoding="utf-8").splitlines()[:1] == ["enabled"]
    except OSError:
        enabled = False
    if enabled:
        return None
    return (
        f"building for {platform} on this {host_platform()} host needs an emulator, but "
        f"{path} is not an enabled binfmt_misc entry; {INSTALL_HINT.format(entry=entry)}"
    )


def check_runnable(platforms: Sequence[str], *, binfmt: Path = BINFMT_DIR) -> None:
    """Fail with the package to install when a foreign platform has no emulator."""
    for platform in platforms:
        if is_foreign(platform):
            problem = emulation_problem(platform, binfmt=binfmt)
            if problem is not None:
                raise UserError(problem)


def runnable_notes(platforms: Iterable[str], *, binfmt: Path = BINFMT_DIR) -> list[str]:
    """For a plan, which runs nothing: a line per foreign platform this host cannot run yet."""
    return [
        f"not runnable here yet: {problem}"
        for platform in sorted(platforms)
        if is_foreign(platform) and (problem := emulation_problem(platform, binfmt=binfmt))
    ]


if __name__ == "__main__":  # `python -m kfimages.platforms`: scripts/test.sh's smoke legs
    print("\n".join(host_first()))
