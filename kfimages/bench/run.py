"""`invoke bench`: the parts in order, then results.md and results.png.

A run of every part writes into bench/ (the committed figures come from one machine at one
time); a run of some parts (`--only`) into artifacts/bench/, unless `--output-dir` says
otherwise. The build output of every part goes to artifacts/bench/build.log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from kfimages import engine, platforms
from kfimages.bench.builds import (
    BENCH_REGISTRY,
    BENCH_TAG,
    Context,
    Subjects,
    cleanup,
    cold_phase,
    compare_jobs,
    emulated_images,
    existing_subjects,
    platform_phase,
)
from kfimages.bench.chain import measure_chain, shape
from kfimages.bench.chart import check_matplotlib, write_chart
from kfimages.bench.ci import latest, phases_dir, read_runs
from kfimages.bench.machine import Quiet, disk_warning, known_size, read_machine, settle
from kfimages.bench.markdown import format_results
from kfimages.bench.planning import measure_planning
from kfimages.bench.results import ImageBuild, Part, PlanStep, PlatformBuild, Rebuild, Results
from kfimages.bench.startup import measure_image
from kfimages.bench.suites import SuiteRun, suite_runs
from kfimages.build.ca import collect_ca_files
from kfimages.build.plan import expand_names, plan_images
from kfimages.dockerfiles import cache_mounts
from kfimages.errors import UserError
from kfimages.names import AFFECTED, ALL
from kfimages.repo.graph import DEFAULT_REGISTRY, DEFAULT_TAG, Graph, load_graph
from kfimages.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_JOBS_IMAGES = ("codeserver", "jupyter")
LOG_DIR = Path("artifacts") / "bench"
"""Under the repository: build.log, and the results of a run of some parts."""


@dataclass(frozen=True)
class Options:
    """What `invoke bench` was asked (its options, in the same words)."""

    names: tuple[str, ...] = (ALL,)
    parts: tuple[Part, ...] = tuple(Part)
    jobs_images: tuple[str, ...] = DEFAULT_JOBS_IMAGES
    runs: int = 5
    idle_seconds: float = 10
    start_timeout: float = 180
    registry: str = DEFAULT_REGISTRY
    """Without the cold part: the refs whose start-ups are measured."""
    tag: str = DEFAULT_TAG
    base: str = ""
    """With NAMES `affected`: since when; the planning part's base (default HEAD)."""
    plan_runs: int = 20
    chain_children: int = 4
    chain_work_mb: int = 1200
    output_dir: Path | None = None
    chart: bool = True
    ci_dir: Path | None = None
    """The CI's phase records (default $KFIMAGES_CI_PHASES, else /var/lib/kfimages-ci/phases)."""


def parse_parts(text: str) -> tuple[Part, ...]:
    """`--only plan,chain`: the parts in their run order; empty: every part."""
    if not text.strip():
        return tuple(Part)
    words = [word.strip() for word in text.split(",")]
    known = ", ".join(Part)
    if "" in words:
        raise UserError(f"--only {text!r} has an empty part; use e.g. --only plan,chain")
    if unknown := [word for word in words if word not in set(Part)]:
        raise UserError(f"unknown part '{unknown[0]}' in --only; use one or more of {known}")
    return tuple(part for part in Part if part in words)


def check_options(options: Options) -> None:
    """One line naming the option when a number cannot work."""
    for flag, value, least in (
        ("--runs", options.runs, 1),
        ("--plan-runs", options.plan_runs, 1),
        ("--chain-children", options.chain_children, 1),
        ("--chain-work-mb", options.chain_work_mb, 1),
        ("--start-timeout", options.start_timeout, 1),
        ("--idle-seconds", options.idle_seconds, 0),
    ):
        if value < least:
            raise UserError(f"{flag} must be at least {least}, not {value}")


def output_dir(options: Options, *, root: Path) -> Path:
    """Where results.md and results.png go (see the module's docstring)."""
    if options.output_dir is not None:
        return options.output_dir
    return root / "bench" if set(options.parts) == set(Part) else root / LOG_DIR


def _independent(graph: Graph, names: Sequence[str]) -> None:
    below = [n for n in names if {a.name for a in graph.ancestors(n)} & set(names)]
    if below:
        log.warning("--jobs-images: %s build FROM the set: not independent", ", ".join(below))


def run(options: Options, *, settings: Settings, root: Path) -> Results:
    """Every part of `options`, in this order: planning, throwaway chain, cold build and
    no-op rebuild, sizes and start-ups (of the images just built, else of the existing
    --registry/--tag refs), then (the bench images removed for disk) the --jobs builds."""
    started = time.monotonic()
    parts = set(options.parts)
    check_options(options)
    if options.chart:
        check_matplotlib()
    engine.check_docker()
    graph = load_graph(root)
    base_ref = options.base if AFFECTED in options.names else None
    names = expand_names(graph, options.names, base_ref=base_ref)
    planned = tuple(image.name for image in plan_images(graph, names))
    jobs_names = expand_names(graph, options.jobs_images, base_ref=None)
    _independent(graph, jobs_names)
    built = list(planned) if Part.COLD in parts else []
    built += [i.name for i in plan_images(graph, jobs_names)] if Part.JOBS in parts else []
    if warning := disk_warning(free=engine.free_bytes(), needed=known_size(graph, built)):
        log.warning("%s", warning)
    (root / LOG_DIR).mkdir(parents=True, exist_ok=True)
    machine = read_machine(root=root, settings=settings)
    with (root / LOG_DIR / "build.log").open("w", encoding="utf-8") as log_file, cleanup():
        ctx = Context(
            graph=graph,
            settings=settings,
            ca_files=tuple(collect_ca_files([], default=settings.ca_cert)),
            log_file=log_file,
        )
        plan: tuple[PlanStep, ...] = ()
        if Part.PLAN in parts:
            plan_base = options.base or "HEAD"
            plan = measure_planning(
                root=root, settings=settings, base=plan_base, runs=options.plan_runs
            )
        chain: tuple[Rebuild, ...] = ()
        chain_jobs: tuple[Rebuild, ...] = ()
        if Part.CHAIN in parts:
            chain, chain_jobs = measure_chain(
                ctx, children=options.chain_children, work_mb=options.chain_work_mb
            )
        cold: tuple[ImageBuild, ...] = ()
        noop: Rebuild | None = None
        subjects = Subjects(refs={})
        if Part.COLD in parts:
            cold, noop, subjects = cold_phase(ctx, names)
        elif {Part.STARTUP, Part.SUITES} & parts:  # the images already built
            subjects = existing_subjects(graph, planned, registry=options.registry, tag=options.tag)
        quiet = _settle(options, subjects) if Part.STARTUP in parts else None
        runs = tuple(
            measure_image(
                graph, name, ref=ref,
                runs=options.runs if Part.STARTUP in parts else 0,
                timeout=options.start_timeout, idle_seconds=options.idle_seconds,
            )
            for name, ref in subjects.refs.items()
        )  # fmt: skip
        suites = _suites(options, subjects, root=root, log_file=log_file)
        foreign = next(iter(platforms.host_first()[1:]), "")
        emulated = emulated_images(graph, planned, platform=foreign)
        note = _platform_note(parts, foreign=foreign, emulated=emulated)
        builds: tuple[PlatformBuild, ...] = ()
        if Part.ARM64 in parts and not note:
            builds = platform_phase(ctx, emulated, platform=foreign)
        engine.remove_images_under(BENCH_REGISTRY)  # disk: the --jobs builds come next
        jobs = compare_jobs(ctx, jobs_names) if Part.JOBS in parts else ()
    ci_folder = options.ci_dir or phases_dir()
    ci_runs = latest(read_runs(ci_folder)) if Part.CI in parts else ()
    mounts = tuple(
        (name, tuple(ids))
        for name in planned
        if (ids := cache_mounts((root / graph.get(name).dockerfile).read_text(encoding="utf-8")))
    )
    return Results(
        machine=machine,
        images=planned,
        parts=options.parts,
        plan=plan,
        chain=chain,
        chain_jobs=chain_jobs,
        chain_shape=shape(children=options.chain_children, work_mb=options.chain_work_mb),
        cold=cold,
        cache_mounts=mounts,
        noop=noop,
        runs=runs,
        startup_runs=options.runs if Part.STARTUP in parts else 0,
        quiet=quiet,
        idle_seconds=options.idle_seconds,
        jobs=jobs,
        missing=subjects.missing,
        foreign_platform=foreign,
        platform_builds=builds,
        platform_note=note,
        suites=suites,
        ci_dir=str(ci_folder),
        ci_runs=ci_runs,
        duration=time.monotonic() - started,
    )


def _settle(options: Options, subjects: Subjects) -> Quiet | None:
    """Before the start-ups (if any): the machine settled (machine.settle), and how quiet."""
    if options.runs < 1 or not subjects.refs:
        return None
    quiet = settle()
    log.info(
        "before the start-ups: the CPUs %.0f%% idle after %.1f s%s", quiet.idle * 100,
        quiet.waited, "" if quiet.reached else " (not quiet: the figures vary more)",
    )  # fmt: skip
    return quiet


def _suites(
    options: Options, subjects: Subjects, *, root: Path, log_file: TextIO
) -> tuple[SuiteRun, ...]:
    """The smoke suites of the measured images (the `suites` part), else none."""
    if Part.SUITES not in options.parts:
        return ()
    cold = Part.COLD in options.parts
    where = (BENCH_REGISTRY, BENCH_TAG) if cold else (options.registry, options.tag)
    return suite_runs(root, dict.fromkeys(subjects.refs, where), log_file=log_file)


def _platform_note(parts: set[Part], *, foreign: str, emulated: Sequence[str]) -> str:
    """Why the `arm64` part builds nothing (empty: it builds)."""
    if Part.ARM64 not in parts:
        return ""
    if not foreign:
        return "no other platform than the host's is supported"
    if not emulated:
        return f"no image of this run lists {foreign} in its image.yaml emulated_smoke"
    problem = platforms.emulation_problem(foreign)
    return f"not built: {problem}" if problem else ""


def write_results(results: Results, *, output: Path, chart: bool = True) -> list[Path]:
    """results.md (and with `chart` results.png) in `output`; the files written."""
    output.mkdir(parents=True, exist_ok=True)
    markdown = output / "results.md"
    markdown.write_text(format_results(results), encoding="utf-8")
    if not chart:
        return [markdown]
    write_chart(results, path=output / "results.png")
    return [markdown, output / "results.png"]
