"""A smoke leg whose images are built already (kfimages.verify.legbuild): nothing is built and
no build lock is taken, which is how CI tests one platform's images while the next platform's
build holds the lock (scripts/test.sh). Real engine, throwaway images under the repo's prefix."""

from __future__ import annotations

import pytest

from kfimages.build import enginelock
from kfimages.build.plan import BuildRequest
from kfimages.build.report import Status
from kfimages.errors import UserError
from kfimages.repo.graph import load_graph
from kfimages.settings import Settings
from kfimages.verify import legbuild
from tests.harness.http import free_port
from tests.integration.conftest import Repo, artifact_image

NAMES = ["a", "toolchild"]


def _blocked_chain(repo: Repo, os_image: str) -> int:
    """a FROM the OS image; tool FROM a, with an artifact on a closed loopback port; toolchild
    FROM tool. The closed port."""
    closed = free_port()
    repo.image("a", os_image, "RUN echo a > /a.txt")
    artifact_image(repo, "tool", "a", url=f"http://127.0.0.1:{closed}/tool.tar.gz")
    repo.image("toolchild", "tool", "RUN echo child")
    repo.commit()
    return closed


def test_a_leg_built_already_builds_nothing_and_takes_no_build_lock(
    repo: Repo, os_image: str
) -> None:
    closed = _blocked_chain(repo, os_image)
    request = BuildRequest(registry=repo.registry, tags=("t1",), wait=False)
    graph, settings = load_graph(repo.path), Settings()
    assert legbuild.already_built(graph, NAMES, settings=settings, request=request) is None
    first = repo.build(*NAMES)
    assert [(r.name, r.status) for r in first.results] == [
        ("a", Status.BUILT), ("tool", Status.BLOCKED), ("toolchild", Status.SKIPPED),
    ]  # fmt: skip

    found = legbuild.already_built(graph, NAMES, settings=settings, request=request)
    assert found is not None
    steps, results = found
    assert [s.name for s in steps] == ["a", "tool", "toolchild"]
    assert [(r.name, r.status, r.blocked_by) for r in results] == [
        ("a", Status.REUSED, ""), ("tool", Status.BLOCKED, "tool"),
        ("toolchild", Status.SKIPPED, "tool"),
    ]  # fmt: skip
    assert f"127.0.0.1:{closed}/tool.tar.gz" in results[1].reason
    # Another build of the prefix holds the lock: the built leg goes on (a build would fail at
    # once: wait=False), and its results say what the tests get.
    with enginelock.exclusive(["held by the test"], registry=repo.registry, wait=False):
        report = legbuild.build_leg(graph, NAMES, settings=settings, request=request)
        assert [r.status for r in report.results] == [Status.REUSED, Status.BLOCKED,
                                                       Status.SKIPPED]  # fmt: skip
        repo.image("a", os_image, "RUN echo changed > /a.txt")
        repo.commit()
        graph = load_graph(repo.path)
        assert legbuild.already_built(graph, NAMES, settings=settings, request=request) is None
        with pytest.raises(UserError, match=r"another build runs on the engine .* under "):
            legbuild.build_leg(graph, NAMES, settings=settings, request=request)
