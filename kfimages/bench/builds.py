"""The bench's real builds, timed: the cold build and its no-op rebuild, the `--jobs 1`
versus `--jobs 2` comparison. Every image goes under the `kfnb-bench` prefix, so the real
`kfnb/...` refs never move, and is removed when the run ends."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from kfimages import engine, platforms
from kfimages.bench.probes import BENCH_LABEL
from kfimages.bench.results import ImageBuild, PlatformBuild, Rebuild, build_window, statuses
from kfimages.build.plan import BuildRequest, step_name
from kfimages.build.report import BuildReport, Status
from kfimages.build.run import build_images
from kfimages.repo.graph import Graph, image_ref
from kfimages.settings import Settings

log = logging.getLogger(__name__)

BENCH_REGISTRY = "kfnb-bench"
"""Registry prefix of every image the bench builds (removed at the end)."""
BENCH_TAG = "bench"
PLATFORM_TAG = "platforms"
"""Tag of the `arm64` part's builds (another platform's refs get its suffix)."""


@dataclass(frozen=True)
class Context:
    """What every build of the bench shares."""

    graph: Graph
    settings: Settings
    ca_files: tuple[Path, ...]
    log_file: TextIO
    registry: str = BENCH_REGISTRY


@dataclass(frozen=True)
class Subjects:
    """The images whose size and start-up are measured, and those that cannot be."""

    refs: Mapping[str, str]
    """Image name -> local ref."""
    missing: tuple[tuple[str, str], ...] = ()
    """(image name, why it is not measured)."""


@contextmanager
def cleanup(registry: str = BENCH_REGISTRY) -> Iterator[None]:
    """No bench container and no `<registry>/...` image before and after (also on Ctrl-C)."""
    engine.remove_labelled_containers(f"{BENCH_LABEL}=1")
    engine.remove_images_under(registry)
    try:
        yield
    finally:
        engine.remove_labelled_containers(f"{BENCH_LABEL}=1")
        engine.remove_images_under(registry)


def timed_build(
    ctx: Context,
    names: Sequence[str],
    *,
    tag: str,
    no_cache: bool,
    jobs: int = 1,
    platform: str = "",
) -> tuple[float, BuildReport]:
    """Wall time and report of one real build with the bench registry."""
    request = BuildRequest(
        registry=ctx.registry, tags=(tag,), jobs=jobs, no_cache=no_cache, ca_files=ctx.ca_files,
        platforms=(platform,) if platform else (),
    )  # fmt: skip
    flags = f"{' --no-cache' if no_cache else ''} --jobs {jobs} --tag {tag}"
    flags += f" --platform {platform}" if platform else ""
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
                label=f"{len(report.results)} images (--no-cache), --jobs {jobs}",
            )
        )
        engine.remove_images_under(ctx.registry)
    return tuple(runs)


def cold_phase(
    ctx: Context, names: Sequence[str]
) -> tuple[tuple[ImageBuild, ...], Rebuild | None, Subjects]:
    """The cold build of `names` (and their ancestors), then the no-op rebuild of what it
    built: the cold rows, the no-op rebuild, and the built images as subjects."""
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
    return cold_rows(report), noop, Subjects(refs={r.name: r.ref for r in built}, missing=missing)


def existing_subjects(graph: Graph, names: Sequence[str], *, registry: str, tag: str) -> Subjects:
    """Without the cold build: the images' `<registry>/<repository>:<tag>` refs that exist."""
    refs: dict[str, str] = {}
    missing: list[tuple[str, str]] = []
    for name in names:
        ref = image_ref(graph.get(name), registry=registry, tag=tag)
        if engine.inspect_image(ref) is None:
            missing.append((name, f"{ref} is not built locally"))
        else:
            refs[name] = ref
    return Subjects(refs=refs, missing=tuple(missing))


def emulated_images(graph: Graph, names: Sequence[str], *, platform: str) -> list[str]:
    """The images of `names` whose image.yaml lists `platform` in emulated_smoke: those CI
    builds and tests there under QEMU."""
    return [n for n in names if platform in graph.get(n).config.emulated_smoke]


def platform_phase(
    ctx: Context, names: Sequence[str], *, platform: str
) -> tuple[PlatformBuild, ...]:
    """`names` (and their ancestors) built `--no-cache` natively, then for `platform` (under
    QEMU): each image's own step on both, side by side."""
    _, native = timed_build(ctx, names, tag=PLATFORM_TAG, no_cache=True)
    _, foreign = timed_build(ctx, names, tag=PLATFORM_TAG, no_cache=True, platform=platform)
    host = platforms.host_platform()
    there = {r.name: r for r in foreign.results}
    rows = []
    for here in native.results:
        other = there.get(step_name(here.name, platform, host=host))
        problems = [
            f"{where}: {r.status} {r.reason}".rstrip()
            for where, r in (("native", here), (platform, other))
            if r is not None and r.status != Status.BUILT
        ]
        rows.append(
            PlatformBuild(
                name=here.name,
                native=here.duration if here.status == Status.BUILT else None,
                foreign=other.duration if other and other.status == Status.BUILT else None,
                reason="; ".join(problems) if other else f"{platform}: not built",
            )
        )
    return tuple(rows)
