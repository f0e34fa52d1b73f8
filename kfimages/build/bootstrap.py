"""The OS image that the root image builds FROM: local, pulled, or made with debootstrap.

Without a reachable registry (air-gapped hosts), `debootstrap --variant=minbase`
plus `docker import` creates the image under the very name the Dockerfile asks for.
Nothing is substituted silently: every path logs which image is used and where it
came from. debootstrap checks the archive's signatures with Debian's keyring, or the
bootstrap fails; the image is labelled with its origin (suite, mirror, date). `refresh`
re-creates a local OS image (pull, else debootstrap), and `describe` tells its age, so that
an old local OS image does not pin old packages unnoticed.

Another platform than the host's (`platform="linux/arm64"`) gets its own local ref, the OS
image's name with the tag suffix `-<arch>` (`debian:trixie-slim-arm64`, kfimages.platforms):
the one exception to the exact name. It is local or bootstrapped (`debootstrap --arch`, both
stages through QEMU), never pulled: a pull of another platform would replace the host's
image under the same tag. With a registry, pull it and tag it under that name yourself.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kfimages import engine, platforms
from kfimages.build import enginelock
from kfimages.errors import UserError
from kfimages.repo.graph import Graph
from kfimages.settings import (
    DEFAULT_MIRROR,
    mask_credentials,
    refuse_credentials,
    strip_credentials,
)

log = logging.getLogger(__name__)

DEFAULT_OS_IMAGE = "debian:trixie-slim"
PULL_TIMEOUT_S = 60.0
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
"""Debian's archive keyring on the build host (package debian-archive-keyring): debootstrap
verifies the Release files with it."""
LABEL_PREFIX = "io.kfimages.os."
"""Labels of a bootstrapped OS image: `<prefix>suite`, `<prefix>mirror`, `<prefix>date`."""
MAX_AGE_DAYS = 30
"""An OS image older than this (or of unknown age) gets REFRESH_HINT in the build's summary."""
REFRESH_HINT = "refresh it: invoke build --refresh (or invoke bootstrap --refresh)"
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


def os_image_of(graph: Graph, *, given: str = "", platform: str) -> str:
    """The OS image `invoke bootstrap` makes: `given` (--os-image), else the parent of the
    repository's root images (one for all of them), as `platform`'s local ref (its tag gets
    `-<arch>` on another platform than the host's)."""
    if not given:
        roots = sorted({i.parent for i in graph.roots()}) or [DEFAULT_OS_IMAGE]
        if len(roots) > 1:
            raise UserError(f"several OS images in use ({', '.join(roots)}); pass --os-image")
        given = roots[0]
    return platforms.qualify(given, platform)


def make_available(
    ref: str, *, force: bool, refresh: bool, suite: str | None, mirror: str, platform: str
) -> OsImage:
    """`invoke bootstrap`: re-create with debootstrap (`force`), refresh (pull, else
    debootstrap), or ensure (local, else pulled, else debootstrap)."""
    options: dict[str, Any] = {"suite": suite, "mirror": mirror, "platform": platform}
    if force:
        return bootstrap_os_image(ref=ref, **options)
    return ensure_os_image(ref, refresh=refresh, **options)


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


def check_keyring(keyring: Path) -> None:
    """Fail (instead of bootstrapping unverified) when Debian's archive keyring is missing."""
    if not keyring.is_file():
        raise UserError(
            f"Debian's archive keyring {keyring} is missing, so debootstrap could not verify "
            "what it downloads; install it: apt-get install debian-archive-keyring"
        )


def debootstrap_command(
    *, suite: str, target: Path, mirror: str, keyring: Path, platform: str = ""
) -> list[str]:
    """debootstrap verifying every Release file with `keyring` (never unverified); with a
    platform, for its architecture (`--arch=arm64`)."""
    arch = [f"--arch={platforms.arch(platform)}"] if platform else []
    return [
        "debootstrap", "--variant=minbase", *arch, "--force-check-gpg", f"--keyring={keyring}",
        suite, str(target), mirror,
    ]  # fmt: skip


def _debootstrap(
    *, suite: str, target: Path, mirror: str, keyring: Path = KEYRING, platform: str = ""
) -> None:
    if shutil.which("debootstrap") is None:
        raise UserError("debootstrap is not installed; run: bash scripts/install-docker.sh")
    if os.geteuid() != 0:
        raise UserError("debootstrap needs root; run `invoke bootstrap` as root")
    check_keyring(keyring)
    cmd = debootstrap_command(
        suite=suite, target=target, mirror=mirror, keyring=keyring, platform=platform
    )
    log.info("running %s", mask_credentials(" ".join(cmd)))
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["(no output)"]
        raise UserError(mask_credentials(f"debootstrap {suite} from {mirror} failed: {tail[0]}"))


def _trim(root: Path) -> None:
    for rel in _TRIM:
        path = root / rel
        if path.is_dir():
            for child in path.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()


def origin_labels(*, suite: str, mirror: str, date: str) -> dict[str, str]:
    """The labels that say where a bootstrapped OS image came from (the mirror without its
    credentials: labels are public)."""
    return {
        f"{LABEL_PREFIX}suite": suite,
        f"{LABEL_PREFIX}mirror": strip_credentials(mirror),
        f"{LABEL_PREFIX}date": date,
    }


def import_changes(labels: Mapping[str, str]) -> list[str]:
    """`docker import --change` arguments: the image's ENV and CMD, and `labels` (none may
    carry a credential)."""
    refuse_credentials(labels)
    label_changes = [f'LABEL {key}="{value}"' for key, value in sorted(labels.items())]
    return [arg for change in (*_CHANGES, *label_changes) for arg in ("--change", change)]


def _import(
    *, root: Path, ref: str, suite: str, labels: Mapping[str, str], platform: str = ""
) -> None:
    changes = import_changes(labels)
    if platform:
        changes += ["--platform", platform]
    message = f"debootstrap --variant=minbase {suite} (kfimages bootstrap)"
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE
    )
    assert tar.stdout is not None
    try:
        with tar.stdout:
            engine.import_image(ref=ref, changes=changes, message=message, stdin=tar.stdout)
    except UserError as exc:
        raise UserError(f"the import of the {suite} root file system failed: {exc}") from None
    finally:
        tar.wait()
    if tar.returncode != 0:
        raise UserError(f"tar of the {suite} root file system failed (exit {tar.returncode})")


def bootstrap_os_image(
    *, ref: str, suite: str | None = None, mirror: str | None = None, platform: str = ""
) -> OsImage:
    """Create `ref` from scratch with debootstrap + docker import (replaces a local `ref`);
    with `platform`, for that platform (through QEMU when it is not the host's)."""
    suite = suite or suite_for(ref)
    mirror = mirror or DEFAULT_MIRROR
    started = time.monotonic()
    date = datetime.now(UTC).isoformat(timespec="seconds")
    labels = origin_labels(suite=suite, mirror=mirror, date=date)
    with tempfile.TemporaryDirectory(prefix="kfimages-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        _debootstrap(suite=suite, target=root, mirror=mirror, platform=platform)
        _trim(root)
        _import(root=root, ref=ref, suite=suite, labels=labels, platform=platform)
    data = engine.inspect_image(ref)
    if data is None:
        raise UserError(f"docker import reported success but {ref} is not in the engine")
    log.info(
        "OS image %s: bootstrapped with debootstrap %s from %s in %.0fs (%s, %.0f MB)",
        ref, suite, mask_credentials(mirror), time.monotonic() - started, data["Id"][:19],
        data["Size"] / 1e6,
    )  # fmt: skip
    return OsImage(ref=ref, origin="bootstrapped", image_id=str(data["Id"]))


def _pull(ref: str, *, platform: str) -> tuple[bool, str]:
    """Pull `ref` for the host's platform; another platform's OS image is never pulled."""
    if platform and platforms.is_foreign(platform):
        return False, f"an OS image for {platform} is not pulled (it would replace the host's)"
    return engine.pull(ref, timeout=PULL_TIMEOUT_S)


def ensure_os_image(
    ref: str,
    *,
    refresh: bool = False,
    suite: str | None = None,
    allow_bootstrap: bool = True,
    mirror: str | None = None,
    platform: str = "",
) -> OsImage:
    """Use `ref` if it is local (unless `refresh`), else pull it (host platform only), else
    bootstrap it; log which and why. `refresh` re-creates it whether or not it is local: a
    root image built FROM it then gets a new parent digest and is rebuilt. Holds the OS
    image's lock (kfimages.build.enginelock): one build finds, pulls or creates it at a time."""
    with enginelock.os_image_lock(ref):
        return _ensure(
            ref, refresh=refresh, suite=suite, allow_bootstrap=allow_bootstrap, mirror=mirror,
            platform=platform,
        )  # fmt: skip


def _ensure(
    ref: str,
    *,
    refresh: bool,
    suite: str | None,
    allow_bootstrap: bool,
    mirror: str | None,
    platform: str,
) -> OsImage:
    old = engine.inspect_image(ref)
    if old is not None and not refresh:
        log.info("OS image %s: local (%s)", ref, str(old["Id"])[:19])
        return OsImage(ref=ref, origin="local", image_id=str(old["Id"]))
    ok, detail = _pull(ref, platform=platform)
    data = engine.inspect_image(ref) if ok else None
    if data is not None:
        same = refresh and old is not None and old["Id"] == data["Id"]
        log.info(
            "OS image %s: pulled (%s)%s", ref, str(data["Id"])[:19], ", unchanged" if same else ""
        )
        return OsImage(ref=ref, origin="pulled", image_id=str(data["Id"]))
    if not allow_bootstrap:
        if refresh:
            raise UserError(
                f"cannot refresh OS image {ref}: not pullable ({detail}) and no bootstrap"
            )
        raise UserError(
            f"OS image {ref} is neither local nor pullable ({detail}); run: invoke bootstrap"
        )
    if refresh:
        log.info("OS image %s: refreshing with debootstrap (not pullable: %s)", ref, detail)
    else:
        log.info(
            "OS image %s is neither local nor pullable (%s): creating it with debootstrap "
            "(invoke bootstrap)", ref, detail or "pull failed",
        )  # fmt: skip
    return bootstrap_os_image(ref=ref, suite=suite, mirror=mirror, platform=platform)


def _created(value: str) -> datetime | None:
    """Docker's `Created` (RFC 3339 with nanoseconds) as a UTC datetime."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)", value)
    if match is None:
        return None
    return datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(seconds, 0) / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def describe(ref: str, data: Mapping[str, Any], *, now: datetime) -> str:
    """One line: the OS image's ID, when it was created and how old it is, where a
    bootstrapped one came from, and a hint to refresh it when older than MAX_AGE_DAYS."""
    created = _created(str(data.get("Created", "")))
    labels = (data.get("Config") or {}).get("Labels") or {}
    line = f"OS image {ref} ({str(data.get('Id', ''))[:19]}): "
    if created is None:
        line += "creation date unknown"
    else:
        seconds = (now - created).total_seconds()
        line += f"created {created:%Y-%m-%d %H:%M} UTC, {_age(seconds)} old"
    if f"{LABEL_PREFIX}suite" in labels:
        line += (
            f"; debootstrap {labels[f'{LABEL_PREFIX}suite']} from "
            f"{labels.get(f'{LABEL_PREFIX}mirror', '?')}"
        )
    if created is None or (now - created).days > MAX_AGE_DAYS:
        line += f"; {REFRESH_HINT}"
    return line


def describe_local(ref: str, *, now: datetime | None = None) -> str:
    """`describe` of the local image `ref` (or that it is missing)."""
    data = engine.inspect_image(ref)
    if data is None:
        return f"OS image {ref}: not local"
    return describe(ref, data, now=now or datetime.now(UTC))
