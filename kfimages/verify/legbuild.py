"""Building the images of smoke legs (kfimages.verify.smoke): one leg's build, which builds
nothing and takes no build lock when every image is built already (`build_leg`), and
`invoke smoke --build-only` (`build_legs`), which CI runs while its integration tests run
(scripts/test.sh)."""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kfimages import engine, platforms
from kfimages.build.plan import BuildRequest, Step
from kfimages.build.report import BuildReport, Result, Status, skipped_below
from kfimages.build.run import Reporter, blocked_reason, build_images, prepare
from kfimages.build.stop import STOP
from kfimages.errors import UserError
from kfimages.repo.graph import Graph
from kfimages.repo.inputs import INPUTS_LABEL
from kfimages.settings import Settings

log = logging.getLogger(__name__)

Notes = Callable[[Sequence[Result]], Iterable[str]]
"""Lines printed after the build, e.g. each rebuilt image's diff against the image it
replaced (kfimages.ship.release.rebuilt_lines)."""


@dataclass(frozen=True)
class Leg:
    """The images smoke-tested on one platform."""

    platform: str
    names: tuple[str, ...]


def testable(result: Result) -> bool:
    """Whether pytest runs for an image: built, reused, or only blocked by an artifact."""
    if result.status.ok or result.status == Status.BLOCKED:
        return True
    return result.status == Status.SKIPPED and bool(result.blocked_by)


def check_emulators(plan: Sequence[Leg]) -> None:
    """Every platform of the plan can run here (QEMU for another one), before anything builds."""
    try:
        platforms.check_runnable([leg.platform for leg in plan])
    except UserError as exc:
        host = platforms.host_platform()
        raise UserError(f"{exc}; or test on this host's platform only: --platform {host}") from None


def already_built(
    graph: Graph, names: Sequence[str], *, settings: Settings, request: BuildRequest
) -> tuple[list[Step], list[Result]] | None:
    """The results of a build of `names` that would build nothing, found from a dry run's
    plan, without the build lock: every image's ref already carries its input digest
    (`reused`), or an artifact of it cannot be fetched (`blocked`), or its parent is one of
    those that are not usable (`skipped`). None when an image needs a build, and with
    `--no-cache`."""
    if request.no_cache:
        return None
    plan = dataclasses.replace(request, dry_run=True)
    with tempfile.TemporaryDirectory(prefix="kfimages-built-") as tmp:
        steps = prepare(graph, names, plan, settings=settings, work=Path(tmp))
    results: dict[str, Result] = {}
    for step in steps:
        above = [results[p] for p in (step.parent, step.build_parent) if p in results]
        failed = next((r for r in above if not r.status.ok), None)
        if failed is not None:
            results[step.name] = skipped_below(failed, name=step.name, ref=step.ref)
        elif (engine.image_labels(step.ref) or {}).get(INPUTS_LABEL) == step.inputs.digest:
            results[step.name] = Result(step.name, step.ref, Status.REUSED, reason="built before")
        elif (blocked := blocked_reason(step)) is not None:
            results[step.name] = Result(
                step.name, step.ref, Status.BLOCKED, reason=blocked, blocked_by=step.name
            )
        else:
            return None
    return steps, list(results.values())


def build_leg(
    graph: Graph,
    names: Sequence[str],
    *,
    settings: Settings,
    request: BuildRequest,
    reporter: Reporter | None = None,
    notes: Notes | None = None,
) -> BuildReport:
    """Build `names` for smoke tests, writing each image's reports (`reporter`) and printing
    `notes` of the build; when every image is built already (`already_built`), nothing is
    built and no build lock is taken: a leg whose images an earlier `--build-only` run built
    is tested while another build of the same registry prefix holds the lock (CI builds every
    platform's images while the integration tests run, scripts/test.sh)."""
    done = already_built(graph, names, settings=settings, request=request)
    if done is not None:
        log.info("every image is built from its current inputs (or blocked): nothing to build")
        steps, results = done
        report = BuildReport(results=results)
        if reporter is not None:
            reporter(steps, report)  # a report missing or older than its image is written
        return report
    report = build_images(graph, names, request, settings=settings, reporter=reporter)
    for line in notes(report.results) if notes is not None else ():
        print(line, flush=True)
    return report


def build_legs(
    graph: Graph,
    plan: Sequence[Leg],
    *,
    settings: Settings,
    request: BuildRequest,
    reporter: Reporter | None = None,
    notes: Notes | None = None,
) -> int:
    """`invoke smoke --build-only`: each leg's images built in turn (`build_leg`: reports and
    notes too), no test; 1 when an image failed or was not built because its parent failed,
    else 0 (a blocked image, and one below it, is tested later for what it has)."""
    check_emulators(plan)
    code = 0
    for leg in plan:
        STOP.check(f"no build for {leg.platform}")
        leg_request = dataclasses.replace(request, platforms=(leg.platform,))
        report = build_leg(graph, leg.names, settings=settings, request=leg_request,
                           reporter=reporter, notes=notes)  # fmt: skip
        if not all(testable(result) for result in report.results):
            code = 1
    return code
