"""`invoke smoke`'s logic (kfimages.verify.smoke) without Docker: which images pytest runs for,
the verdict per image and the exit code; the build is a fake returning a fixed report."""

from __future__ import annotations

import io
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from kfimages import engine, platforms
from kfimages.build.plan import BuildRequest, step_name
from kfimages.build.report import BuildReport, Result, Status
from kfimages.build.run import prepare
from kfimages.names import parse
from kfimages.repo.graph import Graph
from kfimages.repo.inputs import INPUTS_LABEL
from kfimages.settings import Settings
from kfimages.verify import legbuild, smoke
from kfimages.verify.smoke import Outcome, Verdict, exit_code, verdict
from tests.unit.conftest import Repo

BLOCKED = "artifact rstudio: cannot reach https://download.example/rstudio.deb"


def result(name: str, status: Status, reason: str = "", blocked_by: str = "") -> Result:
    return Result(
        name=name, ref=f"kfnb/{name}:latest", status=status, reason=reason, blocked_by=blocked_by
    )


# ------------------------------------------------------------------------ verdict


def test_verdict() -> None:
    built, reused = result("a", Status.BUILT), result("a", Status.REUSED)
    assert verdict(built, 0) == Outcome("a", Verdict.PASSED)
    assert verdict(reused, 0) == Outcome("a", Verdict.PASSED)
    assert verdict(built, 1) == Outcome("a", Verdict.FAILED, "pytest exit 1")
    assert verdict(built, 5) == Outcome("a", Verdict.FAILED, "no tests collected (pytest exit 5)")
    blocked = result("r", Status.BLOCKED, BLOCKED)
    assert verdict(blocked, 0) == Outcome("r", Verdict.PARTLY, f"blocked: {BLOCKED}")
    assert verdict(blocked, 5).verdict == Verdict.FAILED
    assert verdict(blocked, 2).verdict == Verdict.FAILED
    skipped = result("t", Status.SKIPPED, f"parent r blocked: {BLOCKED}", blocked_by="r")
    assert verdict(skipped, 0) == Outcome(
        "t", Verdict.PARTLY, f"skipped: parent r blocked: {BLOCKED}"
    )
    failed = result("f", Status.FAILED, "RUN x failed (exit code: 7)")
    assert verdict(failed, None) == Outcome(
        "f", Verdict.FAILED, "not tested: failed RUN x failed (exit code: 7)"
    )


def test_testable() -> None:
    assert legbuild.testable(result("a", Status.BUILT))
    assert legbuild.testable(result("a", Status.REUSED))
    assert legbuild.testable(result("r", Status.BLOCKED, BLOCKED, "r")), (
        "its unblocked parts are tested"
    )
    assert legbuild.testable(result("t", Status.SKIPPED, f"parent r blocked: {BLOCKED}", "r"))
    assert not legbuild.testable(result("f", Status.FAILED, "RUN x failed"))
    assert not legbuild.testable(result("c", Status.SKIPPED, "parent f failed"))


def test_skipped_below_a_failed_parent_is_not_tested_whatever_its_name() -> None:
    # Image names may contain "blocked" (e.g. an image `unblocked`): a child of a FAILED
    # image must not be handed to pytest because its parent's name says "blocked".
    assert not legbuild.testable(result("c", Status.SKIPPED, "parent unblocked failed"))
    assert not legbuild.testable(result("c", Status.SKIPPED, "parent blocked-fonts failed"))


def test_exit_code() -> None:
    assert exit_code([]) == 0
    assert exit_code([Outcome("a", Verdict.PASSED), Outcome("r", Verdict.PARTLY, "x")]) == 0
    assert exit_code([Outcome("a", Verdict.PASSED), Outcome("f", Verdict.FAILED, "x")]) == 1


def test_summary() -> None:
    lines = smoke.summary(
        [
            Outcome("base", Verdict.PASSED, seconds=61.4),
            Outcome("rstudio", Verdict.PARTLY, "blocked: x", seconds=9),
            Outcome("bad", Verdict.FAILED, "not tested: failed"),
        ]
    ).splitlines()
    assert lines[0].split() == ["IMAGE", "SMOKE", "TIME", "DETAIL"]
    assert lines[1].split() == ["base", "passed", "61s"]
    assert lines[2] == "rstudio  passed (blocked parts skipped)  9s    blocked: x"
    assert lines[3] == "bad      FAILED                          -     not tested: failed"


# ---------------------------------------------------------------------- selection


def legs(graph: Graph, value: str, *, base: str = "", platform: str = "") -> list[legbuild.Leg]:
    return smoke.legs(graph, parse(value, known=graph.images, base=base), platform=platform)


def test_legs_of_names_and_sets(chain: Repo) -> None:
    """NAMES as every task reads them; without --platform the host's leg only, as no image
    of the chain opts into another platform."""
    graph = chain.graph()
    host = platforms.host_platform()
    assert legs(graph, "jupyter,base,codeserver") == [
        legbuild.Leg(host, ("jupyter", "base", "codeserver"))
    ]
    assert legs(graph, "all") == [legbuild.Leg(host, tuple(sorted(graph.images)))]
    assert legs(graph, "affected", base="main") == []
    chain.append("jupyter/Dockerfile")
    assert legs(graph, "affected", base="main") == [
        legbuild.Leg(host, ("jupyter", "pytorch.cpu", "pytorch.cuda"))
    ]
    assert legs(graph, "jupyter", platform=host) == [legbuild.Leg(host, ("jupyter",))]


def test_nothing_to_test_says_since_when(chain: Repo) -> None:
    names = parse("affected", known=chain.graph().images, base="main")
    assert smoke.nothing_to_test(names) == "smoke: no image affected since main: nothing to test"


# ------------------------------------------------------------ smoke() end to end


@pytest.fixture(autouse=True)
def nothing_built_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    """The throwaway repositories' images are not in the engine: every leg builds (the
    shortcut of a leg built already is tested below and in tests/integration)."""
    monkeypatch.setattr("kfimages.verify.legbuild.already_built", lambda *a, **kw: None)


@pytest.fixture
def family(repo: Repo) -> Graph:
    """base -> jupyter, rstudio -> tidy, bad -> badchild, empty."""
    repo.image("base", "debian:trixie-slim")
    for name, parent in [("jupyter", "base"), ("rstudio", "base"), ("tidy", "rstudio"),
                         ("bad", "base"), ("badchild", "bad"), ("empty", "base")]:  # fmt: skip
        repo.image(name, parent)
    return repo.graph()


REPORT = BuildReport(
    results=[
        result("base", Status.REUSED),
        result("bad", Status.FAILED, "RUN false failed (exit code: 1)"),
        result("empty", Status.BUILT),
        result("jupyter", Status.BUILT),
        result("rstudio", Status.BLOCKED, BLOCKED),
        result("badchild", Status.SKIPPED, "parent bad failed"),
        result("tidy", Status.SKIPPED, f"parent rstudio blocked: {BLOCKED}", "rstudio"),
    ]
)


def test_smoke_runs_pytest_for_the_testable_images(
    family: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[tuple[Any, ...]] = []

    def fake_build(graph: Graph, names: Sequence[str], request: BuildRequest, **kw: Any):  # type: ignore[no-untyped-def]
        builds.append((graph, list(names), request, kw))
        return REPORT

    commands: list[list[str]] = []

    def fake_pytest(command: Sequence[str], output: Path | None) -> int:
        assert output is None, "one suite at a time (jobs 1): its output to the terminal"
        commands.append(list(command))
        image = command[command.index("--image") + 1]
        return {"empty": 5, "jupyter": 1}.get(image, 0)

    monkeypatch.setattr("kfimages.verify.legbuild.build_images", fake_build)
    settings = Settings(jobs=2)
    request = BuildRequest(tags=(smoke.SMOKE_TAG,))
    wanted = ["tidy", "badchild", "jupyter", "base", "empty", "bad", "rstudio"]
    outcomes = smoke.smoke(
        family, wanted, settings=settings, request=request, pytest_args=["-x"],
        run_pytest=fake_pytest,
    )  # fmt: skip
    assert builds == [(family, wanted, request, {"settings": settings, "reporter": None})]
    tested = [c[c.index("--image") + 1] for c in commands]
    assert tested == ["base", "empty", "jupyter", "rstudio", "tidy"], "parents first"
    assert commands[0] == [
        sys.executable, "-m", "pytest", "tests/images", "--image", "base", "-q",
        "--junitxml=artifacts/smoke/base.xml", "-o", "junit_family=xunit1",
        "-n", "2", "--dist", "worksteal", "-x",
    ]  # fmt: skip
    got = {o.name: (o.verdict, o.detail) for o in outcomes}
    assert [o.name for o in outcomes] == [i.name for i in family.build_order(wanted)]
    assert got == {
        "base": (Verdict.PASSED, ""),
        "bad": (Verdict.FAILED, "not tested: failed RUN false failed (exit code: 1)"),
        "empty": (Verdict.FAILED, "no tests collected (pytest exit 5)"),
        "jupyter": (Verdict.FAILED, "pytest exit 1"),
        "rstudio": (Verdict.PARTLY, f"blocked: {BLOCKED}"),
        "badchild": (Verdict.FAILED, "not tested: skipped parent bad failed"),
        "tidy": (Verdict.PARTLY, f"skipped: parent rstudio blocked: {BLOCKED}"),
    }
    assert exit_code(outcomes) == 1


def test_smoke_of_a_blocked_image_alone_passes_partly(
    family: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kfimages.verify.legbuild.build_images", lambda *a, **kw: REPORT)
    outcomes = smoke.smoke(
        family, ["rstudio", "tidy"], settings=Settings(), request=BuildRequest(),
        run_pytest=lambda command, output: 0,
    )  # fmt: skip
    assert [o.verdict for o in outcomes] == [Verdict.PARTLY, Verdict.PARTLY]
    assert exit_code(outcomes) == 0


def test_the_legs_run_in_turn_and_a_failed_one_ends_the_run(
    family: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As `nox -s smoke` did in a loop: the host's leg, then the emulated one, not after a
    failure; every platform's emulator is checked before anything is built."""
    host = platforms.host_platform()
    other = next(p for p in platforms.SUPPORTED if p != host)
    events: list[Any] = []
    monkeypatch.setattr("kfimages.verify.smoke.platforms.check_runnable", events.append)

    def fake_build(graph: Graph, names: Sequence[str], request: BuildRequest, **kw: Any):  # type: ignore[no-untyped-def]
        events.append(request.platforms)
        return BuildReport(
            [result(step_name("base", request.platforms[0], host=host), Status.BUILT)]
        )

    monkeypatch.setattr("kfimages.verify.legbuild.build_images", fake_build)
    plan = [legbuild.Leg(host, ("base",)), legbuild.Leg(other, ("base",))]
    passing = smoke.run_legs(family, plan, settings=Settings(), request=BuildRequest(),
                             run_pytest=lambda command, output: 0)  # fmt: skip
    assert events == [[host, other], (host,), (other,)]
    assert [o.verdict for o in passing] == [Verdict.PASSED, Verdict.PASSED]
    events.clear()
    failing = smoke.run_legs(family, plan, settings=Settings(), request=BuildRequest(),
                             run_pytest=lambda command, output: 1)  # fmt: skip
    assert events == [[host, other], (host,)], "the emulated leg does not run"
    assert [o.verdict for o in failing] == [Verdict.FAILED]


def test_suites_run_at_once_up_to_jobs_each_printed_whole(
    family: Graph, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--jobs 2: two suites run at the same time (each waits at a barrier for the other: one
    after the other, the barrier breaks), each writes its output to its own file, printed in
    one block when it ends; the third starts when one of them is done."""
    both = threading.Barrier(2, timeout=10)  # a hang guard: met at once when both run
    running: list[str] = []
    peak: list[int] = []
    lock = threading.Lock()

    def fake_pytest(command: Sequence[str], output: Path | None) -> int:
        image = command[command.index("--image") + 1]
        assert output is not None, "several suites at once: their output to files"
        with lock:
            running.append(image)
            peak.append(len(running))
        if image in {"base", "jupyter"}:
            both.wait()
        output.write_text(f"{image} line 1\n{image} line 2\n")
        with lock:
            running.remove(image)
        return 1 if image == "jupyter" else 0

    report = BuildReport([result(n, Status.BUILT) for n in ("base", "jupyter", "empty")])
    monkeypatch.setattr("kfimages.verify.legbuild.build_images", lambda *a, **kw: report)
    monkeypatch.setattr("kfimages.verify.suites.REPORTS_DIR", tmp_path / "smoke")
    out = io.StringIO()
    outcomes = smoke.smoke(
        family, ["base", "jupyter", "empty"], settings=Settings(),
        request=BuildRequest(jobs=2), run_pytest=fake_pytest, stream=out,
    )  # fmt: skip
    assert max(peak) == 2, "never more suites at once than --jobs"
    assert [(o.name, o.verdict) for o in outcomes] == [
        ("base", Verdict.PASSED), ("empty", Verdict.PASSED), ("jupyter", Verdict.FAILED),
    ]  # fmt: skip
    assert all(o.seconds is not None for o in outcomes)
    lines = out.getvalue().splitlines()
    for image, code in (("base", 0), ("jupyter", 1), ("empty", 0)):
        start = next(
            i for i, line in enumerate(lines) if line.startswith(f"===== smoke tests of {image}: ")
        )
        assert lines[start + 1 : start + 3] == [f"{image} line 1", f"{image} line 2"], lines
        assert lines[start + 3].startswith(f"===== end of {image}: pytest exit {code} after "), (
            lines
        )
        assert (tmp_path / "smoke" / f"{image}.log").read_text().startswith(f"{image} line 1")


# ------------------------------------------------------------------ stale_problem


def test_stale_problem(chain: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tested image must carry the input digest a build would give it now."""
    labels: dict[str, dict[str, str] | None] = {}
    monkeypatch.setattr(engine, "check_docker", lambda: None)
    monkeypatch.setattr(engine, "inspect_image", lambda ref: {"Id": "sha256:os"})
    monkeypatch.setattr(engine, "image_labels", labels.get)
    monkeypatch.setattr(engine, "find_by_label", lambda **kw: [])
    graph = chain.graph()

    def problem() -> str | None:
        return smoke.stale_problem(graph, "jupyter", settings=Settings(), registry="kfnb")

    missing = problem()
    assert missing is not None
    assert missing.startswith("kfnb/jupyter:latest does not exist; build it first")
    labels["kfnb/jupyter:latest"] = {INPUTS_LABEL: "0" * 64}
    stale = problem()
    assert stale is not None
    assert stale.startswith(f"kfnb/jupyter:latest is stale: its {INPUTS_LABEL} 000000000000")
    current = stale.split("current input digest ")[1][:12]
    # the digest a build would give it is the one the dry-run plan computes
    full = _planned_digest(graph)
    assert full.startswith(current)
    labels["kfnb/jupyter:latest"] = {INPUTS_LABEL: full}
    assert problem() is None


def _planned_digest(graph: Graph) -> str:
    request = BuildRequest(tags=(smoke.SMOKE_TAG,), dry_run=True)
    with tempfile.TemporaryDirectory() as tmp:
        steps = prepare(graph, ["jupyter"], request, settings=Settings(), work=Path(tmp))
    return steps[-1].inputs.digest


# ------------------------------------------------------------ legs built already


def test_a_leg_built_already_is_tested_without_a_build(
    family: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every image built from its current inputs (or blocked): no build (no build lock), the
    reports of those images written, the tests run."""
    tidy = result("tidy", Status.SKIPPED, f"parent rstudio blocked: {BLOCKED}", "rstudio")
    built = [result("rstudio", Status.BLOCKED, BLOCKED, "rstudio"), tidy]
    steps: list[Any] = ["step of rstudio", "step of tidy"]
    monkeypatch.setattr("kfimages.verify.legbuild.already_built", lambda *a, **kw: (steps, built))

    def no_build(*args: Any, **kwargs: Any) -> BuildReport:
        raise AssertionError("a leg built already was built again")

    monkeypatch.setattr("kfimages.verify.legbuild.build_images", no_build)
    reported: list[Any] = []
    tested: list[str] = []

    def fake_pytest(command: Sequence[str], output: Path | None) -> int:
        tested.append(command[command.index("--image") + 1])
        return 0

    outcomes = smoke.smoke(
        family, ["rstudio", "tidy"], settings=Settings(), request=BuildRequest(),
        run_pytest=fake_pytest, reporter=lambda s, r: reported.append((s, r.results)),
    )  # fmt: skip
    assert reported == [(steps, built)]
    assert tested == ["rstudio", "tidy"]
    assert [o.verdict for o in outcomes] == [Verdict.PARTLY, Verdict.PARTLY]


def test_build_only_builds_every_leg_and_fails_on_a_failed_image(
    family: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = platforms.host_platform()
    other = next(p for p in platforms.SUPPORTED if p != host)
    monkeypatch.setattr("kfimages.verify.legbuild.platforms.check_runnable", lambda p: None)
    builds: list[tuple[str, ...]] = []

    def fake_build(graph: Graph, names: Sequence[str], request: BuildRequest, **kw: Any):  # type: ignore[no-untyped-def]
        builds.append(request.platforms)
        return (
            REPORT if request.platforms == (other,) else BuildReport([result("base", Status.BUILT)])
        )

    monkeypatch.setattr("kfimages.verify.legbuild.build_images", fake_build)
    plan = [legbuild.Leg(host, ("base",)), legbuild.Leg(other, ("base", "bad"))]
    assert legbuild.build_legs(family, plan, settings=Settings(), request=BuildRequest()) == 1
    assert builds == [(host,), (other,)], "every leg is built, in turn, after a failure too"
    blocked_only = BuildReport([r for r in REPORT.results if r.name in ("rstudio", "tidy")])
    monkeypatch.setattr("kfimages.verify.legbuild.build_images", lambda *a, **kw: blocked_only)
    assert legbuild.build_legs(family, plan, settings=Settings(), request=BuildRequest()) == 0
