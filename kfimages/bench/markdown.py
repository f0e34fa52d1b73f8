"""bench/results.md: the machine, then a Markdown table per measurement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from kfimages.bench.builds import BENCH_REGISTRY, BENCH_TAG
from kfimages.bench.machine import Quiet
from kfimages.bench.probes import INTERVAL_S, PREFIX
from kfimages.bench.results import MB, MIB, Part, Rebuild, Results, Timing, jobs_speedup
from kfimages.tables import markdown_table

Row = TypeVar("Row", bound=tuple[str, ...])


def not_measured(part: Part) -> str:
    return f"Not measured in this run (`invoke bench --only` without `{part}`)."


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _timing(value: Timing | None, *, fmt: str = "{:.2f}") -> str:
    if value is None:
        return "n/a"
    if value.runs == 1:
        return fmt.format(value.median)
    return f"{fmt.format(value.median)} ({fmt.format(value.low)}-{fmt.format(value.high)})"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}x"


def _mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / MIB:.0f}"


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
        ("measured", ", ".join(results.parts)),
        ("bench run time", f"{results.duration / 60:.1f} min"),
    ]
    return [
        "# Benchmark of the images",
        "",
        "Written by `.venv/bin/nox -s bench` (`invoke bench`, "
        "[kfimages/bench/](../kfimages/bench/)); not part of CI. Figures from one machine "
        "at one time: other work on the machine changes them (see the load average).",
        "",
        *markdown_table(("machine", ""), rows),
        "",
        "![build time, size, start-up and idle memory per image](results.png)",
    ]


def _plan_section(results: Results) -> list[str]:
    lines = ["", "## Planning", ""]
    if Part.PLAN not in results.parts:
        return [*lines, not_measured(Part.PLAN)]
    runs = results.plan[0].timing.runs if results.plan else 0
    lines += [
        f"Milliseconds per step, median (min-max) of {runs} runs, on this repository: what "
        "`invoke build`, `invoke affected` and `invoke smoke` compute before any build. The "
        "selection is dominated by its `git` subprocesses.",
        "",
    ]
    rows = [(s.label, _timing(s.timing, fmt="{:.1f}"), s.result) for s in results.plan]
    return [*lines, *markdown_table(("step", "time (ms)", "result"), rows)]


def _speedup_line(runs: Sequence[Rebuild]) -> str:
    window, wall = jobs_speedup(runs)
    ratio = "n/a" if window is None else f"{window:.2f}x"
    whole = "n/a" if wall is None else f"{wall:.2f}x"
    return f"Speed-up of `--jobs 2`: **{ratio}** (set window), {whole} (whole build)."


def _chain_section(results: Results) -> list[str]:
    lines = ["", "## Throwaway chain: the build system's own overhead", ""]
    if Part.CHAIN not in results.parts:
        return [*lines, not_measured(Part.CHAIN)]
    lines += [
        f"{results.chain_shape}: built, built again (every image `reused`), then rebuilt "
        "with `--no-cache` and `--jobs 1` versus `--jobs 2`. CPU work only, no download.",
        "",
    ]
    rows = [
        (r.label, f"{r.seconds:.2f}", _seconds(r.window), r.statuses)
        for r in (*results.chain, *results.chain_jobs)
    ]
    lines += markdown_table(("build", "wall time (s)", "children's window (s)", "statuses"), rows)
    return [*lines, "", _speedup_line(results.chain_jobs)]


def _cold_section(results: Results) -> list[str]:
    lines = ["", "## Cold build", ""]
    if Part.COLD not in results.parts:
        return [*lines, not_measured(Part.COLD)]
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
        return [*lines, f"Not measured in this run (it follows the `{Part.COLD}` part)."]
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
    lines = ["", "## Image size", ""]
    if not {Part.COLD, Part.STARTUP} & set(results.parts):
        return [*lines, not_measured(Part.STARTUP)]
    rows = [
        (r.name, f"`{r.ref}`", "n/a" if r.size is None else f"{r.size / MB:.0f}")
        for r in results.runs
    ]
    rows += [(name, "n/a", f"n/a: {reason}") for name, reason in results.missing]
    rows = _in_plan_order(rows, results.images)
    return [
        *lines,
        "Uncompressed (`docker image inspect` Size, MB = 10^6 bytes).",
        "",
        *markdown_table(("image", "ref", "size (MB)"), rows),
    ]


def _quiet(quiet: Quiet | None) -> str:
    """The sentence on how quiet the CPUs were before the start-ups (machine.settle)."""
    if quiet is None:
        return ""
    share = f"{quiet.idle:.0%} idle over {quiet.window:g} s"
    how = f"{share} {quiet.waited:.1f} s later" if quiet.reached else (
        f"not within {quiet.waited:.0f} s ({share}): the figures vary more"
    )  # fmt: skip
    return (
        f"Before the first start-up, the bench flushed the page cache's writes (`sync`, "
        f"{quiet.sync:.1f} s) and waited for the CPUs to be {quiet.target:.0%} idle: {how}. "
    )


def _startup_section(results: Results) -> list[str]:
    lines = ["", "## Start-up and idle memory", ""]
    if Part.STARTUP not in results.parts:
        return [*lines, not_measured(Part.STARTUP)]
    lines += [
        "Seconds from `docker run -d` to the first HTTP 200 on the image's probe URL (port "
        f"8888), `NB_PREFIX={PREFIX}`: median (min-max) of {results.startup_runs} run(s) per "
        "mode, after one start of each that is not counted (the first after a build reads the "
        "image's files from disk), the modes interleaved and counterbalanced (/init, bare, "
        "bare, /init, ...), so that both see the same load and each follows the other as "
        f"often (within one for an odd count). {_quiet(results.quiet)}The probe runs on the "
        "host, in the bench's own process: one GET every "
        f"{INTERVAL_S * 1000:.0f} ms on the port Docker published on 127.0.0.1 (no program "
        "started, no `docker exec` into the container while it starts, and the port read with "
        "one request to the engine's API, not a `docker port`: the platform too "
        "reaches a server from outside), and the end is the host's clock when the 200 came. "
        "**/init**: the image's entrypoint, as Kubeflow starts it (cont-init.d scripts, then "
        "the s6-supervised service). **bare server**: the service's own run script as the "
        "entrypoint (`--entrypoint /etc/services.d/<service>/run`, the command /init's "
        "supervisor would run): no cont-init.d, no supervision; the difference is what /init "
        "costs: **/init / bare** is the ratio of the medians, **/init - bare** their "
        "difference. Idle memory: `docker stats` "
        f"MemUsage {results.idle_seconds:.0f} s after the first counted run's 200, in MiB.",
        "",
    ]
    rows = [
        (
            r.name,
            f"`{r.probe}`" if r.probe else "n/a",
            _timing(r.init),
            _timing(r.bare),
            _ratio(r.ratio),
            "n/a" if r.extra_ms is None else f"{r.extra_ms:+.1f}",
            _mib(r.init.memory if r.init else None),
            _mib(r.bare.memory if r.bare else None),
            r.reason,
        )
        for r in results.runs
    ]
    rows += [(name, *("n/a",) * 7, reason) for name, reason in results.missing]
    rows = _in_plan_order(rows, results.images)
    headers = (
        "image",
        "probe",
        "/init to 200 (s)",
        "bare server to 200 (s)",
        "/init / bare",
        "/init - bare (ms)",
        "idle memory, /init (MiB)",
        "idle memory, bare (MiB)",
        "note",
    )
    return [*lines, *markdown_table(headers, rows)]


def _jobs_section(results: Results) -> list[str]:
    lines = ["", "## `--jobs 2` speed-up", ""]
    if Part.JOBS not in results.parts or not results.jobs:
        return [*lines, not_measured(Part.JOBS)]
    names = ",".join(results.jobs[0].names)
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
    return [*lines, "", _speedup_line(results.jobs)]


def _platform_section(results: Results) -> list[str]:
    foreign = results.foreign_platform or "another platform"
    lines = ["", f"## Builds for {foreign} (QEMU) next to native ones", ""]
    if Part.ARM64 not in results.parts:
        return [*lines, not_measured(Part.ARM64)]
    if results.platform_note:
        return [*lines, f"Not measured: {results.platform_note}."]
    lines += [
        f"The images of this run whose image.yaml lists {foreign} in `emulated_smoke` (those "
        f"CI builds and smoke-tests there), with their ancestors: `invoke build NAMES "
        f"--no-cache` natively, then with `--platform {foreign}` through QEMU user emulation "
        "on this host. The time is each image's own step, as in the cold build.",
        "",
    ]
    rows = [
        (b.name, _seconds(b.native), _seconds(b.foreign), _ratio(b.ratio), b.reason)
        for b in results.platform_builds
    ]
    headers = ("image", "native (s)", f"{foreign}, QEMU (s)", "QEMU / native", "note")
    return [*lines, *markdown_table(headers, rows)]


def _suites_section(results: Results) -> list[str]:
    lines = ["", "## Smoke suites", ""]
    if Part.SUITES not in results.parts:
        return [*lines, not_measured(Part.SUITES)]
    lines += [
        "Per image, `pytest tests/images --image NAME` (on another platform: its `emulated` "
        "tests, `NAME@arch`): the time of its junit XML, from the last `invoke smoke` "
        "(artifacts/smoke/) where there is one, else run by this bench against the image it "
        "measured. The suites of CI's other phases (unit tests, integration) are in "
        "[CI phases](#ci-phases).",
        "",
    ]
    rows = [
        (
            s.name,
            _seconds(s.seconds),
            "n/a" if s.report is None else str(s.report.tests),
            "n/a" if s.report is None else str(s.report.failures),
            "n/a" if s.report is None else str(s.report.skipped),
            s.source,
            s.reason,
        )
        for s in results.suites
    ]
    headers = ("suite", "time (s)", "tests", "failed", "skipped", "from", "note")
    return [*lines, *markdown_table(headers, rows)]


def _ci_section(results: Results) -> list[str]:
    lines = ["", "## CI phases", ""]
    if Part.CI not in results.parts:
        return [*lines, not_measured(Part.CI)]
    if not results.ci_runs:
        return [*lines, f"No `.ci/run` recorded its phases in `{results.ci_dir}` on this host."]
    lines += [
        "`.ci/run` as it recorded itself on this host (scripts/phases.sh, one file per run in "
        f"`{results.ci_dir}`): the latest run that tested every image and the latest that "
        "tested what changed since the last green commit (or a given ref). Read, not measured "
        "by this bench: the machine and its load were those of the CI run. A `background:` "
        "row ran beside the phases (the image builds during the integration tests and the "
        "suites) and is not part of the total.",
    ]
    for run in results.ci_runs:
        code = "killed" if run.exit_code is None else f"exit {run.exit_code}"
        lines += [
            "",
            f"Run `{run.name}` (head `{run.notes.get('head', '?')[:12]}`): "
            f"{run.describe()}, {code}, {run.total / 60:.1f} min.",
            "",
        ]
        rows = [(p.name, f"{p.seconds:.1f}", str(p.exit_code)) for p in run.phases]
        rows.append(("total", f"{run.total:.1f}", ""))
        lines += markdown_table(("phase", "time (s)", "exit"), rows)
    return lines


def format_results(results: Results) -> str:
    """bench/results.md."""
    lines = [
        *_header(results),
        *_plan_section(results),
        *_chain_section(results),
        *_cold_section(results),
        *_noop_section(results),
        *_size_section(results),
        *_startup_section(results),
        *_suites_section(results),
        *_platform_section(results),
        *_jobs_section(results),
        *_ci_section(results),
    ]
    return "\n".join(lines) + "\n"
