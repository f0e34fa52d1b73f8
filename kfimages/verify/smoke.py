"""`invoke smoke`: build the selected images (tag `latest`), then run each one's smoke tests
(`pytest tests/images --image NAME`), and summarise.

- Selection: names, else the images affected since `--base REF` (else $KFIMAGES_BASE_REF).
- The build goes through `kfimages.build.run` with the same settings as `invoke build`, so a
  tested image always carries the current input digest: a stale one is rebuilt first.
- An image that is blocked by an unreachable artifact, or skipped because an ancestor is,
  is still handed to pytest: its tests that need the final image skip with the URL, and
  the tests of what can be built (e.g. rstudio's R stage) run. An image whose build
  failed, or whose parent's did, is not tested and fails the run.
- pytest's exit code 5 (no tests collected) is a failure: every image inherits base's
  contract tests, so an empty run means the harness lost the image's tests.
- `--platform linux/arm64` on an amd64 host (another platform than the host's): the images are
  built for it (refs with the tag suffix `-arm64`, kfimages.platforms) and pytest gets
  `--platform`, which keeps only the tests marked `emulated` (a small subset: under QEMU a
  container starts about 50x slower). Without names, the affected images whose image.yaml
  lists the platform in `emulated_smoke` are picked.
"""

from __future__ import annotations

import enum
import logging
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kfimages import engine, platforms
from kfimages.build.ca import collect_ca_files
from kfimages.build.plan import BuildRequest, step_name
from kfimages.build.report import Result, Status
from kfimages.build.run import build_images, prepare
from kfimages.errors import UserError
from kfimages.repo import changes
from kfimages.repo.graph import TESTS_DIR, Graph
from kfimages.repo.inputs import INPUTS_LABEL
from kfimages.settings import Settings
from kfimages.tables import text_table

log = logging.getLogger(__name__)

SMOKE_TAG = "latest"
NO_TESTS_COLLECTED = 5

PytestRunner = Callable[[Sequence[str]], int]


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


def smoke_platform(value: str) -> str:
    """The one platform of a smoke run (`--platform`; default the host's)."""
    return platforms.parse_one(value, what="smoke tests run on")


def select(
    graph: Graph, *, names: Sequence[str], base_ref: str, platform: str | None = None
) -> list[str]:
    """The images named, else those affected since `base_ref` (parents first); on another
    platform than the host's, only the affected images whose image.yaml lists it in
    `emulated_smoke`."""
    words = [n for arg in names for n in arg.replace(",", " ").split()]
    if words:
        return [graph.get(w).name for w in words]
    if not base_ref:
        raise UserError(
            "no images to smoke-test: name them, or pass --base REF, or set $KFIMAGES_BASE_REF"
        )
    picked = changes.affected(graph, base_ref=base_ref)
    log.info("affected since %s: %s", base_ref, ", ".join(i.name for i in picked) or "no image")
    if platform and platforms.is_foreign(platform):
        picked = [i for i in picked if platform in i.config.emulated_smoke]
        log.info("of those, emulated_smoke on %s: %s", platform,
                 ", ".join(i.name for i in picked) or "none")  # fmt: skip
    return [i.name for i in picked]


def verdict(result: Result, pytest_code: int | None) -> Outcome:
    """Combine an image's build result and its pytest exit code (None: not run)."""
    if pytest_code is None:
        return Outcome(result.name, Verdict.FAILED, f"not tested: {result.status} {result.reason}")
    if pytest_code == NO_TESTS_COLLECTED:
        return Outcome(result.name, Verdict.FAILED, "no tests collected (pytest exit 5)")
    if pytest_code != 0:
        return Outcome(result.name, Verdict.FAILED, f"pytest exit {pytest_code}")
    if result.status.ok:
        return Outcome(result.name, Verdict.PASSED)
    return Outcome(result.name, Verdict.PARTLY, f"{result.status}: {result.reason}")


def testable(result: Result) -> bool:
    """Whether pytest runs for an image: built, reused, or only blocked by an artifact."""
    if result.status.ok or result.status == Status.BLOCKED:
        return True
    return result.status == Status.SKIPPED and bool(result.blocked_by)


def pytest_command(name: str, *, extra: Sequence[str], platform: str = "") -> list[str]:
    foreign = ["--platform", platform] if platform and platforms.is_foreign(platform) else []
    return [sys.executable, "-m", "pytest", TESTS_DIR, "--image", name, "-q", *foreign, *extra]


def run_pytest_in(root: Path) -> PytestRunner:
    """The real runner: pytest in a child process at the repository root."""

    def run(command: Sequence[str]) -> int:
        return subprocess.run(list(command), cwd=root, check=False).returncode

    return run


def smoke(
    graph: Graph,
    names: Sequence[str],
    *,
    settings: Settings,
    request: BuildRequest,
    pytest_args: Sequence[str] = (),
    run_pytest: PytestRunner | None = None,
) -> list[Outcome]:
    """Build `names` (tag latest) and run their smoke tests; an outcome per image."""
    runner = run_pytest or run_pytest_in(graph.root)
    report = build_images(graph, names, request, settings=settings)
    results = report.by_name()
    platform = request.platforms[0] if request.platforms else platforms.host_platform()
    outcomes = []
    for image in graph.build_order(names):
        result = results[step_name(image.name, platform, host=platforms.host_platform())]
        code = None
        if testable(result):
            log.info("smoke tests of %s on %s", image.name, platform)
            code = runner(pytest_command(image.name, extra=pytest_args, platform=platform))
        outcomes.append(verdict(result, code))
    return outcomes


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
    rows = [(o.name, str(o.verdict), o.detail) for o in outcomes]
    return "\n".join(text_table(("IMAGE", "SMOKE", "DETAIL"), rows))


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """1 when an image failed or was not tested, else 0."""
    return 1 if any(o.verdict == Verdict.FAILED for o in outcomes) else 0
