"""Every `KFIMAGES_*` environment variable, read once into a frozen `Settings`.

This is the only module of the package that reads the environment: `tasks.py` calls
`Settings.from_environ()` once and passes the object down; tests build one from a dict.

| variable | meaning |
|---|---|
| `KFIMAGES_BUILD_ARG_<NAME>` | `--build-arg NAME=value` for every image declaring `ARG NAME` |
| `KFIMAGES_SECRET_<ID>` | a file for every build: `--secret id=<id>,src=FILE` (id lower-cased) |
| `KFIMAGES_CA_CERT` | extra CAs for the downloads of builds (`--ca-cert`); never baked |
| `KFIMAGES_BAKE_CA` | CAs written into the images (`--bake-ca`) |
| `KFIMAGES_DEBIAN_MIRROR` | the Debian mirror of `invoke bootstrap` (and of a build's bootstrap) |
| `KFIMAGES_BASE_REF` | the base ref of `invoke smoke` when neither names nor `--base` are given |
| `KFIMAGES_JOBS` | default of `--jobs` (parallel builds) |
| `KFIMAGES_LOG_LEVEL` | DEBUG, INFO (default), WARNING, ERROR |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kfimages.errors import UserError

PREFIX = "KFIMAGES_"
BUILD_ARG_PREFIX = f"{PREFIX}BUILD_ARG_"
SECRET_PREFIX = f"{PREFIX}SECRET_"
CA_CERT = f"{PREFIX}CA_CERT"
BAKE_CA = f"{PREFIX}BAKE_CA"
DEBIAN_MIRROR = f"{PREFIX}DEBIAN_MIRROR"
BASE_REF = f"{PREFIX}BASE_REF"
JOBS = f"{PREFIX}JOBS"
LOG_LEVEL = f"{PREFIX}LOG_LEVEL"
KNOWN = (CA_CERT, BAKE_CA, DEBIAN_MIRROR, BASE_REF, JOBS, LOG_LEVEL)
"""The plain variables (besides the BUILD_ARG_ family)."""
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_MIRROR = "http://deb.debian.org/debian"


@dataclass(frozen=True)
class Settings:
    """The environment's say in a run of the build system."""

    build_args: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    secrets: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """BuildKit secret id -> file."""
    ca_cert: tuple[str, ...] = ()
    """Entries of $KFIMAGES_CA_CERT (files or folders): trusted by downloads only."""
    bake_ca: tuple[str, ...] = ()
    """Entries of $KFIMAGES_BAKE_CA: written into the images."""
    debian_mirror: str = DEFAULT_MIRROR
    base_ref: str = ""
    jobs: int = 1
    log_level: str = "INFO"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every KFIMAGES_* variable of `environ` (default: the process environment)."""
        env = os.environ if environ is None else environ
        build_args = {
            key[len(BUILD_ARG_PREFIX) :]: value
            for key, value in env.items()
            if key.startswith(BUILD_ARG_PREFIX) and len(key) > len(BUILD_ARG_PREFIX)
        }
        secrets = {
            key[len(SECRET_PREFIX) :].lower(): value
            for key, value in env.items()
            if key.startswith(SECRET_PREFIX) and len(key) > len(SECRET_PREFIX)
        }
        level = env.get(LOG_LEVEL, "INFO").upper() or "INFO"
        if level not in LOG_LEVELS:
            raise UserError(f"{LOG_LEVEL}={level} is not a log level; use one of {LOG_LEVELS}")
        return cls(
            build_args=MappingProxyType(build_args),
            secrets=MappingProxyType(secrets),
            ca_cert=tuple(e for e in env.get(CA_CERT, "").split(os.pathsep) if e),
            bake_ca=tuple(e for e in env.get(BAKE_CA, "").split(os.pathsep) if e),
            debian_mirror=env.get(DEBIAN_MIRROR, "") or DEFAULT_MIRROR,
            base_ref=env.get(BASE_REF, ""),
            jobs=parse_jobs(env.get(JOBS, "") or "1", source=JOBS),
            log_level=level,
        )


def parse_jobs(value: str | int, *, source: str = "--jobs") -> int:
    """A positive number of parallel builds, or a one-line error naming where it came from."""
    try:
        jobs = int(value)
    except ValueError:
        raise UserError(f"{source}={value!r} is not a whole number; use e.g. 2") from None
    if jobs < 1:
        raise UserError(f"{source} must be at least 1, not {jobs}")
    return jobs
