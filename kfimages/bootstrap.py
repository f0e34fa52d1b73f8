"""The OS image that the root image builds FROM: local, pulled, or made with debootstrap.

Without a reachable registry (air-gapped hosts), `debootstrap --variant=minbase`
plus `docker import` creates the image under the very name the Dockerfile asks for.
Nothing is substituted silently: every path logs which image is used and where it
came from.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kfimages import docker_env
from kfimages.errors import UserError
from kfimages.settings import DEFAULT_MIRROR

log = logging.getLogger(__name__)

DEFAULT_OS_IMAGE = "debian:trixie-slim"
PULL_TIMEOUT_S = 60.0
KNOWN_SUITES = ("bookworm", "trixie", "forky", "sid", "unstable", "testing", "stable")
_TRIM = (
    "var/lib/apt/lists",
    "var/cache/apt",
    "var/cache/debconf/templates.dat-old",
    "var/log",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
)
_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["bash"]',
)


@dataclass(frozen=True)
class OsImage:
    """The OS image in use and where it came from: `local`, `pulled` or `bootstrapped`."""

    ref: str
    origin: str
    image_id: str


def suite_for(ref: str) -> str:
    """The Debian suite of an OS image ref: `debian:trixie-slim` -> `trixie`."""
    tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else ""
    suite = tag.split("-", 1)[0]
    if suite not in KNOWN_SUITES:
        raise UserError(
            f"cannot tell the Debian suite of OS image '{ref}'; pass it with --suite "
            f"(one of {', '.join(KNOWN_SUITES)})"
        )
    return suite


def _debootstrap(*, suite: str, target: Path, mirror: str) -> None:
    if shutil.which("debootstrap") is None:
        raise UserError("debootstrap is not installed; run: bash scripts/install-docker.sh")
    if os.geteuid() != 0:
        raise UserError("debootstrap needs root; run `invoke bootstrap` as root")
    cmd = ["debootstrap", "--variant=minbase", suite, str(target), mirror]
    log.info("running %s", " ".join(cmd))
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["(no output)"]
        raise UserError(f"debootstrap {suite} from {mirror} failed: {tail[0]}")


def _trim(root: Path) -> None:
    for rel in _TRIM:
        path = root / rel
        if path.is_dir():
            for child in path.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()


def _import(*, root: Path, ref: str, suite: str) -> None:
    changes = [arg for change in _CHANGES for arg in ("--change", change)]
    message = f"debootstrap --variant=minbase {suite} (kfimages bootstrap)"
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE
    )
    done = subprocess.run(
        ["docker", "import", *changes, "--message", message, "-", ref],
        stdin=tar.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    if tar.stdout is not None:
        tar.stdout.close()
    if tar.wait() != 0 or done.returncode != 0:
        raise UserError(
            f"docker import of the {suite} root file system failed: {done.stderr.strip()}"
        )


def bootstrap_os_image(*, ref: str, suite: str | None = None, mirror: str | None = None) -> OsImage:
    """Create `ref` from scratch with debootstrap + docker import (replaces a local `ref`)."""
    suite = suite or suite_for(ref)
    mirror = mirror or DEFAULT_MIRROR
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kfimages-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        _debootstrap(suite=suite, target=root, mirror=mirror)
        _trim(root)
        _import(root=root, ref=ref, suite=suite)
    data = docker_env.inspect_image(ref)
    if data is None:
        raise UserError(f"docker import reported success but {ref} is not in the engine")
    log.info(
        "OS image %s: bootstrapped with debootstrap %s from %s in %.0fs (%s, %.0f MB)",
        ref, suite, mirror, time.monotonic() - started, data["Id"][:19], data["Size"] / 1e6,
    )  # fmt: skip
    return OsImage(ref=ref, origin="bootstrapped", image_id=str(data["Id"]))


def ensure_os_image(
    ref: str, *, suite: str | None = None, allow_bootstrap: bool = True, mirror: str | None = None
) -> OsImage:
    """Use `ref` if it is local, else pull it, else bootstrap it; log which and why."""
    data = docker_env.inspect_image(ref)
    if data is not None:
        log.info("OS image %s: local (%s)", ref, str(data["Id"])[:19])
        return OsImage(ref=ref, origin="local", image_id=str(data["Id"]))
    ok, detail = docker_env.pull(ref, timeout=PULL_TIMEOUT_S)
    data = docker_env.inspect_image(ref) if ok else None
    if data is not None:
        log.info("OS image %s: pulled (%s)", ref, str(data["Id"])[:19])
        return OsImage(ref=ref, origin="pulled", image_id=str(data["Id"]))
    if not allow_bootstrap:
        raise UserError(
            f"OS image {ref} is neither local nor pullable ({detail}); run: invoke bootstrap"
        )
    log.info(
        "OS image %s is neither local nor pullable (%s): creating it with debootstrap "
        "(invoke bootstrap)", ref, detail or "pull failed",
    )  # fmt: skip
    return bootstrap_os_image(ref=ref, suite=suite, mirror=mirror)
