"""The figures of a bench run and their arithmetic (medians, speed-ups, build windows)."""

from __future__ import annotations

import enum
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from kfimages.bench.ci import CiRun
from kfimages.bench.machine import Machine, Quiet
from kfimages.bench.suites import SuiteRun
from kfimages.build.report import Result, Status

MB = 1_000_000
MIB = 1 << 20


class Part(enum.StrEnum):
    """What `invoke bench --only` picks; every part by default, in this order."""

    PLAN = "plan"
    CHAIN = "chain"
    COLD = "cold"
    STARTUP = "startup"
    SUITES = "suites"
    ARM64 = "arm64"
    JOBS = "jobs"
    CI = "ci"


@dataclass(frozen=True)
class Timing:
    """Several runs of one thing: median, spread, and (start-ups) the idle memory."""

    median: float
    low: float
    high: float
    runs: int
    memory: int | None = None
    """Bytes in use, measured once after the first run's 200 and the idle wait."""


@dataclass(frozen=True)
class ImageBuild:
    """One image's step of the cold build."""

    name: str
    status: str
    seconds: float | None
    reason: str = ""


@dataclass(frozen=True)
class Rebuild:
    """A timed `invoke build` of several images."""

    names: tuple[str, ...]
    seconds: float
    statuses: str
    window: float | None = None
    """For the --jobs runs: the window of the set's own steps (build_window)."""
    jobs: int = 1
    label: str = ""
    """What was built (the chain's rows)."""


@dataclass(frozen=True)
class ImageRun:
    """What was measured on one image that exists: its size and start-ups."""

    name: str
    ref: str
    size: int | None
    probe: str = ""
    """The URL path probed, empty without a probe."""
    init: Timing | None = None
    bare: Timing | None = None
    reason: str = ""
    """Why there are no start-up figures."""

    @property
    def ratio(self) -> float | None:
        """Median through /init over median of the bare server (None without both)."""
        if self.init is None or self.bare is None or self.bare.median <= 0:
            return None
        return self.init.median / self.bare.median

    @property
    def extra_ms(self) -> float | None:
        """What /init adds: its median minus the bare server's, in ms (None without both)."""
        if self.init is None or self.bare is None:
            return None
        return (self.init.median - self.bare.median) * 1000


@dataclass(frozen=True)
class PlatformBuild:
    """One image's own step built `--no-cache` natively and for another platform (QEMU)."""

    name: str
    native: float | None
    foreign: float | None
    reason: str = ""
    """Why a figure is missing (the step's status and reason)."""

    @property
    def ratio(self) -> float | None:
        if self.native is None or self.foreign is None or self.native <= 0:
            return None
        return self.foreign / self.native


@dataclass(frozen=True)
class PlanStep:
    """One planning step timed over several runs (milliseconds), and what it found."""

    label: str
    timing: Timing
    result: str


@dataclass(frozen=True)
class Results:
    machine: Machine
    images: tuple[str, ...]
    parts: tuple[Part, ...] = tuple(Part)
    """The parts this run measured."""
    plan: tuple[PlanStep, ...] = ()
    chain: tuple[Rebuild, ...] = ()
    """The throwaway chain's first build and no-op rebuild."""
    chain_jobs: tuple[Rebuild, ...] = ()
    """The throwaway chain rebuilt with --no-cache, --jobs 1 and --jobs 2."""
    chain_shape: str = ""
    """What the chain is (how many images, how much work each)."""
    cold: tuple[ImageBuild, ...] = ()
    cache_mounts: tuple[tuple[str, tuple[str, ...]], ...] = ()
    noop: Rebuild | None = None
    runs: tuple[ImageRun, ...] = ()
    startup_runs: int = 0
    """Runs per image and mode; 0: no start-ups."""
    quiet: Quiet | None = None
    """How quiet the CPUs were before the start-ups (None: not measured)."""
    idle_seconds: float = 0
    jobs: tuple[Rebuild, ...] = ()
    """The --jobs 1 and --jobs 2 builds."""
    foreign_platform: str = ""
    """The platform of the `arm64` part (the emulated one)."""
    platform_builds: tuple[PlatformBuild, ...] = ()
    platform_note: str = ""
    """Why the `arm64` part has no rows (no image opts in, no emulator)."""
    suites: tuple[SuiteRun, ...] = ()
    ci_dir: str = ""
    ci_runs: tuple[CiRun, ...] = ()
    """The latest CI run of every image and the latest incremental one (kfimages.bench.ci)."""
    missing: tuple[tuple[str, str], ...] = ()
    """Images with no size or start-up figures, and why (not built, ...)."""
    duration: float = 0


def summarize(times: Sequence[float], *, memory: int | None = None) -> Timing:
    return Timing(
        median=statistics.median(times),
        low=min(times),
        high=max(times),
        runs=len(times),
        memory=memory,
    )


def speedup(*, serial: float, parallel: float) -> float | None:
    """How many times faster the parallel run was (None without two positive times)."""
    if serial <= 0 or parallel <= 0:
        return None
    return serial / parallel


def build_window(results: Sequence[Result], names: Sequence[str]) -> float | None:
    """Seconds from the first start to the last end of the `names` steps; None unless
    every one of them was built (the window of the set without its parents' steps)."""
    picked = [r for r in results if r.name in names]
    if len(picked) != len(names) or any(r.status != Status.BUILT for r in picked):
        return None
    return max(r.finished for r in picked) - min(r.started for r in picked)


def statuses(results: Sequence[Result]) -> str:
    """`3 built, 1 blocked`: how many steps ended in each status, in the Status order."""
    counts = {s: sum(1 for r in results if r.status == s) for s in Status}
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n)


def jobs_speedup(runs: Sequence[Rebuild]) -> tuple[float | None, float | None]:
    """(speed-up of the set's window, speed-up of the whole build) of --jobs 1 vs 2."""
    by_jobs = {run.jobs: run for run in runs}
    one, two = by_jobs.get(1), by_jobs.get(2)
    if one is None or two is None:
        return None, None
    window = None
    if one.window is not None and two.window is not None:
        window = speedup(serial=one.window, parallel=two.window)
    return window, speedup(serial=one.seconds, parallel=two.seconds)
