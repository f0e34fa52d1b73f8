"""The few files of an image's file system that say which packages it holds, read out of a
tar stream of that file system (`kfimages.engine.exported_filesystem`, or a test's tar file).

Only the files the package parsers need are kept (kfimages.ship.packages reads them): dpkg's
status database and the packages' copyright files, os-release, the METADATA of every Python
distribution in any environment, every Node package's package.json, every R package's
DESCRIPTION. The stream is read once, front to back; the rest of the image is skipped.
"""

from __future__ import annotations

import logging
import posixpath
import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 4 << 20
"""A wanted file larger than this is skipped (no package metadata file comes close)."""

WANTED = re.compile(
    r"""^(?:
      var/lib/dpkg/status
    | var/lib/dpkg/status\.d/[^/]+
    | (?:etc|usr/lib)/os-release
    | usr/share/doc/[^/]+/copyright
    | (?:.*/)?(?:site|dist)-packages/[^/]+\.dist-info/METADATA
    | (?:.*/)?(?:site|dist)-packages/[^/]+\.egg-info(?:/PKG-INFO)?
    | (?:.*/)?node_modules/(?:@[^/]+/)?[^/@.][^/]*/package\.json
    | (?:.*/)?(?:site-)?library/[^/]+/DESCRIPTION
    )$""",
    re.VERBOSE,
)
"""Paths (relative to /, as `docker export` names them) of the files kept."""

LINKS = re.compile(r"^(?:usr/share/doc/[^/]+(?:/copyright)?|etc/os-release)$")
"""Symbolic links kept: a package's doc folder (or its copyright file) pointing at another
package's, os-release."""


@dataclass(frozen=True)
class FileTree:
    """The kept files of an image by path (relative to /, no leading slash) and the kept
    symbolic links (path -> target as stored)."""

    files: Mapping[str, bytes]
    links: Mapping[str, str]

    def read(self, path: str) -> bytes | None:
        """The content of `path`, following a kept link of it or of its parent folders."""
        for _ in range(8):  # links to links, never a loop
            if path in self.files:
                return self.files[path]
            resolved = self._resolve_once(path)
            if resolved is None:
                return None
            path = resolved
        return None

    def _resolve_once(self, path: str) -> str | None:
        parts = path.split("/")
        for end in range(len(parts), 0, -1):
            head = "/".join(parts[:end])
            if head in self.links:
                target = self.links[head]
                base = "" if target.startswith("/") else posixpath.dirname(head)
                joined = posixpath.normpath(posixpath.join("/", base, target)).lstrip("/")
                return "/".join([joined, *parts[end:]])
        return None

    def matching(self, pattern: re.Pattern[str]) -> list[str]:
        """The kept file paths that `pattern` matches (fullmatch), sorted."""
        return sorted(p for p in self.files if pattern.fullmatch(p))


def _name(member: tarfile.TarInfo) -> str:
    name = member.name
    while name.startswith(("./", "/")):
        name = name[2:] if name.startswith("./") else name[1:]
    return name.rstrip("/")


def read_tree(stream: IO[bytes]) -> FileTree:
    """Read the wanted files and links out of an uncompressed tar stream (read once)."""
    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            name = _name(member)
            if member.issym() and LINKS.match(name):
                links[name] = member.linkname
            elif not WANTED.match(name):
                continue
            elif member.isfile() and member.size <= MAX_FILE_BYTES:
                extracted = archive.extractfile(member)
                if extracted is not None:
                    files[name] = extracted.read()
            elif member.islnk():  # a hard link to a file read before (if it was wanted)
                target = _name(tarfile.TarInfo(member.linkname))
                if target in files:
                    files[name] = files[target]
                else:
                    log.debug("%s: hard link to %s, which was not kept", name, target)
    log.debug("image file system: %d files, %d links kept", len(files), len(links))
    return FileTree(files=files, links=links)
