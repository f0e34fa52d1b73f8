"""How long the planning half takes on this repository: loading the graph, the rebuild
selection against a base ref and against the first commit (every file changed), and the
plan of every image with its input digest (`invoke build all --dry-run` without printing)."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kfimages import git
from kfimages.bench.results import PlanStep, summarize
from kfimages.build.ca import collect_ca_files
from kfimages.build.plan import BuildRequest
from kfimages.build.run import prepare
from kfimages.repo.changes import affected
from kfimages.repo.graph import DEFAULT_TAG, load_graph
from kfimages.settings import Settings

log = logging.getLogger(__name__)


def timed_ms(action: Callable[[], int], *, runs: int) -> tuple[list[float], int]:
    """Milliseconds of each of `runs` calls, and what the last call counted."""
    times: list[float] = []
    counted = 0
    for _ in range(runs):
        started = time.perf_counter()
        counted = action()
        times.append((time.perf_counter() - started) * 1000)
    return times, counted


def first_commit(root: Path) -> str:
    """The repository's first commit (the worst case of a rebuild selection)."""
    return git.output(root, "rev-list", "--max-parents=0", "HEAD").split()[-1]


def plan_every_image(root: Path, *, settings: Settings) -> int:
    """Load the graph and plan every image with its input digest, as a dry run; how many."""
    graph = load_graph(root)
    request = BuildRequest(
        tags=(DEFAULT_TAG,),
        ca_files=tuple(collect_ca_files([], default=settings.ca_cert)),
        dry_run=True,
    )
    with tempfile.TemporaryDirectory(prefix="kfimages-bench-") as tmp:
        steps = prepare(graph, sorted(graph.images), request, settings=settings, work=Path(tmp))
    return len(steps)


def measure_planning(
    *, root: Path, settings: Settings, base: str, runs: int
) -> tuple[PlanStep, ...]:
    """Each planning step `runs` times (milliseconds), with what it found."""
    graph = load_graph(root)
    first = first_commit(root)

    def changed() -> int:
        return len(git.changed_paths(root=root, commit=git.merge_base(root=root, base_ref=base)))

    steps: list[tuple[str, str, Callable[[], int]]] = [
        ("load the graph", "images", lambda: len(load_graph(root).images)),
        (f"changed paths since {base}", "paths", changed),
        (
            f"load the graph + affected since {base}",
            "affected",
            lambda: len(affected(load_graph(root), base_ref=base)),
        ),
        (
            f"affected since the first commit {first[:12]}",
            "affected",
            lambda: len(affected(graph, base_ref=first)),
        ),
        (
            "plan every image with its input digest (`build all --dry-run`)",
            "steps",
            lambda: plan_every_image(root, settings=settings),
        ),
    ]
    out = []
    for label, unit, action in steps:
        times, counted = timed_ms(action, runs=runs)
        log.info("%s: median %.1f ms", label, sorted(times)[len(times) // 2])
        out.append(PlanStep(label=label, timing=summarize(times), result=f"{counted} {unit}"))
    return tuple(out)
