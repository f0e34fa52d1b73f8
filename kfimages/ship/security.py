"""Security fixes an image lacks: the Debian packages installed in it at a version older than
the one the `<suite>-security` suite has.

The image's side is dpkg's status database and os-release (read in a throwaway container
without network); the archive's side is the security suite's `Packages.xz` index of the
image's suite and architecture, from `$KFIMAGES_BUILD_ARG_DEBIAN_SECURITY_URI` or Debian's
security mirror (what base's build adds, `ARG DEBIAN_SECURITY_URI`). Versions compare as dpkg
compares them (kfimages.ship.versions). An image with such a package needs a rebuild
(`invoke build --refresh`): base's `apt-get upgrade` takes the fix, and every image below it
is rebuilt on it. base's smoke test dates the same fixes by their changelogs.
"""

from __future__ import annotations

import logging
import lzma
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kfimages import engine
from kfimages.errors import UserError
from kfimages.settings import Settings, mask_credentials
from kfimages.ship import versions
from kfimages.ship.packages import parse_control

log = logging.getLogger(__name__)

DEFAULT_SECURITY_URI = "http://deb.debian.org/debian-security"
SECURITY_URI_ARG = "DEBIAN_SECURITY_URI"
COMPONENT = "main"
TIMEOUT_S = 60.0
_MARK = "----kfimages-os-release----"
_READ_SCRIPT = f"cat /var/lib/dpkg/status && echo '{_MARK}' && cat /etc/os-release"

Index = Mapping[tuple[str, str], str]
"""(package, architecture) -> the newest version of the security suite's index."""


class IndexUnavailable(Exception):
    """The security suite's index could not be read (the message says which URL and why)."""


@dataclass(frozen=True)
class Installed:
    """One installed Debian package of an image."""

    name: str
    version: str
    arch: str


@dataclass(frozen=True)
class Fix:
    """A security fix an image lacks: the package, its installed and its fixed version."""

    package: str
    installed: str
    fixed: str

    def __str__(self) -> str:
        return f"{self.package} {self.installed} -> {self.fixed}"


@dataclass(frozen=True)
class ImageSystem:
    """What an image says about its Debian: installed packages, codename, architecture."""

    packages: tuple[Installed, ...]
    codename: str
    arch: str


def security_uri(settings: Settings) -> str:
    """The security mirror the builds use: the build-arg override, else Debian's."""
    return settings.build_args.get(SECURITY_URI_ARG, "") or DEFAULT_SECURITY_URI


def index_url(uri: str, *, codename: str, arch: str) -> str:
    return f"{uri.rstrip('/')}/dists/{codename}-security/{COMPONENT}/binary-{arch}/Packages.xz"


def parse_index(text: str) -> dict[tuple[str, str], str]:
    """(package, architecture) -> newest version of a `Packages` index."""
    found: dict[tuple[str, str], str] = {}
    for fields in parse_control(text):
        name, version = fields.get("Package", ""), fields.get("Version", "")
        key = (name, fields.get("Architecture", ""))
        if not name or not version:
            continue
        if key not in found or versions.compare("deb", version, found[key]) > 0:
            found[key] = version
    return found


def parse_status(text: str) -> list[Installed]:
    """The installed packages of dpkg's status database (`install ok installed`)."""
    found = []
    for fields in parse_control(text):
        status = fields.get("Status", "").split()
        name, version = fields.get("Package", ""), fields.get("Version", "")
        if status[-1:] == ["installed"] and name and version:
            found.append(Installed(name, version, fields.get("Architecture", "")))
    return found


def parse_os_release(text: str) -> dict[str, str]:
    pairs = (line.partition("=") for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip().strip("\"'") for key, _, value in pairs}


def missing_fixes(installed: Iterable[Installed], index: Index, *, arch: str) -> list[Fix]:
    """The installed packages older than the security suite's version of them, by name."""
    fixes = []
    for package in installed:
        own = package.arch if package.arch != "all" else arch
        fixed = index.get((package.name, own)) or index.get((package.name, "all"))
        if fixed and versions.compare("deb", package.version, fixed) < 0:
            fixes.append(Fix(package.name, package.version, fixed))
    return sorted(fixes, key=lambda f: f.package)


def read_index(url: str) -> dict[tuple[str, str], str]:
    """Download and parse a security suite's `Packages.xz`; IndexUnavailable when it fails."""
    log.debug("GET %s", url)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            data = response.read()
        return parse_index(lzma.decompress(data).decode("utf-8", errors="replace"))
    except urllib.error.HTTPError as exc:
        raise IndexUnavailable(f"{mask_credentials(url)} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, lzma.LZMAError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise IndexUnavailable(f"cannot read {mask_credentials(url)}: {reason}") from None


def parse_image_system(output: str, *, arch: str) -> ImageSystem:
    """An ImageSystem from the output of _READ_SCRIPT and the image's architecture."""
    status, sep, os_release = output.partition(_MARK)
    if not sep:
        raise UserError(f"could not read dpkg's status and os-release: {output.strip()[-300:]}")
    codename = parse_os_release(os_release).get("VERSION_CODENAME", "")
    return ImageSystem(packages=tuple(parse_status(status)), codename=codename, arch=arch)


def read_image_system(ref: str) -> ImageSystem:
    """The installed packages, codename and architecture of a local image (one throwaway
    container, no network, the image's own user)."""
    data = engine.inspect_image(ref)
    if data is None:
        raise UserError(f"no local image {ref}; build it first (invoke build NAME)")
    code, output = engine.run_in_image(ref, _READ_SCRIPT, timeout=300)
    if code != 0:
        raise UserError(f"{ref}: reading dpkg's status failed (exit {code}): {output[-300:]}")
    return parse_image_system(output, arch=str(data.get("Architecture", "")))


class IndexCache:
    """The security indexes of one run, each read once (by URL); a failure is kept too."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._read: dict[str, dict[tuple[str, str], str] | IndexUnavailable] = {}

    def get(self, *, codename: str, arch: str) -> dict[tuple[str, str], str]:
        url = index_url(self.uri, codename=codename, arch=arch)
        if url not in self._read:
            try:
                self._read[url] = read_index(url)
            except IndexUnavailable as exc:
                self._read[url] = exc
        found = self._read[url]
        if isinstance(found, IndexUnavailable):
            raise found
        return found

    def fixes(self, system: ImageSystem) -> list[Fix]:
        """The security fixes `system` lacks (IndexUnavailable when its index is not read)."""
        if not system.codename:
            raise IndexUnavailable("the image's os-release names no VERSION_CODENAME")
        index = self.get(codename=system.codename, arch=system.arch)
        return missing_fixes(system.packages, index, arch=system.arch)
