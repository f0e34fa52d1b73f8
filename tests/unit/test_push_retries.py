"""Registry writes retried on transient errors (kfimages.ship.retry), and a push that still
fails names the moving tags that moved and those that did not (kfimages.ship.push)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from kfimages.build.report import format_summary
from kfimages.ship.push import list_actions, make_lists, platform_pushes, push_all, push_order
from kfimages.ship.retry import Backoff, attempt, is_transient
from tests.unit.test_push import MULTI, REG, STEPS, report

SERVER_ERROR = "received unexpected HTTP status: 500 Internal Server Error"
DENIED = "denied: requested access to the resource is denied"


class Flaky:
    """A registry write that fails the calls for `ref` whose number (1-based, per ref) is in
    `fail`, with `detail` (what docker prints); every other call succeeds."""

    def __init__(self, ref: str, fail: Sequence[int] | range, detail: str) -> None:
        self.ref, self.fail, self.detail = ref, fail, detail
        self.calls: list[str] = []

    def push(self, ref: str) -> tuple[bool, str]:
        self.calls.append(ref)
        if ref == self.ref and self.calls.count(ref) in self.fail:
            return False, self.detail
        return True, ""

    def make_list(self, ref: str, sources: Sequence[str]) -> tuple[bool, str]:
        return self.push(ref)


class Sleeps:
    """The delays asked for, without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def backoff(self) -> Backoff:
        return Backoff(sleep=self.delays.append)


@pytest.mark.parametrize(
    "detail",
    [
        SERVER_ERROR,
        "received unexpected HTTP status: 503 Service Unavailable",
        'failed commit on ref "index-sha256:ab": unexpected status from PUT request to '
        "http://127.0.0.1:5000/v2/a/manifests/t1: 502 Bad Gateway",
        'Put "http://127.0.0.1:5000/v2/a/blobs/uploads/x": read tcp 127.0.0.1:4->127.0.0.1:5'
        ": read: connection reset by peer",
        'Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused',
        'Put "http://r/v2/a/manifests/t1": net/http: TLS handshake timeout',
        'Get "https://r/v2/": net/http: request canceled (Client.Timeout exceeded while '
        "awaiting headers)",
        "dial tcp 10.0.0.1:443: i/o timeout",
        "toomanyrequests: retry later",
        'Put "http://r/v2/a/manifests/t1": EOF',
    ],
)
def test_transient_errors(detail: str) -> None:
    assert is_transient(detail)


@pytest.mark.parametrize(
    "detail",
    [
        DENIED,
        "unauthorized: authentication required",
        "manifest invalid: manifest invalid",
        "name unknown: repository name not known to registry",
        "unsupported: The operation is unsupported.",
        "An image does not exist locally with the tag: 127.0.0.1:5000/a",
        "no answer within 3600s",
        "tag does not exist: 127.0.0.1:5000/sha-500abc/a:sha-0123456789ab",
    ],
)
def test_permanent_errors(detail: str) -> None:
    assert not is_transient(detail)


def test_attempt_backs_off_exponentially_a_bounded_number_of_times() -> None:
    sleeps, calls = Sleeps(), []

    def always_500() -> tuple[bool, str]:
        calls.append(1)
        return False, SERVER_ERROR

    assert attempt(always_500, what="push", backoff=sleeps.backoff()) == (
        False, f"{SERVER_ERROR} (4 tries)"
    )  # fmt: skip
    assert len(calls) == 4
    assert sleeps.delays == [1.0, 2.0, 4.0]


def test_a_transient_error_is_retried_and_the_push_succeeds() -> None:
    latest = f"{REG}/jupyter:latest"
    registry, sleeps, rep = Flaky(latest, [1], SERVER_ERROR), Sleeps(), report()
    assert push_all(STEPS, rep, push=registry.push, backoff=sleeps.backoff())
    order = [ref for _, ref in push_order(STEPS)]
    at = order.index(latest)
    assert registry.calls == [*order[: at + 1], latest, *order[at + 1 :]], "retried at once"
    assert sleeps.delays == [1.0]
    assert latest in rep.by_name()["jupyter"].pushed
    assert rep.push_problems == []
    assert all(r.reason == "" for r in rep.results)


def test_a_permanent_error_is_not_retried() -> None:
    latest = f"{REG}/jupyter:latest"
    registry, sleeps, rep = Flaky(latest, [1], DENIED), Sleeps(), report()
    assert not push_all(STEPS, rep, push=registry.push, backoff=sleeps.backoff())
    assert registry.calls.count(latest) == 1
    assert sleeps.delays == []
    assert rep.push_problems[0] == f"push of {latest} failed: {DENIED}"


def test_retries_run_out_the_summary_names_the_moved_and_unmoved_tags() -> None:
    latest = f"{REG}/jupyter:latest"
    registry, sleeps, rep = Flaky(latest, range(1, 100), SERVER_ERROR), Sleeps(), report()
    assert not push_all(STEPS, rep, push=registry.push, backoff=sleeps.backoff())
    assert registry.calls.count(latest) == 4
    assert sleeps.delays == [1.0, 2.0, 4.0]
    rep.push_failed = True
    moved = [f"{REG}/base:latest", f"{REG}/base:nightly"]
    left = [latest, f"{REG}/jupyter:nightly", f"{REG}/codeserver:v1"]
    problems = [
        f"push of {latest} failed: {SERVER_ERROR} (4 tries)",
        "push incomplete: 2 of 5 moving tag(s) moved; the same push again completes them",
        f"  moved: {', '.join(moved)}",
        f"  not moved: {', '.join(left)}",
    ]
    assert rep.push_problems == problems
    assert rep.by_name()["jupyter"].reason == problems[0]
    summary = format_summary(rep).splitlines()
    assert summary[:4] == problems
    assert summary[-1].endswith("exit code 1")

    again, rep2 = Flaky(latest, [], ""), report()  # the registry recovered: the same push
    assert push_all(STEPS, rep2, push=again.push, backoff=sleeps.backoff())
    assert again.calls == [ref for _, ref in push_order(STEPS)], "everything, pushed or not"
    assert rep2.push_problems == []


def test_a_failing_immutable_ref_moves_no_moving_tag() -> None:
    sha = f"{REG}/jupyter:sha-0123456789ab"
    registry, rep = Flaky(sha, range(1, 100), SERVER_ERROR), report()
    assert not push_all(STEPS, rep, push=registry.push, backoff=Sleeps().backoff())
    assert rep.push_problems[1].startswith("push incomplete: 0 of 5 moving tag(s) moved")
    assert rep.push_problems[2] == "  moved: none"


def test_manifest_lists_are_retried_too() -> None:
    actions = list_actions([p for _, _, p in platform_pushes(MULTI)], step_of={})
    latest = f"{REG}/base:latest"
    registry, sleeps = Flaky(latest, [1, 2], SERVER_ERROR), Sleeps()
    assert make_lists(actions, make_list=registry.make_list, backoff=sleeps.backoff()) == []
    assert registry.calls.count(latest) == 3
    assert sleeps.delays == [1.0, 2.0]
    registry = Flaky(latest, range(1, 100), "no answer within 600s")
    problems = make_lists(actions, make_list=registry.make_list, backoff=sleeps.backoff())
    assert problems[0] == f"manifest list of {latest} failed: no answer within 600s"
    assert problems[2:] == ["  moved: none", f"  not moved: {latest}, {REG}/jupyter:latest"]
