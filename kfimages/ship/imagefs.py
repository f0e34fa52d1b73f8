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
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
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
    """The kept files of an image by path (relative to /, no leading slash), the kept
    symbolic links (path -> target as stored) and the wanted files that are hard links to a
    file the stream had before and that was not kept (path -> that file: `with_hard_links`
    reads them from a second stream)."""

    files: Mapping[str, bytes]
    links: Mapping[str, str]
    hard_links: Mapping[str, str] = field(default_factory=dict)

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

    def with_hard_links(self, stream: IO[bytes]) -> FileTree:
        """This tree with its unresolved hard links read from another stream of the image."""
        targets = read_tree(stream, also=set(self.hard_links.values()))
        found = {n: targets.files[t] for n, t in self.hard_links.items() if t in targets.files}
        return FileTree(files={**self.files, **found}, links=self.links)

    def matching(self, pattern: re.Pattern[str]) -> list[str]:
        """The kept file paths that `pattern` matches (fullmatch), sorted."""
        return sorted(p for p in self.files if pattern.fullmatch(p))


def _name(member: tarfile.TarInfo) -> str:
    name = member.name
    while name.startswith(("./", "/")):
        name = name[2:] if name.startswith("./") else name[1:]
    return name.rstrip("/")


def read_tree(stream: IO[bytes], *, also: Collection[str] = ()) -> FileTree:
    """Read the wanted files (and the files `also` names) and links out of an uncompressed
    tar stream (read once)."""
    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    hard_links: dict[str, str] = {}
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            name = _name(member)
            if member.issym() and LINKS.match(name):
                links[name] = member.linkname
            elif not WANTED.match(name) and name not in also:
                continue
            elif member.isfile() and member.size <= MAX_FILE_BYTES:
                extracted = archive.extractfile(member)
                if extracted is not None:
                    files[name] = extracted.read()
            elif member.islnk():  # a hard link to a file the stream had before
                target = _name(tarfile.TarInfo(member.linkname))
                if target in files:
                    files[name] = files[target]
                else:
                    hard_links[name] = target
    log.debug("image file system: %d files, %d links kept, %d hard links to read again",
              len(files), len(links), len(hard_links))  # fmt: skip
    return FileTree(files=files, links=links, hard_links=hard_links)
