"""`invoke smoke NAMES`: build the selected images (tag `latest`), then run each one's smoke
tests (`pytest tests/images --image NAME`), and summarise; `--dry-run` prints that plan.

- Selection: NAMES as every task reads them (kfimages.names: `NAME[,NAME...]`, `all`,
  `affected` with `--base REF`, else $KFIMAGES_BASE_REF), resolved like `invoke build`'s.
- Platforms (`legs`): with `--platform P`, P only. Without, the host's platform, then each
  other supported platform for the images a set (`all`, `affected`) picked whose image.yaml
  lists it in `emulated_smoke` (their `emulated` subset under QEMU; what CI's `nox -s smoke`
  runs). A leg with a failure ends the run: the next platforms are not tested.
- The build goes through `kfimages.build.run` with the same settings as `invoke build`, so a
  tested image always carries the current input digest: a stale one is rebuilt first. When
  every image of a leg already carries it (or is blocked), nothing is built and no build
  lock is taken; `--build-only` builds without testing (both in kfimages.verify.legbuild).
- An image that is blocked by an unreachable artifact, or skipped because an ancestor is,
  is still handed to pytest: its tests that need the final image skip with the URL, and
  the tests of what can be built (e.g. rstudio's R stage) run. An image whose build
  failed, or whose parent's did, is not tested and fails the run.
- After the build (before the tests), the reporter writes each image's SBOM and manifest
  (kfimages.ship.reports) and `notes` prints each rebuilt image's diff against the image it
  replaced, `previous` (kfimages.ship.release), or that it has none (a cold run).
- pytest's exit code 5 (no tests collected) is a failure: every image inherits base's
  contract tests, so an empty run means the harness lost the image's tests.
- The suites run after the builds (every image of the leg is then built), up to `--jobs` at
  once (`run_suites`): one suite streams its output to the terminal; several at once each
  write theirs to `artifacts/smoke/<image>.log`, printed whole when the suite ends, so
  suites never interleave. Every suite writes its junit XML (each test's duration, the
  properties the tests record) to `artifacts/smoke/<image>.xml` (REPORTS_DIR), and the
  summary gives each suite's time.
- `--platform linux/arm64` on an amd64 host (another platform than the host's): the images are
  built for it (refs with the tag suffix `-arm64`, kfimages.platforms) and pytest gets
  `--platform`, which keeps only the tests marked `emulated` (a small subset: under QEMU a
  container starts about 50x slower). Of the images a set picked, only those whose
  image.yaml lists the platform in `emulated_smoke` are tested there; named ones always.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import shlex
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from kfimages import engine, platforms
from kfimages.build.ca import collect_ca_files
from kfimages.build.plan import BuildRequest, expand_names
from kfimages.build.report import Result
from kfimages.build.run import Reporter, build_images, prepare
from kfimages.build.stop import STOP
from kfimages.names import SETS, Names
from kfimages.repo.graph import Graph
from kfimages.repo.inputs import INPUTS_LABEL
from kfimages.settings import Settings
from kfimages.tables import text_table
from kfimages.verify import suites
from kfimages.verify.legbuild import (
    Leg,
    Notes,
    build_leg,
    check_emulators,
    testable,
)
from kfimages.verify.suites import (
    PytestRunner,
    Suite,
    pytest_command,
    run_pytest_in,
    run_suites,
    suite_name,
)

log = logging.getLogger(__name__)

SMOKE_TAG = "latest"
NO_TESTS_COLLECTED = 5


class Verdict(enum.StrEnum):
    PASSED = "passed"
    PARTLY = "passed (blocked parts skipped)"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Outcome:
    """The smoke result of one image."""

    name: str
    verdict: Verdict
    detail: str = ""
    seconds: float | None = None
    """How long its pytest suite ran (None: not run)."""


def smoke_platform(value: str) -> str:
    """The one platform of a smoke run (`--platform`; default the host's)."""
    return platforms.parse_one(value, what="smoke tests run on")


def legs(graph: Graph, names: Names, *, platform: str = "") -> list[Leg]:
    """The platforms a smoke run tests and the images on each, in order (empty legs left
    out). With `platform` (`--platform`), that one: every image NAMES gives on the host's
    platform; on another one, the images named as such, and of those a set (`all`,
    `affected`) picked the ones whose image.yaml lists it in `emulated_smoke`. Without, the
    host's platform, then each other supported one for the images of a set that opt in."""
    picked = {w: expand_names(graph, [w], base_ref=names.base_ref) for w in names.words}
    wanted = tuple(dict.fromkeys(n for w in names.words for n in picked[w]))
    from_sets = {n for w in names.words if w in SETS for n in picked[w]}

    def on(target: str, *, named: Sequence[str]) -> tuple[str, ...]:
        if not platforms.is_foreign(target):
            return wanted
        opted = {n for n in from_sets if target in graph.get(n).config.emulated_smoke}
        return tuple(n for n in wanted if n in named or n in opted)

    if platform:
        target = smoke_platform(platform)
        out = [Leg(target, on(target, named=names.images))]
    else:  # the host's platform, then the others for the images of a set that opt in
        out = [Leg(p, on(p, named=())) for p in platforms.host_first()]
    for leg in out:
        log.info("smoke on %s: %s", leg.platform, ", ".join(leg.names) or "no image")
    return [leg for leg in out if leg.names]


def nothing_to_test(names: Names, *, platform: str = "") -> str:
    """The line of a smoke run whose legs are all empty."""
    where = ""
    if platform and platforms.is_foreign(smoke_platform(platform)):
        where = f" that lists {smoke_platform(platform)} in emulated_smoke"
    since = f"affected since {names.base_ref}" if names.base_ref else "selected"
    return f"smoke: no image {since}{where}: nothing to test"


def verdict(result: Result, pytest_code: int | None, *, seconds: float | None = None) -> Outcome:
    """Combine an image's build result and its pytest exit code (None: not run)."""
    outcome = _verdict(result, pytest_code)
    return dataclasses.replace(outcome, seconds=seconds) if pytest_code is not None else outcome


def _verdict(result: Result, pytest_code: int | None) -> Outcome:
    if pytest_code is None:
        return Outcome(result.name, Verdict.FAILED, f"not tested: {result.status} {result.reason}")
    if pytest_code == NO_TESTS_COLLECTED:
        return Outcome(result.name, Verdict.FAILED, "no tests collected (pytest exit 5)")
    if pytest_code != 0:
        return Outcome(result.name, Verdict.FAILED, f"pytest exit {pytest_code}")
    if result.status.ok:
        return Outcome(result.name, Verdict.PASSED)
    return Outcome(result.name, Verdict.PARTLY, f"{result.status}: {result.reason}")


def smoke(
    graph: Graph,
    names: Sequence[str],
    *,
    settings: Settings,
    request: BuildRequest,
    pytest_args: Sequence[str] = (),
    workers: int = suites.WORKERS,
    run_pytest: PytestRunner | None = None,
    reporter: Reporter | None = None,
    notes: Notes | None = None,
    stream: TextIO | None = None,
) -> list[Outcome]:
    """Build `names` (tag latest) on the request's platform (`build_leg`), then run their
    smoke tests, up to `request.jobs` suites at once (`run_suites`), each over `workers`
    pytest processes; an outcome per image (one leg), parents first."""
    runner = run_pytest or run_pytest_in(graph.root)
    report = build_leg(
        graph, names, settings=settings, request=request, reporter=reporter, notes=notes
    )
    STOP.check("no smoke test run")  # a signal during the build ends the smoke run
    results = report.by_name()
    platform = request.platforms[0] if request.platforms else platforms.host_platform()
    order = graph.build_order(names)
    built = [results[suite_name(image.name, platform)] for image in order]
    planned = [
        Suite(
            result.name,
            tuple(
                pytest_command(image.name, extra=pytest_args, platform=platform, workers=workers)
            ),
        )
        for image, result in zip(order, built, strict=True)
        if testable(result)
    ]
    ran = run_suites(
        planned,
        jobs=request.jobs,
        run_pytest=runner,
        logs=graph.root / suites.REPORTS_DIR,
        stream=stream or sys.stdout,
    )
    return [
        verdict(result, ran[result.name].code, seconds=ran[result.name].seconds)
        if result.name in ran
        else verdict(result, None)
        for result in built
    ]


def run_legs(
    graph: Graph,
    plan: Sequence[Leg],
    *,
    settings: Settings,
    request: BuildRequest,
    pytest_args: Sequence[str] = (),
    workers: int = suites.WORKERS,
    run_pytest: PytestRunner | None = None,
    reporter: Reporter | None = None,
    notes: Notes | None = None,
) -> list[Outcome]:
    """Each leg in turn (`smoke` on its platform); a leg with a failure ends the run. Every
    platform's emulator is checked first, before anything is built."""
    check_emulators(plan)
    outcomes: list[Outcome] = []
    for index, leg in enumerate(plan):
        leg_request = dataclasses.replace(request, platforms=(leg.platform,))
        got = smoke(graph, leg.names, settings=settings, request=leg_request,
                    pytest_args=pytest_args, workers=workers, run_pytest=run_pytest,
                    reporter=reporter, notes=notes)  # fmt: skip
        outcomes += got
        rest = ", ".join(later.platform for later in plan[index + 1 :])
        if exit_code(got) and rest:
            log.error("smoke on %s failed: not tested on %s", leg.platform, rest)
            break
    return outcomes


def dry_run(
    graph: Graph,
    plan: Sequence[Leg],
    *,
    settings: Settings,
    request: BuildRequest,
    pytest_args: Sequence[str] = (),
    workers: int = suites.WORKERS,
    stream: TextIO,
) -> None:
    """Print per leg the build plan (as `invoke build --dry-run` makes it: reuse or build,
    the buildx command lines) and the pytest command lines; build and run nothing."""
    for leg in plan:
        how = " (QEMU: its `emulated` tests)" if platforms.is_foreign(leg.platform) else ""
        stream.write(f"== smoke on {leg.platform}{how}: {', '.join(leg.names)}\n\n")
        leg_request = dataclasses.replace(request, platforms=(leg.platform,), dry_run=True)
        build_images(graph, leg.names, leg_request, settings=settings, stream=stream)
        at_once = f", up to {request.jobs} at once" if request.jobs > 1 else ""
        stream.write(f"\n# pytest, in {graph.root}, for each image the build gives{at_once}\n")
        for image in graph.build_order(leg.names):
            command = pytest_command(
                image.name, extra=pytest_args, platform=leg.platform, workers=workers
            )
            stream.write(shlex.join(command) + "\n")
        stream.write("\n")
    stream.flush()


def stale_problem(
    graph: Graph,
    name: str,
    *,
    settings: Settings,
    registry: str,
    tag: str = SMOKE_TAG,
    platform: str = "",
) -> str | None:
    """None when the local image of `name` (for `platform`, default the host's) carries the
    input digest a build would give it now (same settings), else one line saying what is
    wrong and how to rebuild it."""
    request = BuildRequest(
        registry=registry,
        tags=(tag,),
        bake_ca_files=tuple(collect_ca_files([], default=settings.bake_ca)),
        dry_run=True,
        platforms=(platform,) if platform else (),
    )
    with tempfile.TemporaryDirectory(prefix="kfimages-fresh-") as tmp:
        step = prepare(graph, [name], request, settings=settings, work=Path(tmp))[-1]
    labels = engine.image_labels(step.ref)
    option = f" --platform {platform}" if platform else ""
    fix = (
        f"build it first: invoke smoke {name}{option} (or invoke build {name} --tag {tag}{option})"
    )
    if labels is None:
        return f"{step.ref} does not exist; {fix}"
    found = labels.get(INPUTS_LABEL, "(none)")
    if found != step.inputs.digest:
        return (
            f"{step.ref} is stale: its {INPUTS_LABEL} {found[:12]} is not the current input "
            f"digest {step.inputs.digest[:12]}; {fix}"
        )
    return None


def summary(outcomes: Sequence[Outcome]) -> str:
    """A row per image: its verdict, how long its suite ran, and why it failed or was partly
    tested."""
    rows = [
        (o.name, str(o.verdict), "-" if o.seconds is None else f"{o.seconds:.0f}s", o.detail)
        for o in outcomes
    ]
    return "\n".join(text_table(("IMAGE", "SMOKE", "TIME", "DETAIL"), rows))


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """1 when an image failed or was not tested, else 0."""
    return 1 if any(o.verdict == Verdict.FAILED for o in outcomes) else 0
