"""Memory figures of a running container, from `docker stats` (kfimages.engine)."""

from __future__ import annotations

import re

from kfimages import engine

_MEM_RE = re.compile(r"^\s*([0-9.]+)\s*([KMGT]?i?B)\s*$")
_UNITS = {
    "B": 1,
    "KiB": 1 << 10,
    "MiB": 1 << 20,
    "GiB": 1 << 30,
    "TiB": 1 << 40,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
}


def parse_mem_usage(text: str) -> int:
    """Bytes in use from `docker stats`' MemUsage (`73.4MiB / 23.54GiB`: usage without the
    page cache that can be dropped, as the docker CLI computes it)."""
    used = text.split("/", 1)[0]
    match = _MEM_RE.match(used)
    unit = match.group(2) if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(f"not a docker stats MemUsage: {text!r}")
    return round(float(match.group(1)) * _UNITS[unit])


def container_memory(container: str) -> int:
    """Bytes in use by a running container."""
    return parse_mem_usage(engine.container_mem_usage(container))
