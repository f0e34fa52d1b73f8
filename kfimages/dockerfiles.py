"""Reading Dockerfiles: the one set of regular expressions of the package (ARG, FROM, cache
mounts), line by line, as far as the build system needs them:

- the parent of an image: the default of the global `ARG BASE_IMG=<parent>` (before the
  first FROM) that a `FROM $BASE_IMG` uses (kfimages.repo.graph);
- the build args a Dockerfile declares, global or per stage: an environment override
  applies only to those (kfimages.repo.inputs);
- the ids of its BuildKit cache mounts, which survive `--no-cache` (the bench says so).
"""

from __future__ import annotations

import re

ARG_RE = re.compile(r"^\s*(?i:ARG)\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s*=\s*(\S+))?")
"""`ARG NAME[=default]`: the name, and the default (quotes kept) when there is one."""
FROM_RE = re.compile(r"^\s*(?i:FROM)\s+(?:--platform=\S+\s+)?(\S+)")
"""`FROM [--platform=P] IMAGE ...`: the image (or `$ARG`)."""
CACHE_MOUNT_RE = re.compile(r"--mount=(\S*\btype=cache\b\S*)")
"""`--mount=type=cache,...` of a RUN (anywhere on the line): its options."""


def declared_args(text: str) -> set[str]:
    """Names of every `ARG` the Dockerfile declares (global or per stage)."""
    return {m.group(1) for line in text.splitlines() if (m := ARG_RE.match(line))}


def global_arg_default(text: str, name: str) -> str | None:
    """The default of the global `ARG NAME=...` (before the first FROM; the last one wins),
    without quotes; None when there is none."""
    default = None
    for line in text.splitlines():
        if FROM_RE.match(line):
            break
        if (m := ARG_RE.match(line)) and m.group(1) == name and m.group(2) is not None:
            default = m.group(2).strip("\"'")
    return default


def from_images(text: str) -> list[str]:
    """The image of each FROM line, in order (`$BASE_IMG` as written)."""
    return [m.group(1) for line in text.splitlines() if (m := FROM_RE.match(line))]


def uses_arg(image: str, name: str) -> bool:
    """Whether a FROM image is exactly the build arg `name` (`$NAME` or `${NAME}`)."""
    return image in (f"${name}", f"${{{name}}}")


def cache_mounts(text: str) -> list[str]:
    """The ids (else targets) of the BuildKit cache mounts, in order, each once."""
    found: list[str] = []
    for spec in CACHE_MOUNT_RE.findall(text):
        options = dict(part.partition("=")[::2] for part in spec.split(","))
        mount = options.get("id") or options.get("target") or spec
        if mount not in found:
            found.append(mount)
    return found
