"""Pushes through a proxy that fails on purpose, in front of the real test registry
(tests/harness/faulty_proxy.py): a 500 once is retried; one that persists ends the push
non-zero naming the moving tags that moved and those that did not, and the same push once
the registry recovers completes them (kfimages.ship.retry, kfimages.ship.push)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kfimages import engine
from kfimages.build.report import EXIT_FAILED, EXIT_OK
from tests.harness.faulty_proxy import Fault, FaultyProxy
from tests.harness.registry import Registry
from tests.integration.conftest import Repo

SHA = "sha-0123456789ab"
SERVER_ERROR = "500 Internal Server Error"


@pytest.fixture
def proxy(registry: Registry) -> Iterator[FaultyProxy]:
    """A FaultyProxy in front of the test registry, with no fault yet."""
    faulty = FaultyProxy(registry.host)
    faulty.start()
    try:
        yield faulty
    finally:
        faulty.stop()


def _tags(registry: Registry, repo: Repo) -> dict[str, list[str]]:
    return {name: registry.tags(f"{repo.registry}/{name}") for name in "abc"}


def test_a_500_once_on_a_moving_tag_is_retried_and_the_push_succeeds(
    chain: Repo, registry: Registry, proxy: FaultyProxy
) -> None:
    prefix = f"{proxy.host}/{chain.registry}"
    fault = Fault("PUT", rf"^/v2/{chain.registry}/b/manifests/t1$", times=1)
    proxy.faults.append(fault)
    report = chain.build("b", "c", registry=prefix, tags=(SHA, "t1"), push=True)
    assert report.exit_code == EXIT_OK, [(r.name, r.reason) for r in report.results]
    assert fault.hits == 1, proxy.log
    assert report.push_problems == []
    assert _tags(registry, chain) == {name: [SHA, "t1"] for name in "abc"}
    assert f"{prefix}/b:t1" in report.by_name()["b"].pushed


def test_a_moving_tag_that_keeps_failing_is_named_and_the_same_push_completes_it(
    chain: Repo, registry: Registry, proxy: FaultyProxy
) -> None:
    prefix = f"{proxy.host}/{chain.registry}"
    fault = Fault("PUT", rf"^/v2/{chain.registry}/b/manifests/t1$")  # always
    proxy.faults.append(fault)
    push = ("build", "b,c", "--registry", prefix, "--tag", SHA, "--tag", "t1", "--push")
    done = chain.invoke(*push)
    print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
    assert done.returncode == EXIT_FAILED, done.stderr[-2000:]
    assert fault.hits == 4, "4 tries"
    lines = done.stdout.splitlines()
    assert f"push of {prefix}/b:t1 failed: " in done.stdout
    assert any(SERVER_ERROR in line and line.endswith("(4 tries)") for line in lines), lines
    assert "push incomplete: 1 of 3 moving tag(s) moved; the same push again completes them" in (
        lines
    )
    assert f"  moved: {prefix}/a:t1" in lines
    assert f"  not moved: {prefix}/b:t1, {prefix}/c:t1" in lines
    assert lines[-1].endswith("exit code 1")
    assert _tags(registry, chain) == {"a": [SHA, "t1"], "b": [SHA], "c": [SHA]}

    proxy.faults.clear()  # the registry recovered: the same push again
    done = chain.invoke(*push)
    assert done.returncode == EXIT_OK, done.stdout[-2000:] + done.stderr[-2000:]
    assert _tags(registry, chain) == {name: [SHA, "t1"] for name in "abc"}
    for name in "abc":
        repository = f"{chain.registry}/{name}"
        assert registry.digest(repository, "t1") == registry.digest(repository, SHA)


def test_a_push_that_times_out_is_a_failed_push_not_a_traceback(
    chain: Repo, proxy: FaultyProxy
) -> None:
    assert chain.build("a").exit_code == EXIT_OK
    ref = f"{proxy.host}/{chain.registry}/a:t1"
    engine.tag(chain.ref("a"), ref)
    try:
        assert engine.push(ref, timeout=0.001) == (False, "no answer within 0s")
    finally:
        engine.run("image", "rm", ref, check=False)
