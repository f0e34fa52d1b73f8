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

Values such as the Debian mirror or a build arg may carry credentials: a URL's user name or
password (`https://user:token@host/`) or a token in its query string (`?token=...`,
`access_token`, `X-Amz-Signature`, `sig`, ...). This module is also the one place that
recognises them: `mask_credentials` for text (every log line goes through
`CredentialFilter`, which `tasks.py` installs on the log handlers), `strip_credentials` for
what is stored (a label), `has_credentials` for what must be refused (a build arg, a label:
`refuse_credentials`).
"""

from __future__ import annotations

import logging
import os
import re
import urllib.parse
from collections.abc import Iterable, Mapping
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


# ------------------------------------------------------------------------- credentials

MASK = "***"
_SECRET_WORDS = ("token", "secret", "password", "passwd", "signature", "credential", "apikey",
                 "accesskey", "privatekey")  # fmt: skip
_SECRET_KEYS = {"sig", "key", "pwd", "pass", "code", "auth", "authorization", "session"}
"""Query keys that carry a credential: any key containing one of `_SECRET_WORDS` (case,
`-`, `_` and `.` ignored: `access_token`, `X-Amz-Signature`, `X-Amz-Security-Token`,
`X-Goog-Credential`, `api-key`, `client_secret`), or one of `_SECRET_KEYS` (Azure SAS `sig`,
`key`, `pwd`, an OAuth `code`)."""
_USERINFO_RE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
_QUERY_RE = re.compile(r"(?P<key>(?<=[?&;])[A-Za-z0-9_.\-]+)=(?P<value>[^&;#\s'\"]+)")


def is_secret_key(key: str) -> bool:
    """Whether a URL query key names a credential (token, signature, password, ...)."""
    plain = re.sub(r"[-_.]", "", key.lower())
    return plain in _SECRET_KEYS or any(word in plain for word in _SECRET_WORDS)


def has_credentials(value: str) -> bool:
    """Whether a value is a URL with a user name or password, or with a credential in its
    query string."""
    parsed = urllib.parse.urlsplit(value)
    if not (parsed.scheme and parsed.netloc):
        return False
    query = urllib.parse.parse_qsl(parsed.query, keep_blank_values=False)
    return "@" in parsed.netloc or any(is_secret_key(key) for key, _ in query)


def strip_credentials(url: str) -> str:
    """The URL without its user name and password and without the query parameters that
    carry a credential (`https://u:t@host/x?token=s&a=1` -> `https://host/x?a=1`): what may
    be stored (a label)."""
    parsed = urllib.parse.urlsplit(url)
    if not parsed.scheme or not parsed.netloc:
        return url
    host = parsed.netloc.rsplit("@", 1)[-1]
    pairs = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
    query = [(k, v) for k, v in pairs if not is_secret_key(k)]
    if host == parsed.netloc and len(query) == len(pairs):
        return url
    return urllib.parse.urlunsplit(
        parsed._replace(netloc=host, query=urllib.parse.urlencode(query))
    )


def mask_credentials(text: str) -> str:
    """`text` with every URL user name/password and every credential query value replaced
    by `***` (`https://***@host/x?token=***&a=1`): what may be logged."""
    text = _USERINFO_RE.sub(rf"\g<scheme>{MASK}@", text)
    return _QUERY_RE.sub(lambda m: f"{m['key']}={MASK}" if is_secret_key(m["key"]) else m[0], text)


def refuse_credentials(labels: Mapping[str, str]) -> None:
    """UserError naming the first label whose value carries a credential (masked): a label
    is readable by everyone who can pull the image."""
    for key, value in labels.items():
        if has_credentials(value):
            raise UserError(
                f"label {key}={mask_credentials(value)} carries a credential: labels are "
                "public; store the URL without it (kfimages.settings.strip_credentials)"
            )


class CredentialFilter(logging.Filter):
    """Masks credentials in a log record's message (`mask_credentials`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_credentials(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def mask_logs(handlers: Iterable[logging.Handler]) -> None:
    """Install CredentialFilter on each handler (once): every line they write is masked."""
    for handler in handlers:
        if not any(isinstance(f, CredentialFilter) for f in handler.filters):
            handler.addFilter(CredentialFilter())
