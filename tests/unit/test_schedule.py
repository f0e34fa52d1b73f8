"""The scheduler (kfimages.build.schedule) with a fake runner: order, skipping, parallelism."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

import pytest

from kfimages.build.report import Result, Status
from kfimages.build.schedule import schedule

Outcome = tuple[Status, str]
HANG_GUARD_S = 60
"""How long a runner waits at a barrier for its sibling: a guard against a hang, not a
speed limit (two threads of a concurrent run meet at once; a serial run breaks the barrier,
failing that image, after this long)."""


class FakeRunner:
    """Returns a preset outcome per image (BUILT by default) and records what happened."""

    def __init__(
        self,
        outcomes: Mapping[str, Outcome] | None = None,
        *,
        hold: float = 0.0,
        hook: Callable[[str], object] | None = None,
    ) -> None:
        self.outcomes = dict(outcomes or {})
        self.hold = hold
        self.hook = hook
        self.lock = threading.Lock()
        self.events: list[tuple[str, str]] = []
        self.active = 0
        self.max_active = 0

    def __call__(self, name: str) -> Result:
        with self.lock:
            self.events.append(("start", name))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.hook is not None:
                self.hook(name)
            time.sleep(self.hold)
            status, reason = self.outcomes.get(name, (Status.BUILT, ""))
            return Result(name=name, ref=f"r/{name}:t", status=status, reason=reason)
        finally:
            with self.lock:
                self.active -= 1
                self.events.append(("end", name))

    @property
    def started(self) -> list[str]:
        return [name for kind, name in self.events if kind == "start"]

    def index(self, kind: str, name: str) -> int:
        return self.events.index((kind, name))


def run(
    names: list[str], parents: Mapping[str, str | None], runner: FakeRunner, *, jobs: int = 1
) -> dict[str, Result]:
    results = schedule(
        names,
        parents=parents,
        refs={n: f"r/{n}:t" for n in names},
        run=runner,
        jobs=jobs,
    )
    assert [r.name for r in results] == names, "results come back in plan order"
    return {r.name: r for r in results}


# a -> b -> c, a -> d; x is independent
NAMES = ["a", "x", "b", "d", "c"]
PARENTS: dict[str, str | None] = {"a": None, "x": None, "b": "a", "d": "a", "c": "b"}


@pytest.mark.parametrize("jobs", [1, 2, 4])
def test_parents_finish_before_children_start(jobs: int) -> None:
    runner = FakeRunner(hold=0.01)
    results = run(NAMES, PARENTS, runner, jobs=jobs)
    assert {r.status for r in results.values()} == {Status.BUILT}
    assert sorted(runner.started) == sorted(NAMES)
    for child, parent in PARENTS.items():
        if parent is not None:
            assert runner.index("end", parent) < runner.index("start", child), (child, parent)


def test_failed_parent_skips_its_descendants() -> None:
    runner = FakeRunner({"a": (Status.FAILED, "RUN x failed (exit code: 7)")})
    results = run(NAMES, PARENTS, runner, jobs=2)
    assert results["a"].status == Status.FAILED
    assert results["a"].reason == "RUN x failed (exit code: 7)"
    for name in ("b", "d", "c"):
        assert (results[name].status, results[name].reason) == (Status.SKIPPED, "parent a failed")
        assert results[name].ref == f"r/{name}:t"
    assert results["x"].status == Status.BUILT, "an independent image still runs"
    assert sorted(runner.started) == ["a", "x"], "skipped images never reach the runner"


def test_an_independent_image_runs_after_a_failure_with_one_job() -> None:
    runner = FakeRunner({"a": (Status.FAILED, "boom")})
    results = run(["a", "b", "x"], {"a": None, "b": "a", "x": None}, runner, jobs=1)
    assert [results[n].status for n in ("a", "b", "x")] == [
        Status.FAILED,
        Status.SKIPPED,
        Status.BUILT,
    ]
    assert runner.started == ["a", "x"]


def test_blocked_parent_reason_reaches_two_levels_down() -> None:
    reason = "artifact tool: cannot reach http://h/t.tgz"
    runner = FakeRunner({"b": (Status.BLOCKED, reason)})
    results = run(NAMES, PARENTS, runner, jobs=2)
    assert (results["b"].status, results["b"].reason) == (Status.BLOCKED, reason)
    assert results["c"].status == Status.SKIPPED
    assert results["c"].reason == f"parent b blocked: {reason}"
    assert [results[n].status for n in ("a", "d", "x")] == [Status.BUILT] * 3
    grand = {"a": None, "b": "a", "c": "b", "d": "c"}
    runner = FakeRunner({"a": (Status.BLOCKED, reason)})
    results = run(["a", "b", "c", "d"], grand, runner)
    assert {results[n].reason for n in "bcd"} == {f"parent a blocked: {reason}"}
    assert {results[n].blocked_by for n in "bcd"} == {"a"}, "smoke tests what can be built"
    assert runner.started == ["a"]


def test_skipped_below_a_failure_is_not_marked_blocked() -> None:
    runner = FakeRunner({"a": (Status.FAILED, "boom")})
    results = run(["a", "b", "c"], {"a": None, "b": "a", "c": "b"}, runner)
    assert [results[n].blocked_by for n in "abc"] == ["", "", ""]


def test_a_parent_outside_the_plan_is_not_waited_for() -> None:
    runner = FakeRunner({})
    results = run(["b"], {"b": "a"}, runner)
    assert results["b"].status == Status.BUILT


def test_reused_parent_lets_children_run() -> None:
    runner = FakeRunner({"a": (Status.REUSED, "")})
    results = run(NAMES, PARENTS, runner)
    assert results["c"].status == Status.BUILT


def test_two_jobs_really_run_two_independent_images_at_once() -> None:
    barrier = threading.Barrier(2, timeout=HANG_GUARD_S)
    # Each of x and y waits until the other one is running too: only concurrency passes.
    runner = FakeRunner(hook=lambda name: barrier.wait())
    results = run(["x", "y"], {"x": None, "y": None}, runner, jobs=2)
    assert [r.status for r in results.values()] == [Status.BUILT, Status.BUILT], results
    assert runner.max_active == 2
    # The runs overlap: both started before either ended (recorded events, no clock).
    assert max(runner.index("start", n) for n in "xy") < min(runner.index("end", n) for n in "xy")


def test_siblings_run_concurrently_after_their_parent() -> None:
    barrier = threading.Barrier(2, timeout=HANG_GUARD_S)
    runner = FakeRunner(hook=lambda name: barrier.wait() if name in ("b", "d") else None)
    results = run(NAMES, PARENTS, runner, jobs=2)
    assert results["b"].status == results["d"].status == Status.BUILT


def test_one_job_never_runs_two_at_once() -> None:
    runner = FakeRunner(hold=0.02)
    names = [f"i{n}" for n in range(6)]
    results = run(names, dict.fromkeys(names), runner, jobs=1)
    assert all(r.status == Status.BUILT for r in results.values())
    assert runner.max_active == 1
    assert runner.started == names, "one job: plan order"


def test_jobs_caps_the_concurrency() -> None:
    runner = FakeRunner(hold=0.05)
    names = [f"i{n}" for n in range(6)]
    run(names, dict.fromkeys(names), runner, jobs=3)
    assert runner.max_active == 3


def test_a_runner_exception_fails_that_image_only() -> None:
    def explode(name: str) -> None:
        if name == "b":
            raise RuntimeError("boom")

    runner = FakeRunner(hook=explode)
    results = run(NAMES, PARENTS, runner, jobs=2)
    assert results["b"].status == Status.FAILED
    assert results["b"].reason == "internal error: boom"
    assert results["b"].ref == "r/b:t"
    assert (results["c"].status, results["c"].reason) == (Status.SKIPPED, "parent b failed")
    assert [results[n].status for n in ("a", "d", "x")] == [Status.BUILT] * 3


def test_empty_plan() -> None:
    assert schedule([], parents={}, refs={}, run=FakeRunner(), jobs=2) == []


def test_a_step_waits_for_its_build_platform_parent_and_is_skipped_below_it() -> None:
    """`after`: jupyter@arm64 also needs base (the host's, its BUILD_BASE_IMG), listed after it
    here on purpose: it starts only once both parents are done, and is skipped when one failed."""
    names = ["base@arm64", "jupyter@arm64", "base"]
    parents = {"base@arm64": None, "jupyter@arm64": "base@arm64", "base": None}
    refs = {n: f"r/{n}:t" for n in names}
    after = {"jupyter@arm64": ("base",)}
    runner = FakeRunner()
    results = schedule(names, parents=parents, refs=refs, run=runner, jobs=1, after=after)
    assert [r.status for r in results] == [Status.BUILT] * 3
    assert runner.index("end", "base") < runner.index("start", "jupyter@arm64")
    failing = FakeRunner({"base": (Status.FAILED, "boom")})
    results = schedule(names, parents=parents, refs=refs, run=failing, jobs=2, after=after)
    by_name = {r.name: r for r in results}
    assert by_name["jupyter@arm64"].status is Status.SKIPPED
    assert "base" in by_name["jupyter@arm64"].reason
    assert "jupyter@arm64" not in failing.started
