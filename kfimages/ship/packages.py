"""The packages an image holds, parsed from the files of its own file system (a FileTree of
kfimages.ship.imagefs): Debian packages (dpkg's status database), Python distributions of
every environment (`*/site-packages`, `*/dist-packages`: `*.dist-info/METADATA`, `*.egg-info`),
Node packages (`node_modules/**/package.json`, code-server's tree among them) and R packages
(`*/library/*/DESCRIPTION`), each with its package URL (purl) and the license it states.
"""

from __future__ import annotations

import json
import logging
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.parser import HeaderParser
from typing import Any

from packageurl import PackageURL

from kfimages.ship.imagefs import FileTree

log = logging.getLogger(__name__)

DEB, PYPI, NPM, CRAN = "deb", "pypi", "npm", "cran"
"""The ecosystems, named as their purl types."""

DPKG_STATUS = "var/lib/dpkg/status"
_DPKG_STATUS_D = re.compile(r"var/lib/dpkg/status\.d/[^/]+")
_PYTHON = re.compile(
    r"(?:.*/)?(?:site|dist)-packages/[^/]+(?:\.dist-info/METADATA|\.egg-info(?:/PKG-INFO)?)"
)
_NODE = re.compile(r"(?:.*/)?node_modules/(?:@[^/]+/)?[^/@.][^/]*/package\.json")
_R = re.compile(r"(?:.*/)?(?:site-)?library/[^/]+/DESCRIPTION")
_DEP5_FORMAT = "copyright-format"
_DEP5_GPL = re.compile(r"(A|L)?GPL-(\d)(?:\.(\d))?(\+)?")
_DEP5_NAMES = {"Expat": "MIT", "Apache-2": "Apache-2.0", "BSD-3-clause": "BSD-3-Clause",
               "BSD-2-clause": "BSD-2-Clause"}  # fmt: skip
_MAX_LICENSE = 100


@dataclass(frozen=True)
class Package:
    """One installed package: its ecosystem (purl type), name and version as the package
    states them, its purl, its license ("" when it states none) and where its metadata
    lives in the image (a folder or file path, no leading slash)."""

    ecosystem: str
    name: str
    version: str
    purl: str
    license: str = ""
    location: str = ""


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def parse_control(text: str) -> list[dict[str, str]]:
    """The paragraphs of a Debian control-style file (dpkg status, DEP-5 copyright, R's
    DESCRIPTION): `Field: value` lines, continuation lines indented, blank lines between."""
    paragraphs: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                paragraphs.append(current)
            current, key = {}, ""
        elif line[0] in " \t":
            if key:
                current[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip()
            current[key] = value.strip()
    if current:
        paragraphs.append(current)
    return paragraphs


def pep503_name(name: str) -> str:
    """A Python distribution's name normalised as PEP 503 says (`Foo.Bar_baz` -> `foo-bar-baz`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _purl(ecosystem: str, name: str, version: str, **qualifiers: str) -> str:
    namespace = None
    if ecosystem == DEB:
        namespace = "debian"
    elif ecosystem == NPM and name.startswith("@") and "/" in name:
        namespace, name = name.split("/", 1)
    elif ecosystem == PYPI:
        name = pep503_name(name)
    purl = PackageURL(type=ecosystem, namespace=namespace, name=name, version=version,
                      qualifiers=qualifiers or None)  # fmt: skip
    return str(purl.to_string())


def dep5_license(text: str) -> str:
    """The license of a machine-readable debian/copyright file (its header's `License`, else
    the one of its `Files: *` paragraph), Debian's short names turned into SPDX ones where
    they differ (`GPL-2+` -> `GPL-2.0-or-later`, `or` -> `OR`); "" for another format or
    none stated."""
    paragraphs = parse_control(text)
    if not paragraphs or _DEP5_FORMAT not in paragraphs[0].get("Format", ""):
        return ""
    stated = paragraphs[0].get("License", "")
    if not stated:
        every = [p for p in paragraphs[1:] if p.get("Files", "").split()[:1] == ["*"]]
        stated = every[0].get("License", "") if every else ""
    short = stated.split("\n", 1)[0].strip()
    return " OR ".join(_spdx_of_dep5(part) for part in short.split(" or ") if part.strip())


def _spdx_of_dep5(name: str) -> str:
    name = name.strip()
    if match := _DEP5_GPL.fullmatch(name):
        family, major, minor, later = match.groups()
        return f"{family or ''}GPL-{major}.{minor or 0}-{'or-later' if later else 'only'}"
    return _DEP5_NAMES.get(name, name)


def debian_packages(tree: FileTree) -> list[Package]:
    """The installed Debian packages of dpkg's status database (and status.d, as distroless
    images keep it), with the license of their machine-readable copyright file."""
    sources = [p for p in [DPKG_STATUS, *tree.matching(_DPKG_STATUS_D)] if p in tree.files]
    found = []
    for source in sources:
        for fields in parse_control(_text(tree.files[source])):
            status = fields.get("Status", "install ok installed").split()
            name, version = fields.get("Package", ""), fields.get("Version", "")
            if status[-1:] != ["installed"] or not name or not version:
                continue
            arch = fields.get("Architecture", "")
            copyright_file = tree.read(f"usr/share/doc/{name}/copyright")
            found.append(Package(
                ecosystem=DEB, name=name, version=version,
                purl=_purl(DEB, name, version, **({"arch": arch} if arch else {})),
                license=dep5_license(_text(copyright_file)) if copyright_file else "",
                location=source,
            ))  # fmt: skip
    return found


def python_license(headers: Any) -> str:
    """A distribution's license: `License-Expression` (PEP 639), else a short one-line
    `License`, else the one `License ::` classifier; "" when it states none."""
    expression = str(headers.get("License-Expression") or "").strip()
    if expression:
        return expression
    text = str(headers.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= _MAX_LICENSE and text.upper() != "UNKNOWN":
        return text
    classifiers = [str(c) for c in headers.get_all("Classifier") or []]
    named = {c.rsplit("::", 1)[1].strip() for c in classifiers if c.startswith("License ::")}
    named.discard("OSI Approved")
    return named.pop() if len(named) == 1 else ""


def python_packages(tree: FileTree) -> list[Package]:
    """Every Python distribution of every environment in the image (METADATA / PKG-INFO)."""
    found = []
    for path in tree.matching(_PYTHON):
        headers = HeaderParser().parsestr(_text(tree.files[path]), headersonly=True)
        name, version = str(headers.get("Name") or ""), str(headers.get("Version") or "")
        if not name.strip() or not version.strip():
            continue
        name, version = name.strip(), version.strip()
        meta = posixpath.dirname(path) if path.endswith(("/METADATA", "/PKG-INFO")) else path
        found.append(Package(ecosystem=PYPI, name=name, version=version,
                             purl=_purl(PYPI, name, version), license=python_license(headers),
                             location=posixpath.dirname(meta)))  # fmt: skip
    return found


def npm_license(manifest: dict[str, Any]) -> str:
    """A package.json's `license` (a string, or the old `{type}` and `licenses: [{type}]`)."""
    stated = manifest.get("license")
    if isinstance(stated, dict):
        stated = stated.get("type")
    if isinstance(stated, str):
        return stated.strip()
    old = manifest.get("licenses")
    if isinstance(old, list):
        types = [str(x.get("type")) for x in old if isinstance(x, dict) and x.get("type")]
        return " OR ".join(types)
    return ""


def npm_packages(tree: FileTree) -> list[Package]:
    """Every Node package of every node_modules folder (code-server's tree among them)."""
    found = []
    for path in tree.matching(_NODE):
        try:
            manifest = json.loads(_text(tree.files[path]))
        except ValueError:
            log.debug("%s: not JSON, skipped", path)
            continue
        if not isinstance(manifest, dict):
            continue
        name, version = manifest.get("name"), manifest.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
            continue
        found.append(Package(ecosystem=NPM, name=name, version=version,
                             purl=_purl(NPM, name, version), license=npm_license(manifest),
                             location=posixpath.dirname(path)))  # fmt: skip
    return found


def r_packages(tree: FileTree) -> list[Package]:
    """Every R package of every library (its installed DESCRIPTION)."""
    found = []
    for path in tree.matching(_R):
        paragraphs = parse_control(_text(tree.files[path]))
        fields = paragraphs[0] if paragraphs else {}
        name, version = fields.get("Package", ""), fields.get("Version", "")
        if not name or not version:
            continue
        found.append(Package(ecosystem=CRAN, name=name, version=version,
                             purl=_purl(CRAN, name, version),
                             license=" ".join(fields.get("License", "").split()),
                             location=posixpath.dirname(posixpath.dirname(path))))  # fmt: skip
    return found


def find_packages(tree: FileTree) -> list[Package]:
    """Every package of the image, by ecosystem (deb, pypi, npm, cran), then name, version
    and location; an exact duplicate (the same files seen twice) once."""
    every: Iterable[Package] = [
        *debian_packages(tree), *python_packages(tree), *npm_packages(tree), *r_packages(tree),
    ]  # fmt: skip
    order = {DEB: 0, PYPI: 1, NPM: 2, CRAN: 3}
    return sorted(set(every), key=lambda p: (order[p.ecosystem], p.name.lower(), p.version,
                                             p.location))  # fmt: skip
