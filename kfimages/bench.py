"""`nox -s bench`: measure the images and write bench/results.md and bench/results.png.

Per image: the cold build time (its own step of an `invoke build --no-cache`), the size,
the time from `docker run` to the first HTTP 200 through `/init` and for the bare server,
and the idle memory after start; for the whole graph a no-op rebuild; for a set of
independent images the `--jobs 2` speed-up; with the machine and the date.

    python -m kfimages.bench [NAMES] [--skip-cold] [--skip-startup] [--skip-jobs]
        [--jobs-images codeserver,jupyter] [--runs 3] [--idle-seconds 10] [--output-dir bench]

Builds use the registry prefix `kfnb-bench` (`kfnb-bench/<repository>:bench`), so the
real `kfnb/...` refs never move; every `kfnb-bench/...` ref is removed when the run ends.
The servers are probed from inside their containers (`docker exec` + curl), never by a
container address. Not part of CI: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, TextIO, TypeVar

from kfimages import dockerfiles, engine, git
from kfimages.build.ca import collect_ca_files
from kfimages.build.plan import ALL, BuildRequest, expand_names, plan_images
from kfimages.build.report import EXIT_USAGE, BuildReport, Result, Status
from kfimages.build.run import build_images
from kfimages.errors import UserError
from kfimages.repo.graph import DEFAULT_REGISTRY, DEFAULT_TAG, Graph, image_ref, load_graph
from kfimages.settings import Settings
from kfimages.tables import markdown_table

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
BENCH_REGISTRY = "kfnb-bench"
"""Registry prefix of every image the bench builds (removed at the end)."""
BENCH_TAG = "bench"
BENCH_LABEL = "io.kfimages.bench"
"""Label of the bench's containers (removed before and after a run)."""
PREFIX = "/notebook/bench/x"
"""NB_PREFIX of the start-up runs, shaped as Kubeflow sets it (/notebook/<ns>/<name>)."""
PORT = 8888
DEFAULT_JOBS_IMAGES = ("codeserver", "jupyter")
BURST_S = 5
"""How long one `docker exec` probe polls inside the container (curl every 50 ms)."""
MB = 1_000_000
MIB = 1 << 20


@dataclass(frozen=True)
class Probe:
    """How an image's server answers: the s6 service that runs it and the URL that says 200."""

    service: str
    """/etc/services.d/<service>/run starts the server (the bare-server entrypoint)."""
    path: str
    """Path on 127.0.0.1:8888 inside the container; `{prefix}` is NB_PREFIX."""
    follow_redirects: bool = False

    @property
    def run_script(self) -> str:
        return f"/etc/services.d/{self.service}/run"

    def resolved(self, *, prefix: str) -> str:
        """The path with NB_PREFIX filled in."""
        return self.path.format(prefix=prefix.rstrip("/"))

    def url(self, *, prefix: str) -> str:
        return f"http://127.0.0.1:{PORT}{self.resolved(prefix=prefix)}"


PROBES: Mapping[str, Probe] = MappingProxyType(
    {
        "jupyter": Probe(service="jupyterlab", path="{prefix}/api/status"),
        "codeserver": Probe(service="codeserver", path="/healthz"),
        "rstudio": Probe(service="rstudio", path="/", follow_redirects=True),
    }
)
"""Image folder -> its probe (as tests/images/<folder> wait for the server); an image built
FROM one of them inherits it (jupyter-pytorch-full: jupyter's)."""


# --- pure parts: probe selection, arithmetic, formatting ---------------------------------


def select_probe(*, folders: Sequence[str], probes: Mapping[str, Probe] = PROBES) -> Probe | None:
    """The probe of the nearest folder that has one; `folders` is the image's own folder,
    then its ancestors' folders, nearest first."""
    for folder in folders:
        if folder in probes:
            return probes[folder]
    return None


def chain_folders(graph: Graph, name: str) -> list[str]:
    """The image's folder, then its ancestors' folders, nearest first."""
    ancestors = reversed(graph.ancestors(name))
    return [graph.get(name).folder, *(image.folder for image in ancestors)]


def services(*, root: Path, folders: Sequence[str]) -> list[str]:
    """The s6 services (`<folder>/s6/services.d/<service>/run`) of these folders."""
    return sorted(
        run.parent.name for folder in folders for run in root.glob(f"{folder}/s6/services.d/*/run")
    )


def no_probe_reason(*, folders: Sequence[str], found_services: Sequence[str]) -> str:
    """Why an image gets no start-up figures (select_probe found nothing)."""
    if not found_services:
        return f"no HTTP server: {folders[0]} starts no service"
    return f"no probe known for {folders[0]} (add it to kfimages.bench.PROBES)"


def container_args(*, ref: str, name: str, probe: Probe, bare: bool) -> list[str]:
    """`docker run` arguments of one start-up run: through the image's /init, or `bare`: the
    service's run script as the entrypoint (no /init: no cont-init.d, no supervision)."""
    args = ["run", "-d", "--name", name, "--label", f"{BENCH_LABEL}=1", "-e", f"NB_PREFIX={PREFIX}"]
    if bare:
        args += ["--entrypoint", probe.run_script]
    return [*args, ref]


def probe_script(*, url: str, follow_redirects: bool, burst_s: float = BURST_S) -> str:
    """A shell loop run by one `docker exec`: exit 0 at the first 200, 1 after `burst_s`."""
    follow = "-L " if follow_redirects else ""
    curl = f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 2 {follow}'{url}'"
    return (
        f"end=$(($(date +%s) + {int(burst_s)})); "
        f'while [ "$(date +%s)" -lt "$end" ]; do '
        f'[ "$({curl})" = 200 ] && exit 0; sleep 0.05; done; exit 1'
    )


_MEM_RE = re.compile(r"^\s*([0-9.]+)\s*([KMGT]?i?B)\s*$")
_UNITS = {
    "B": 1,
    "KiB": 1 << 10,
    "MiB": 1 << 20,
    "GiB": 1 << 30,
    "TiB": 1 << 40,
    "kB": 1000,
    "KB": 1000,
    "MB": MB,
    "GB": 1000 * MB,
    "TB": 1000 * 1000 * MB,
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


@dataclass(frozen=True)
class Timing:
    """Start-up of one image in one mode over several runs, and its idle memory."""

    median: float
    low: float
    high: float
    runs: int
    memory: int | None = None
    """Bytes in use, measured once after the first run's 200 and the idle wait."""


def summarize(times: Sequence[float], *, memory: int | None) -> Timing:
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


def cache_mounts(*, root: Path, dockerfile: str) -> list[str]:
    """The ids (else targets) of the BuildKit cache mounts of a Dockerfile: they survive
    `--no-cache`, so a cold build may find them warm."""
    return dockerfiles.cache_mounts((root / dockerfile).read_text(encoding="utf-8"))


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _timing(value: Timing | None) -> str:
    if value is None:
        return "n/a"
    if value.runs == 1:
        return f"{value.median:.2f}"
    return f"{value.median:.2f} ({value.low:.2f}-{value.high:.2f})"


def _mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / MIB:.0f}"


# --- results -----------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Results:
    machine: Machine
    images: tuple[str, ...]
    cold: tuple[ImageBuild, ...] = ()
    """Empty: skipped (--skip-cold)."""
    cache_mounts: tuple[tuple[str, tuple[str, ...]], ...] = ()
    noop: Rebuild | None = None
    runs: tuple[ImageRun, ...] = ()
    startup_runs: int = 0
    """Runs per image and mode; 0: start-ups skipped."""
    idle_seconds: float = 0
    jobs: tuple[Rebuild, ...] = ()
    """The --jobs 1 and --jobs 2 builds; empty: skipped."""
    missing: tuple[tuple[str, str], ...] = ()
    """Images with no size or start-up figures, and why (not built, ...)."""
    duration: float = 0


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


Row = TypeVar("Row", bound=tuple[str, ...])


def _in_plan_order(rows: Sequence[Row], names: Sequence[str]) -> list[Row]:
    """Rows (image name first) in the order of `names`; other rows last."""
    return sorted(rows, key=lambda row: names.index(row[0]) if row[0] in names else len(names))


def _header(results: Results) -> list[str]:
    m = results.machine
    overrides = ", ".join(f"`{k}={v}`" for k, v in m.build_args) or "none"
    rows = [
        ("date", m.date),
        ("CPU", f"{m.cpus} x {m.cpu_model}"),
        ("memory", f"{m.memory / (1 << 30):.1f} GiB"),
        ("host OS, kernel", f"{m.os_name}, {m.kernel}"),
        ("Docker Engine, buildx", f"{m.docker}, {m.buildx}"),
        ("load average at start (1, 5, 15 min)", ", ".join(f"{x:.2f}" for x in m.load)),
        ("commit", m.commit),
        ("build-arg overrides (KFIMAGES_BUILD_ARG_*)", overrides),
        ("images", ", ".join(results.images)),
        ("bench run time", f"{results.duration / 60:.1f} min"),
    ]
    return [
        "# Benchmark of the images",
        "",
        "Written by `.venv/bin/nox -s bench` (`python -m kfimages.bench`, "
        "[kfimages/bench.py](../kfimages/bench.py)); not part of CI. Figures from one machine "
        "at one time: other work on the machine changes them (see the load average).",
        "",
        *markdown_table(("machine", ""), rows),
        "",
        "![build time, size, start-up and idle memory per image](results.png)",
    ]


def _cold_section(results: Results) -> list[str]:
    lines = ["", "## Cold build", ""]
    if not results.cold:
        return [*lines, "Skipped (`--skip-cold`)."]
    warm = "; ".join(f"{name}: `{', '.join(ids)}`" for name, ids in results.cache_mounts)
    lines += [
        f"`invoke build {','.join(results.images)} --no-cache --registry {BENCH_REGISTRY} "
        f"--tag {BENCH_TAG} --jobs 1`. *Cold* means BuildKit's `--no-cache`: every layer of "
        "every image is rebuilt, the OS image (local, not rebuilt) aside. BuildKit cache "
        "mounts (`RUN --mount=type=cache`) survive `--no-cache`, so their download caches may "
        f"be warm: {warm or 'none in these Dockerfiles'}; every other download (apt, ...) is "
        "fetched again. The time is the image's own step in the build report (artifact check, "
        "`buildx build --load`, content tags), so a parent's time is not counted again in its "
        "children.",
        "",
    ]
    rows = [(b.name, b.status, _seconds(b.seconds), b.reason) for b in results.cold]
    return [*lines, *markdown_table(("image", "status", "build time (s)", "note"), rows)]


def _noop_section(results: Results) -> list[str]:
    lines = ["", "## No-op rebuild of the whole graph", ""]
    if results.noop is None:
        return [*lines, "Skipped (needs the cold build)."]
    noop = results.noop
    return [
        *lines,
        "The same `invoke build` again right after the cold build, of the images it built: "
        "every image is `reused` (same input digest) and tagged; nothing is built.",
        "",
        *markdown_table(
            ("images", "wall time (s)", "statuses"),
            [(", ".join(noop.names), f"{noop.seconds:.2f}", noop.statuses)],
        ),
    ]


def _size_section(results: Results) -> list[str]:
    rows = [
        (r.name, f"`{r.ref}`", "n/a" if r.size is None else f"{r.size / MB:.0f}")
        for r in results.runs
    ]
    rows += [(name, "n/a", f"n/a: {reason}") for name, reason in results.missing]
    rows = _in_plan_order(rows, results.images)
    return [
        "",
        "## Image size",
        "",
        "Uncompressed (`docker image inspect` Size, MB = 10^6 bytes).",
        "",
        *markdown_table(("image", "ref", "size (MB)"), rows),
    ]


def _startup_section(results: Results) -> list[str]:
    lines = ["", "## Start-up and idle memory", ""]
    if not results.startup_runs:
        return [*lines, "Skipped (`--skip-startup`)."]
    lines += [
        "Seconds from `docker run -d` to the first HTTP 200 on the image's probe URL (port "
        f"8888), `NB_PREFIX={PREFIX}`: median (min-max) of {results.startup_runs} run(s). "
        "The probe runs inside the container (`docker exec` of a curl loop every 50 ms). "
        "**/init**: the image's entrypoint, as Kubeflow starts it (cont-init.d scripts, then "
        "the s6-supervised service). **bare server**: the service's own run script as the "
        "entrypoint (`--entrypoint /etc/services.d/<service>/run`, the command /init's "
        "supervisor would run): no cont-init.d, no supervision; the difference is what /init "
        f"costs. Idle memory: `docker stats` MemUsage {results.idle_seconds:.0f} s after the "
        "first run's 200, in MiB.",
        "",
    ]
    rows = [
        (
            r.name,
            f"`{r.probe}`" if r.probe else "n/a",
            _timing(r.init),
            _timing(r.bare),
            _mib(r.init.memory if r.init else None),
            _mib(r.bare.memory if r.bare else None),
            r.reason,
        )
        for r in results.runs
    ]
    rows += [(name, "n/a", "n/a", "n/a", "n/a", "n/a", reason) for name, reason in results.missing]
    rows = _in_plan_order(rows, results.images)
    headers = (
        "image",
        "probe",
        "/init to 200 (s)",
        "bare server to 200 (s)",
        "idle memory, /init (MiB)",
        "idle memory, bare (MiB)",
        "note",
    )
    return [*lines, *markdown_table(headers, rows)]


def _jobs_section(results: Results) -> list[str]:
    lines = ["", "## `--jobs 2` speed-up", ""]
    if not results.jobs:
        return [*lines, "Skipped (`--skip-jobs`)."]
    names = ",".join(results.jobs[0].names)
    window, wall = jobs_speedup(results.jobs)
    lines += [
        f"`invoke build {names} --no-cache --jobs N` (their parents are rebuilt too, first). "
        "*Set window*: from the first start to the last end of the named images' own steps, "
        "i.e. without the parents' steps, which cannot overlap.",
        "",
    ]
    rows = [(str(r.jobs), f"{r.seconds:.1f}", _seconds(r.window), r.statuses) for r in results.jobs]
    lines += markdown_table(("--jobs", "wall time (s)", "set window (s)", "statuses"), rows)
    if len(results.jobs[0].names) < 2:
        lines += ["", "One image cannot overlap with another: the ratio only shows the noise."]
    ratio = "n/a" if window is None else f"{window:.2f}x"
    whole = "n/a" if wall is None else f"{wall:.2f}x"
    return [*lines, "", f"Speed-up of `--jobs 2`: **{ratio}** (set window), {whole} (whole build)."]


def format_results(results: Results) -> str:
    """bench/results.md."""
    lines = [
        *_header(results),
        *_cold_section(results),
        *_noop_section(results),
        *_size_section(results),
        *_startup_section(results),
        *_jobs_section(results),
    ]
    return "\n".join(lines) + "\n"


def write_chart(results: Results, *, path: Path) -> None:
    """bench/results.png: bar charts of build time, size, start-up and idle memory."""
    import matplotlib  # noqa: PLC0415 (only the bench needs matplotlib)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5), constrained_layout=True)
    starts = [r for r in results.runs if r.init or r.bare]
    _bars(
        axes[0][0],
        [(b.name, b.seconds) for b in results.cold if b.seconds is not None],
        title="cold build (--no-cache), the image's own step",
        unit="s",
    )
    _bars(
        axes[0][1],
        [(r.name, r.size / MB) for r in results.runs if r.size is not None],
        title="image size (uncompressed)",
        unit="MB",
    )
    _grouped(
        axes[1][0],
        [(r.name, _median(r.init), _median(r.bare)) for r in starts],
        title=f"docker run to the first 200 (median of {results.startup_runs})",
        unit="s",
        fmt="{:.2f}",
    )
    _grouped(
        axes[1][1],
        [(r.name, _memory_mib(r.init), _memory_mib(r.bare)) for r in starts],
        title=f"idle memory {results.idle_seconds:.0f} s after the first 200",
        unit="MiB",
    )
    window, _ = jobs_speedup(results.jobs)
    jobs = f"; --jobs 2 speed-up {window:.2f}x" if window is not None else ""
    m = results.machine
    fig.suptitle(f"kfnb images, {m.date}, {m.cpus} x {m.cpu_model}{jobs}", fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _median(timing: Timing | None) -> float | None:
    return timing.median if timing else None


def _memory_mib(timing: Timing | None) -> float | None:
    return timing.memory / MIB if timing and timing.memory is not None else None


def _no_data(ax: Any, title: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.text(0.5, 0.5, "no data (skipped or n/a)", transform=ax.transAxes, ha="center")
    ax.set_axis_off()


def _bars(
    ax: Any, data: Sequence[tuple[str, float]], *, title: str, unit: str, fmt: str = "{:.0f}"
) -> None:
    """Horizontal bars with their values (ax: a matplotlib Axes)."""
    if not data:
        _no_data(ax, title)
        return
    values = [value for _, value in data]
    ax.barh([name for name, _ in data], values, color="#4c72b0")
    for index, value in enumerate(values):
        ax.text(value, index, " " + fmt.format(value), va="center", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(unit)
    ax.margins(x=0.15)
    ax.invert_yaxis()


def _grouped(
    ax: Any,
    data: Sequence[tuple[str, float | None, float | None]],
    *,
    title: str,
    unit: str,
    fmt: str = "{:.0f}",
) -> None:
    """Two bars per image, /init and bare server (a missing value is labelled n/a)."""
    if not data:
        _no_data(ax, title)
        return
    positions = list(range(len(data)))
    height = 0.4
    for offset, label, column in ((-height / 2, "/init", 1), (height / 2, "bare server", 2)):
        values = [row[column] for row in data]
        spots = [p + offset for p in positions]
        ax.barh(spots, [v or 0 for v in values], height=height, label=label)
        for spot, value in zip(spots, values, strict=True):
            text = " n/a" if value is None else " " + fmt.format(value)
            ax.text(value or 0, spot, text, va="center", fontsize=8)
    ax.set_yticks(positions, [row[0] for row in data])
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(unit)
    ax.margins(x=0.15)
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="best")


# --- the machine and the engine ----------------------------------------------------------


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


def _buildx_version() -> str:
    words = engine.run("buildx", "version", check=False).split()  # github.com/docker/buildx V ...
    return words[1] if len(words) > 1 else "?"


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
        docker=engine.run("version", "--format", "{{.Server.Version}}", check=False) or "?",
        buildx=_buildx_version(),
        load=(load[0], load[1], load[2]),
        commit=f"{info.sha[:12]}{' (uncommitted changes)' if info.dirty else ''}",
        build_args=tuple(sorted(settings.build_args.items())),
    )


def image_size(ref: str) -> int | None:
    """Uncompressed size of a local image in bytes, None when it is not there."""
    data = engine.inspect_image(ref)
    return int(data["Size"]) if data and "Size" in data else None


def remove_bench_images(registry: str = BENCH_REGISTRY) -> int:
    """Remove every local `<registry>/...` ref (the bench's images and their content tags)."""
    listed = engine.run(
        "image", "ls", "--filter", f"reference={registry}/*",
        "--format", "{{.Repository}}:{{.Tag}}",
        check=False,
    ).split()  # fmt: skip
    refs = [ref for ref in listed if not ref.endswith(":<none>")]
    if refs:
        engine.run("image", "rm", *refs, timeout=600, check=False)
        log.info("removed %d %s/... ref(s)", len(refs), registry)
    return len(refs)


def _remove_bench_containers() -> None:
    ids = engine.run("ps", "-aq", "--filter", f"label={BENCH_LABEL}=1", check=False).split()
    if ids:
        engine.run("rm", "-f", "-v", *ids, check=False)


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


def _docker_free_bytes() -> int | None:
    root = engine.run("info", "--format", "{{.DockerRootDir}}", check=False)
    try:
        return shutil.disk_usage(root).free if root else None
    except OSError:
        return None


def _known_size(graph: Graph, names: Sequence[str]) -> int:
    """The sizes of the images' local kfnb/...:latest refs (0 for those not built)."""
    refs = (image_ref(graph.get(n), registry=DEFAULT_REGISTRY, tag=DEFAULT_TAG) for n in names)
    return sum(image_size(ref) or 0 for ref in refs)


# --- start-up ------------------------------------------------------------------------------


def poll_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    alive: Callable[[], str | None] | None = None,
    interval: float = 0.1,
) -> None:
    """Call `check` until it returns True; a problem named by `alive` (the container
    stopped) or `timeout` seconds end the wait with a UserError naming `what`."""
    deadline = time.monotonic() + timeout
    while not check():
        problem = alive() if alive is not None else None
        if problem is not None:
            raise UserError(f"{what}: {problem}")
        if time.monotonic() >= deadline:
            raise UserError(f"{what}: no answer within {timeout:.0f}s")
        time.sleep(interval)


def _container_problem(name: str) -> str | None:
    state = engine.run("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name, check=False)
    if state.startswith("running"):
        return None
    tail = " / ".join(engine.container_logs(name, tail=5)[-3:])
    return f"container {state or 'gone'}; last log lines: {tail}"


def _answers(name: str, probe: Probe) -> bool:
    script = probe_script(url=probe.url(prefix=PREFIX), follow_redirects=probe.follow_redirects)
    return engine.exec_in(name, script, timeout=BURST_S + 30) == 0


def container_memory(name: str) -> int:
    """Bytes in use by a running container (`docker stats --no-stream` MemUsage)."""
    return parse_mem_usage(engine.run("stats", "--no-stream", "--format", "{{.MemUsage}}", name))


def start_once(
    *, ref: str, probe: Probe, bare: bool, timeout: float, idle_seconds: float | None
) -> tuple[float, int | None]:
    """Seconds from `docker run` to the first 200, and (with `idle_seconds`) the memory in
    use that long after it. The container is removed in any case."""
    name = f"kfnb-bench-{uuid.uuid4().hex[:10]}"
    started = time.monotonic()
    engine.run(*container_args(ref=ref, name=name, probe=probe, bare=bare))
    try:
        poll_until(
            lambda: _answers(name, probe),
            timeout=timeout,
            what=f"{ref} ({'bare server' if bare else '/init'}) on {probe.path}",
            alive=lambda: _container_problem(name),
        )
        seconds = time.monotonic() - started
        memory = None
        if idle_seconds is not None:
            time.sleep(idle_seconds)  # on purpose: the memory of a server left idle
            memory = container_memory(name)
        return seconds, memory
    finally:
        engine.run("rm", "-f", "-v", name, check=False)


def measure_startup(
    *, ref: str, probe: Probe, bare: bool, runs: int, timeout: float, idle_seconds: float
) -> Timing:
    """`runs` start-ups in one mode; the memory is taken on the first."""
    times: list[float] = []
    memory: int | None = None
    for index in range(runs):
        seconds, used = start_once(
            ref=ref,
            probe=probe,
            bare=bare,
            timeout=timeout,
            idle_seconds=idle_seconds if index == 0 else None,
        )
        times.append(seconds)
        memory = used if index == 0 else memory
        log.info("%s %s run %d: %.2f s", ref, "bare" if bare else "/init", index + 1, seconds)
    return summarize(times, memory=memory)


def measure_image(
    graph: Graph, name: str, *, ref: str, runs: int, timeout: float, idle_seconds: float
) -> ImageRun:
    """Size and (runs > 0) start-ups through /init and bare of one local image."""
    size = image_size(ref)
    folders = chain_folders(graph, name)
    probe = select_probe(folders=folders)
    if probe is None:
        reason = no_probe_reason(
            folders=folders, found_services=services(root=graph.root, folders=folders)
        )
        return ImageRun(name=name, ref=ref, size=size, reason=reason)
    if runs < 1:
        return ImageRun(
            name=name, ref=ref, size=size, probe=probe.resolved(prefix=PREFIX), reason="skipped"
        )
    timings: dict[bool, Timing | None] = {}
    problems: list[str] = []
    for bare in (False, True):
        try:
            timings[bare] = measure_startup(
                ref=ref, probe=probe, bare=bare, runs=runs, timeout=timeout,
                idle_seconds=idle_seconds,
            )  # fmt: skip
        except UserError as exc:
            log.error("%s", exc)
            timings[bare], problems = None, [*problems, str(exc)]
    return ImageRun(
        name=name,
        ref=ref,
        size=size,
        probe=probe.resolved(prefix=PREFIX),
        init=timings[False],
        bare=timings[True],
        reason="; ".join(problems),
    )


# --- builds --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What every build of the bench shares."""

    graph: Graph
    settings: Settings
    ca_files: tuple[Path, ...]
    log_file: TextIO
    machine: Machine


def timed_build(
    ctx: Context, names: Sequence[str], *, tag: str, no_cache: bool, jobs: int = 1
) -> tuple[float, BuildReport]:
    """Wall time and report of one real build with the bench registry."""
    request = BuildRequest(
        registry=BENCH_REGISTRY,
        tags=(tag,),
        jobs=jobs,
        no_cache=no_cache,
        ca_files=ctx.ca_files,
    )
    flags = f"{' --no-cache' if no_cache else ''} --jobs {jobs} --tag {tag}"
    log.info("invoke build %s%s (output: %s)", ",".join(names), flags, ctx.log_file.name)
    ctx.log_file.write(f"\n===== invoke build {','.join(names)}{flags}\n")
    started = time.monotonic()
    report = build_images(ctx.graph, names, request, settings=ctx.settings, stream=ctx.log_file)
    seconds = time.monotonic() - started
    for result in report.results:
        log.info("  %s: %s %.1f s %s", result.name, result.status, result.duration, result.reason)
    return seconds, report


def cold_rows(report: BuildReport) -> tuple[ImageBuild, ...]:
    return tuple(
        ImageBuild(
            name=r.name,
            status=str(r.status),
            seconds=r.duration if r.status == Status.BUILT else None,
            reason=r.reason,
        )
        for r in report.results
    )


def compare_jobs(ctx: Context, names: Sequence[str]) -> tuple[Rebuild, ...]:
    """The set built cold with --jobs 1, then --jobs 2 (images removed after each)."""
    runs = []
    for jobs in (1, 2):
        seconds, report = timed_build(ctx, names, tag=f"jobs{jobs}", no_cache=True, jobs=jobs)
        runs.append(
            Rebuild(
                names=tuple(names),
                seconds=seconds,
                statuses=statuses(report.results),
                window=build_window(report.results, names),
                jobs=jobs,
            )
        )
        remove_bench_images()
    return tuple(runs)


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    names: tuple[str, ...] = (ALL,)
    skip_cold: bool = False
    skip_startup: bool = False
    skip_jobs: bool = False
    jobs_images: tuple[str, ...] = DEFAULT_JOBS_IMAGES
    runs: int = 3
    idle_seconds: float = 10
    start_timeout: float = 180
    registry: str = DEFAULT_REGISTRY
    """With --skip-cold: the refs measured (`<registry>/<repository>:<tag>`)."""
    tag: str = DEFAULT_TAG
    output_dir: Path = ROOT / "bench"
    log_dir: Path = ROOT / "artifacts" / "bench"


@contextmanager
def _cleanup() -> Iterator[None]:
    """No bench container or `kfnb-bench/...` image before and after (also on Ctrl-C)."""
    _remove_bench_containers()
    remove_bench_images()
    try:
        yield
    finally:
        _remove_bench_containers()
        remove_bench_images()


@dataclass(frozen=True)
class Subjects:
    """The images whose size and start-up are measured, and those that cannot be."""

    refs: Mapping[str, str]
    """Image name -> local ref."""
    missing: tuple[tuple[str, str], ...] = ()
    """(image name, why it is not measured)."""


def cold_phase(ctx: Context, names: Sequence[str]) -> tuple[Results, Subjects]:
    """The cold build of `names` (and their ancestors), then the no-op rebuild of what it
    built; partial Results (cold, noop) and the built images as subjects."""
    _, report = timed_build(ctx, names, tag=BENCH_TAG, no_cache=True)
    built = [r for r in report.results if r.status.ok]
    noop = None
    if built:
        seconds, again = timed_build(ctx, [r.name for r in built], tag=BENCH_TAG, no_cache=False)
        noop = Rebuild(
            names=tuple(r.name for r in built), seconds=seconds, statuses=statuses(again.results)
        )
    missing = tuple(
        (r.name, f"not built ({r.status}: {r.reason})") for r in report.results if not r.status.ok
    )
    partial = Results(machine=ctx.machine, images=(), cold=cold_rows(report), noop=noop)
    return partial, Subjects(refs={r.name: r.ref for r in built}, missing=missing)


def existing_subjects(graph: Graph, names: Sequence[str], *, registry: str, tag: str) -> Subjects:
    """With --skip-cold: the images' `<registry>/<repository>:<tag>` refs that exist."""
    refs: dict[str, str] = {}
    missing: list[tuple[str, str]] = []
    for name in names:
        ref = image_ref(graph.get(name), registry=registry, tag=tag)
        if engine.inspect_image(ref) is None:
            missing.append((name, f"{ref} is not built locally"))
        else:
            refs[name] = ref
    return Subjects(refs=refs, missing=tuple(missing))


def run(options: Options, *, settings: Settings, root: Path = ROOT) -> Results:
    """Every measurement of `options`, in this order: cold build, no-op rebuild, sizes and
    start-ups (of the images just built, or of the existing refs with --skip-cold); then
    the bench images are removed (disk) and the --jobs builds run."""
    started = time.monotonic()
    engine.check_docker()
    graph = load_graph(root)
    names = expand_names(graph, options.names, base_ref=None)
    jobs_names = expand_names(graph, options.jobs_images, base_ref=None)
    if below := [n for n in jobs_names if {a.name for a in graph.ancestors(n)} & set(jobs_names)]:
        log.warning("--jobs-images: %s build FROM the set: not independent", ", ".join(below))
    planned = tuple(image.name for image in plan_images(graph, names))
    built = [] if options.skip_cold else list(planned)
    built += [] if options.skip_jobs else [i.name for i in plan_images(graph, jobs_names)]
    if warning := disk_warning(free=_docker_free_bytes(), needed=_known_size(graph, built)):
        log.warning("%s", warning)
    options.log_dir.mkdir(parents=True, exist_ok=True)
    with (options.log_dir / "build.log").open("w", encoding="utf-8") as log_file, _cleanup():
        ctx = Context(
            graph=graph,
            settings=settings,
            ca_files=tuple(collect_ca_files([], default=settings.ca_cert)),
            log_file=log_file,
            machine=read_machine(root=root, settings=settings),
        )
        if options.skip_cold:
            partial = Results(machine=ctx.machine, images=())
            subjects = existing_subjects(graph, planned, registry=options.registry, tag=options.tag)
        else:
            partial, subjects = cold_phase(ctx, names)
        runs = tuple(
            measure_image(
                graph, name, ref=ref,
                runs=0 if options.skip_startup else options.runs,
                timeout=options.start_timeout, idle_seconds=options.idle_seconds,
            )
            for name, ref in subjects.refs.items()
        )  # fmt: skip
        remove_bench_images()  # disk: the --jobs builds come next
        jobs = () if options.skip_jobs else compare_jobs(ctx, jobs_names)
    mounts = tuple(
        (name, tuple(ids))
        for name in planned
        if (ids := cache_mounts(root=root, dockerfile=graph.get(name).dockerfile))
    )
    return replace(
        partial,
        images=planned,
        cache_mounts=mounts,
        runs=runs,
        startup_runs=0 if options.skip_startup else options.runs,
        idle_seconds=options.idle_seconds,
        jobs=jobs,
        missing=subjects.missing,
        duration=time.monotonic() - started,
    )


def write_results(results: Results, *, output_dir: Path) -> tuple[Path, Path]:
    """results.md and results.png in `output_dir`."""
    output_dir.mkdir(parents=True, exist_ok=True)
    markdown, chart = output_dir / "results.md", output_dir / "results.png"
    markdown.write_text(format_results(results), encoding="utf-8")
    write_chart(results, path=chart)
    return markdown, chart


def _names(value: str) -> tuple[str, ...]:
    return tuple(value.replace(",", " ").split())


def parse_args(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m kfimages.bench", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "names", nargs="*", default=[ALL], help="images, comma- or space-separated (default all)"
    )
    parser.add_argument(
        "--skip-cold",
        action="store_true",
        help="build nothing: measure the existing --registry/--tag refs",
    )
    parser.add_argument("--skip-startup", action="store_true", help="no start-up runs")
    parser.add_argument("--skip-jobs", action="store_true", help="no --jobs 1 vs 2 builds")
    parser.add_argument(
        "--jobs-images",
        default=",".join(DEFAULT_JOBS_IMAGES),
        help="independent images of the --jobs comparison (default %(default)s)",
    )
    parser.add_argument("--runs", type=int, default=3, help="start-ups per image and mode")
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=10,
        help="wait after the first 200 before reading the memory",
    )
    parser.add_argument("--start-timeout", type=float, default=180, help="seconds per start-up")
    parser.add_argument("--registry", default=DEFAULT_REGISTRY, help="with --skip-cold")
    parser.add_argument("--tag", default=DEFAULT_TAG, help="with --skip-cold")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=ROOT / "bench",
        help="where results.md and results.png go (default bench/)",
    )
    args = parser.parse_args(list(argv))
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return Options(
        names=tuple(n for word in args.names for n in _names(word)) or (ALL,),
        skip_cold=args.skip_cold,
        skip_startup=args.skip_startup,
        skip_jobs=args.skip_jobs,
        jobs_images=_names(args.jobs_images),
        runs=args.runs,
        idle_seconds=args.idle_seconds,
        start_timeout=args.start_timeout,
        registry=args.registry,
        tag=args.tag,
        output_dir=args.output_dir,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = Settings.from_environ()
        logging.basicConfig(
            level=getattr(logging, settings.log_level, logging.INFO),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            datefmt="%H:%M:%S",
            stream=sys.stderr,
        )
        logging.getLogger("matplotlib").setLevel(logging.WARNING)
        results = run(options, settings=settings)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    markdown, chart = write_results(results, output_dir=options.output_dir)
    print(f"wrote {markdown} and {chart} in {results.duration / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
