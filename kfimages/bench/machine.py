"""Where and when the bench ran (CPU, memory, kernel, Docker, load, commit), whether the
Docker disk may hold what it builds, and how quiet the CPUs were before the start-ups."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kfimages import engine, git
from kfimages.repo.graph import DEFAULT_REGISTRY, DEFAULT_TAG, Graph, image_ref
from kfimages.settings import Settings


@dataclass(frozen=True)
class Machine:
    """Where and when the bench ran."""

    date: str
    cpus: int
    cpu_model: str
    memory: int
    kernel: str
    os_name: str
    docker: str
    buildx: str
    load: tuple[float, float, float]
    commit: str
    build_args: tuple[tuple[str, str], ...] = ()
    """The environment's KFIMAGES_BUILD_ARG_* overrides (build inputs)."""


QUIET_IDLE = 0.9
"""The CPUs' idle share (of /proc/stat's time, iowait counted as busy) that `settle` waits for."""
QUIET_WINDOW_S = 1.5
"""The window over which `settle` reads that share."""
QUIET_TIMEOUT_S = 120.0
"""How long `settle` waits at most."""


@dataclass(frozen=True)
class Quiet:
    """How quiet the CPUs were before the start-ups were measured (`settle`)."""

    target: float
    """The idle share waited for (0 to 1)."""
    window: float
    """Seconds over which a share is read."""
    idle: float
    """The idle share of the CPUs' time over the last window (0 to 1)."""
    sync: float
    """Seconds the `sync` took."""
    waited: float
    """Seconds from the sync's end to the last window's end."""

    @property
    def reached(self) -> bool:
        """Whether the last window's share reached the target (else the wait timed out)."""
        return self.idle >= self.target


def parse_cpu_line(line: str) -> tuple[int, int]:
    """(idle, total) clock ticks from /proc/stat's `cpu` line: user, nice, system, idle,
    iowait, irq, softirq, steal (guest time, after them, is counted in user and nice already).
    Idle is the 4th field; iowait, the 5th, is a disk the CPUs wait for: busy here."""
    fields = [int(x) for x in line.split()[1:9]]
    return fields[3], sum(fields)


def _cpu_times() -> tuple[int, int]:
    """(idle, total) clock ticks of all CPUs since boot."""
    with open("/proc/stat", encoding="ascii") as stat:
        return parse_cpu_line(stat.readline())


def settle(
    *,
    target: float = QUIET_IDLE,
    window: float = QUIET_WINDOW_S,
    timeout: float = QUIET_TIMEOUT_S,
) -> Quiet:
    """Flush the page cache's writes (`sync`: the cold builds leave GBs to write back), then
    wait until the CPUs are `target` idle over `window` seconds, or `timeout` seconds passed.
    Start-ups measured on a machine still busy with the builds before them vary more."""
    began = time.monotonic()
    os.sync()
    synced = time.monotonic()
    while True:
        idle_before, total_before = _cpu_times()
        time.sleep(window)  # on purpose: the window the share is read over
        idle_after, total_after = _cpu_times()
        share = (idle_after - idle_before) / max(total_after - total_before, 1)
        waited = time.monotonic() - synced
        if share >= target or waited >= timeout:
            return Quiet(
                target=target, window=window, idle=share, sync=synced - began, waited=waited
            )


def _proc_field(path: str, key: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return ""


def _os_name() -> str:
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8")
    except OSError:
        return platform.system()
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip('"')
    return platform.system()


def read_machine(*, root: Path, settings: Settings) -> Machine:
    """CPU, memory, kernel, Docker and buildx versions, load, commit, date (UTC)."""
    memory_kb = _proc_field("/proc/meminfo", "MemTotal").split()
    info = git.read_info(root)
    load = os.getloadavg()
    return Machine(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        cpus=os.cpu_count() or 0,
        cpu_model=_proc_field("/proc/cpuinfo", "model name") or platform.processor() or "?",
        memory=int(memory_kb[0]) * 1024 if memory_kb else 0,
        kernel=platform.release(),
        os_name=_os_name(),
        docker=engine.server_version(),
        buildx=engine.buildx_version(),
        load=(load[0], load[1], load[2]),
        commit=f"{info.sha[:12]}{' (uncommitted changes)' if info.dirty else ''}",
        build_args=tuple(sorted(settings.build_args.items())),
    )


def disk_warning(*, free: int | None, needed: int) -> str | None:
    """A warning when the Docker disk may not hold what the bench builds (`needed`: the
    sizes of those images, as their BuildKit layers stay in the build cache)."""
    if free is None or needed <= 0 or free >= needed * 1.2:
        return None
    return (
        f"the Docker disk has {free / 1e9:.1f} GB free; the bench builds about "
        f"{needed / 1e9:.1f} GB of images, whose layers stay in BuildKit's build cache after "
        "the images are removed: a build may fail for lack of space (`docker builder prune` "
        "frees the cache, then every later build starts cold)"
    )


def known_size(graph: Graph, names: Sequence[str]) -> int:
    """The sizes of the images' local kfnb/...:latest refs (0 for those not built)."""
    refs = (image_ref(graph.get(n), registry=DEFAULT_REGISTRY, tag=DEFAULT_TAG) for n in names)
    return sum(engine.image_size(ref) or 0 for ref in refs)
