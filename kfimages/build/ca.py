"""CA certificates of a build: trusted by its downloads (a BuildKit secret), or baked.

- **Build-time trust** (default): the build host's CA store plus `--ca-cert` files are
  written into one bundle that every build gets as the BuildKit secret `build-ca`; the
  Dockerfiles' downloading steps mount it (`RUN --mount=type=secret,id=build-ca ...
  with-build-ca pip install ...`). A secret is in no layer, label or history, and it is
  not an input of the image: a host's `ca-certificates` update rebuilds nothing.
- **Baked** (`--bake-ca`, opt-in): the files go into the named build context `ca-certs`,
  which base copies into the image's trust store; their digest is an input of every
  image and the label `io.kfimages.baked-ca`. Without them the context is empty.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterable
from pathlib import Path

from kfimages.errors import UserError

log = logging.getLogger(__name__)

HOST_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
"""The build host's CA store (Debian's bundle, with the local CAs update-ca-certificates
added from /usr/local/share/ca-certificates)."""
BUILD_CA_SECRET = "build-ca"


def _expand(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.glob("*.crt") if p.is_file())
        if not found:
            raise UserError(f"CA directory {path} holds no *.crt file")
        return found
    if path.is_file():
        return [path]
    raise UserError(f"CA certificate {path} does not exist (given by an option or its variable)")


def collect_ca_files(given: Iterable[str], *, default: Iterable[str] = ()) -> list[Path]:
    """The CA files named by `--ca-cert` (files or directories), else by `default`
    (Settings.ca_cert, i.e. $KFIMAGES_CA_CERT)."""
    entries = [g for g in given if g] or [d for d in default if d]
    files: list[Path] = []
    for entry in entries:
        for path in _expand(Path(entry).expanduser()):
            text = path.read_text(encoding="utf-8", errors="replace")
            if "BEGIN CERTIFICATE" not in text:
                raise UserError(f"CA file {path} is not a PEM certificate (no BEGIN CERTIFICATE)")
            if path.resolve() not in {f.resolve() for f in files}:
                files.append(path)
    return files


def fill_ca_dir(files: Iterable[Path], *, target: Path) -> None:
    """Copy the CA files into `target` as `<n>-<stem>.crt` (update-ca-certificates wants .crt)."""
    target.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(files):
        shutil.copyfile(path, target / f"{index:02d}-{path.stem}.crt")


def ca_digest(files: Iterable[Path]) -> str:
    """A hash of the CA certificates' content (part of every image's input digest)."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def write_build_bundle(extra: Iterable[Path], *, host_bundle: Path, target: Path) -> Path | None:
    """The host's CA store plus `extra`, as one PEM file for the `build-ca` secret; None
    when there is neither."""
    parts = [host_bundle] if host_bundle.is_file() else []
    parts += list(extra)
    if not parts:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        for path in parts:
            data = path.read_bytes()
            out.write(data if data.endswith(b"\n") else data + b"\n")
    target.chmod(0o644)
    return target
