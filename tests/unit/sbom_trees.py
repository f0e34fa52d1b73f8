"""Small image file systems for the SBOM tests: files (and links) written into a real folder,
packed into a real tar stream as `docker export` writes one (paths relative to /)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from pathlib import Path

from kfimages.ship.imagefs import FileTree, read_tree


def dpkg_status(*packages: tuple[str, str, str], extra: str = "") -> str:
    """A dpkg status database of installed (name, version, arch) packages, plus `extra`."""
    paragraphs = [
        f"Package: {name}\nStatus: install ok installed\nPriority: optional\n"
        f"Architecture: {arch}\nVersion: {version}\nDescription: {name}\n the {name} package\n"
        for name, version, arch in packages
    ]
    return "\n".join([*paragraphs, extra]).rstrip() + "\n"


def dist_info(name: str, version: str, *headers: str) -> str:
    """A METADATA file of a Python distribution."""
    lines = ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}", *headers]
    return "\n".join(lines) + "\n\nThe long description.\nLicense: not a header\n"


def write_tree(
    root: Path, files: Mapping[str, str | bytes], links: Mapping[str, str] | None = None
) -> Path:
    """Write `files` (path -> content) and symbolic `links` (path -> target) under `root`."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    for rel, target in (links or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
    return root


def tar_of(root: Path) -> io.BytesIO:
    """The folder as an uncompressed tar stream, members named like docker export's."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        for path in sorted(root.rglob("*")):
            archive.add(path, arcname=path.relative_to(root).as_posix(), recursive=False)
    data.seek(0)
    return data


def tree_of(
    tmp_path: Path, files: Mapping[str, str | bytes], links: Mapping[str, str] | None = None
) -> FileTree:
    """write_tree + tar_of + read_tree: what the SBOM reads of such an image."""
    root = write_tree(tmp_path / "rootfs", files, links)
    return read_tree(tar_of(root))
