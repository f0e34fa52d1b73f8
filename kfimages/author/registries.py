"""The registries a pin's releases are read from: PyPI's project JSON, the npm registry's
package documents and Posit's "latest" download redirect.

Every request goes through urllib with the host's CA store (where Debian keeps a
TLS-intercepting proxy's CA) plus `$KFIMAGES_CA_CERT`, and honours the proxy variables. A
source that cannot be reached raises `Unreachable` (`invoke outdated` reports it as unknown);
an answer without the version asked for is a `UserError` naming the newest one.
"""

from __future__ import annotations

import json
import logging
import posixpath
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from kfimages.build.ca import collect_ca_files
from kfimages.errors import UserError
from kfimages.settings import mask_credentials
from kfimages.ship import versions

log = logging.getLogger(__name__)

PYPI_JSON = "https://pypi.org/pypi/{project}/json"
NPM_DOC = "https://registry.npmjs.org/{package}/{version}"
PYPI_FILES = "https://files.pythonhosted.org/packages/{b2a}/{b2b}/{b2rest}/{filename}"
"""A file's canonical URL on PyPI's file host, from its blake2b-256 digest (what PyPI's own
links are made of; a mirror's JSON may give relative links)."""
POSIT_LATEST = (
    "https://rstudio.org/download/latest/stable/server/{distro}/{product}-latest-{arch}.deb"
)
"""Posit's redirect to the newest stable RStudio Server build of a distribution."""
TIMEOUT_S = 20.0
PYPI_INDEX = "https://pypi.org/simple"
_POSIT_PATH = re.compile(r"/server/(?P<distro>[^/]+)/(?P<arch>[^/]+)/(?P<product>[a-z-]+?)-\d")
_POSIT_VERSION = re.compile(r"-(\d{4}\.\d+\.\d+)[-+](\d+)(?:[-.]|$)")


class Unreachable(Exception):
    """A registry that does not answer (network, TLS, HTTP 5xx): the message says which."""


@dataclass(frozen=True)
class ReleaseFile:
    """One file of a PyPI release."""

    filename: str
    url: str
    sha256: str


@dataclass(frozen=True)
class Project:
    """A PyPI project: its releases (version -> files, yanked ones left out)."""

    name: str
    releases: Mapping[str, tuple[ReleaseFile, ...]]

    @property
    def newest(self) -> str:
        """The newest release that is no pre-release (else the newest of all), "" for none."""
        found = [v for v, files in self.releases.items() if files]
        final = [v for v in found if not versions.is_pre_release("pypi", v)] or found
        return max_version(final)

    def files(self, version: str) -> tuple[ReleaseFile, ...]:
        if version not in self.releases or not self.releases[version]:
            raise UserError(
                f"PyPI has no release {version} of {self.name} (newest: {self.newest}); "
                "pass an existing version with --to"
            )
        return self.releases[version]


def max_version(found: Iterable[str], *, ecosystem: str = "pypi") -> str:
    best = ""
    for version in found:
        if not best or versions.compare(ecosystem, version, best) > 0:
            best = version
    return best


@cache
def _context(extra: tuple[str, ...]) -> ssl.SSLContext:
    context = ssl.create_default_context()  # the host's store (and $SSL_CERT_FILE)
    for path in collect_ca_files((), default=extra):
        context.load_verify_locations(cafile=str(path))
    return context


def fetch(url: str, *, ca_cert: Sequence[str] = (), method: str = "GET") -> tuple[str, bytes]:
    """(final URL after redirects, body) of `url`; Unreachable when the server does not
    answer or fails (5xx), a UserError-free HTTPError (4xx) otherwise."""
    request = urllib.request.Request(url, method=method, headers={"Accept": "application/json"})
    log.debug("%s %s", method, url)
    try:
        with urllib.request.urlopen(
            request, timeout=TIMEOUT_S, context=_context(tuple(ca_cert))
        ) as response:
            return str(response.geturl()), response.read()
    except urllib.error.HTTPError as exc:
        if exc.code >= 500:
            raise Unreachable(f"{mask_credentials(url)} answered HTTP {exc.code}") from None
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unreachable(f"cannot reach {mask_credentials(url)}: {reason}") from None


def fetch_json(url: str, *, ca_cert: Sequence[str] = ()) -> Any:
    _, body = fetch(url, ca_cert=ca_cert)
    try:
        return json.loads(body)
    except ValueError:
        raise Unreachable(f"{mask_credentials(url)} did not answer JSON") from None


def canonical_url(entry: Mapping[str, Any]) -> str:
    """The files.pythonhosted.org URL of a file entry of PyPI's JSON (from its blake2b-256
    digest; its own `url` when the digest is missing)."""
    b2 = str((entry.get("digests") or {}).get("blake2b_256") or "")
    if len(b2) < 8:
        return str(entry.get("url", ""))
    return PYPI_FILES.format(b2a=b2[:2], b2b=b2[2:4], b2rest=b2[4:], filename=entry["filename"])


def parse_project(name: str, doc: Mapping[str, Any]) -> Project:
    """A Project from PyPI's `/pypi/<project>/json` document."""
    releases: dict[str, tuple[ReleaseFile, ...]] = {}
    for version, entries in (doc.get("releases") or {}).items():
        releases[version] = tuple(
            ReleaseFile(e["filename"], canonical_url(e), e["digests"]["sha256"])
            for e in entries
            if not e.get("yanked") and e.get("digests", {}).get("sha256")
        )
    return Project(name=name, releases=releases)


def pypi_project(name: str, *, index_url: str = PYPI_INDEX, ca_cert: Sequence[str] = ()) -> Project:
    """The PyPI project `name`; Unreachable for another index (no JSON API known)."""
    if index_url.rstrip("/") != PYPI_INDEX:
        raise Unreachable(f"{index_url} is not PyPI: its releases cannot be read here")
    url = PYPI_JSON.format(project=urllib.parse.quote(name))
    try:
        return parse_project(name, fetch_json(url, ca_cert=ca_cert))
    except urllib.error.HTTPError as exc:
        raise UserError(f"PyPI has no project {name} ({url}: HTTP {exc.code})") from None


def npm_document(package: str, version: str, *, ca_cert: Sequence[str] = ()) -> Mapping[str, Any]:
    """The npm registry's document of one version of `package` (`latest` for the newest)."""
    url = NPM_DOC.format(package=urllib.parse.quote(package, safe="@"), version=version)
    try:
        doc = fetch_json(url, ca_cert=ca_cert)
    except urllib.error.HTTPError as exc:
        raise UserError(
            f"the npm registry has no version {version} of {package} ({url}: HTTP {exc.code}); "
            "pass an existing version with --to (npm view PACKAGE versions)"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("version"), str):
        raise Unreachable(f"{url} did not answer a package document")
    return doc


def npm_integrity(package: str, version: str, *, ca_cert: Sequence[str] = ()) -> str:
    """`dist.integrity` of one version of an npm package."""
    doc = npm_document(package, version, ca_cert=ca_cert)
    integrity = (doc.get("dist") or {}).get("integrity")
    if not isinstance(integrity, str) or not integrity.startswith("sha512-"):
        raise Unreachable(f"npm's {package}@{version} has no sha512 dist.integrity")
    return integrity


def posit_latest_url(pinned: str) -> str:
    """Posit's "latest stable" URL for the distribution and architecture of a pinned
    download URL (`.../server/jammy/amd64/rstudio-server-...deb`)."""
    match = _POSIT_PATH.search(urllib.parse.urlsplit(pinned).path)
    if match is None:
        raise Unreachable(f"{pinned} is not a Posit server download URL (/server/DISTRO/ARCH/)")
    return POSIT_LATEST.format(**match.groupdict())


def posit_version(url: str) -> str:
    """The version of a Posit download URL's file (`...-2026.01.1-403-amd64.deb` ->
    `2026.01.1+403`)."""
    match = _POSIT_VERSION.search(posixpath.basename(urllib.parse.urlsplit(url).path))
    if match is None:
        raise Unreachable(f"no version in the file name of {url}")
    return f"{match.group(1)}+{match.group(2)}"


def posit_newest(pinned: str, *, ca_cert: Sequence[str] = ()) -> str:
    """The newest stable RStudio Server build for the pinned URL's distribution: where Posit's
    "latest" URL redirects to."""
    latest = posit_latest_url(pinned)
    try:
        final, _ = fetch(latest, ca_cert=ca_cert, method="HEAD")
    except urllib.error.HTTPError as exc:
        raise Unreachable(f"{latest} answered HTTP {exc.code}") from None
    return posit_version(final)
