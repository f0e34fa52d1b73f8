"""Extra CA certificates handed to the build as the named build context `ca-certs`.

The base image copies `*.crt` from that context into its trust store. Without any
CA the context is an empty directory, so nothing of the host goes into an image.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterable
from pathlib import Path

from kfimages.errors import UserError

log = logging.getLogger(__name__)

CA_ENV = "KFIMAGES_CA_CERT"
"""Where the default CA entries come from (kfimages.settings reads it)."""


def _expand(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.glob("*.crt") if p.is_file())
        if not found:
            raise UserError(f"CA directory {path} holds no *.crt file")
        return found
    if path.is_file():
        return [path]
    raise UserError(f"CA certificate {path} does not exist (given by --ca-cert or ${CA_ENV})")


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
