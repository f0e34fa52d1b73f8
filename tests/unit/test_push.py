"""Pushing a finished plan (kfimages.ship.push): immutable tags first, stop at the first failure."""

from __future__ import annotations

import json
import signal
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType

import pytest

from kfimages.build.buildx import Delivery
from kfimages.build.plan import Step
from kfimages.build.report import BuildReport, Result, Status
from kfimages.build.stop import Stop
from kfimages.errors import UserError
from kfimages.repo.config import ImageConfig
from kfimages.repo.graph import Image
from kfimages.repo.inputs import BuildInputs
from kfimages.ship.push import (
    is_moving,
    list_actions,
    make_lists,
    multi_platform_actions,
    platform_pushes,
    push_all,
    push_order,
    read_records,
    record,
)

REG = "localhost:5000/ns"
TAGS = ("sha-0123456789ab", "latest", "nightly")


def step(
    name: str, tags: tuple[str, ...] = TAGS, *, platform: str = "linux/amd64", registry: str = REG
) -> Step:
    """A Step of `name` with `tags` under `registry` (another platform: its `-arm64` refs)."""
    image = Image(
        name=name, folder=name, variant=None, dockerfile=f"{name}/Dockerfile",
        parent="debian:trixie-slim", config=ImageConfig(),
    )  # fmt: skip
    inputs = BuildInputs(
        name=name, folder=name, dockerfile=f"{name}/Dockerfile", files=(), extra_files=(),
        build_args=MappingProxyType({}), artifacts=(), baked_ca="", parent="p",
        platform=platform,
    )  # fmt: skip
    suffix = "" if platform == "linux/amd64" else "-arm64"
    refs = tuple(f"{registry}/{name}:{t}{suffix}" for t in tags)
    delivery = Delivery(refs=refs, parent_ref="p")
    return Step(image=image, inputs=inputs, delivery=delivery, suffix=suffix)


STEPS = [step("base"), step("jupyter"), step("codeserver", ("sha-0123456789ab-dirty", "v1"))]


def report() -> BuildReport:
    return BuildReport(results=[Result(name=s.name, ref=s.ref, status=Status.BUILT) for s in STEPS])


class FakePusher:
    """Succeeds until the `fail_at`-th call (1-based), which fails."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at = fail_at
        self.calls: list[str] = []

    def __call__(self, ref: str) -> tuple[bool, str]:
        self.calls.append(ref)
        if len(self.calls) == self.fail_at:
            return False, "denied: requested access to the resource is denied"
        return True, ""


def test_is_moving() -> None:
    assert not is_moving(f"{REG}/a:sha-0123456789ab")
    assert not is_moving(f"{REG}/a:sha-0123456789ab-dirty")
    assert is_moving(f"{REG}/a:latest")
    assert is_moving(f"{REG}/a:v1")
    assert is_moving("localhost:5000/sha-repo/a:latest"), "the tag decides, not the path"


def test_every_immutable_ref_of_every_image_goes_before_any_moving_one() -> None:
    order = push_order(STEPS)
    refs = [ref for _, ref in order]
    assert sorted(refs) == sorted(r for s in STEPS for r in s.delivery.refs), "every ref once"
    assert len(refs) == len(set(refs))
    moving = [is_moving(r) for r in refs]
    assert moving == sorted(moving), "no sha- ref after a moving one"
    assert refs[:3] == [
        f"{REG}/base:sha-0123456789ab",
        f"{REG}/jupyter:sha-0123456789ab",
        f"{REG}/codeserver:sha-0123456789ab-dirty",
    ], "plan order within each group"
    assert order[3] == ("base", f"{REG}/base:latest")


def test_push_all_pushes_everything_in_order() -> None:
    pusher = FakePusher()
    rep = report()
    assert push_all(STEPS, rep, push=pusher)
    assert pusher.calls == [ref for _, ref in push_order(STEPS)]
    assert rep.by_name()["base"].pushed == [f"{REG}/base:sha-0123456789ab", f"{REG}/base:latest",
                                            f"{REG}/base:nightly"]  # fmt: skip
    assert all(r.reason == "" for r in rep.results)


def test_push_all_stops_at_the_first_failure() -> None:
    order = push_order(STEPS)
    for fail_at in range(1, len(order) + 1):
        pusher = FakePusher(fail_at=fail_at)
        rep = report()
        assert not push_all(STEPS, rep, push=pusher)
        assert pusher.calls == [ref for _, ref in order[:fail_at]], "nothing after the failure"
        failed_name, failed_ref = order[fail_at - 1]
        pushed = [r for res in rep.results for r in res.pushed]
        assert sorted(pushed) == sorted(ref for _, ref in order[: fail_at - 1])
        assert failed_ref not in pushed
        reason = rep.by_name()[failed_name].reason
        assert reason == f"push of {failed_ref} failed: denied: requested access to the " + (
            "resource is denied"
        )
        if not is_moving(failed_ref):
            assert not any(is_moving(r) for r in pusher.calls), (
                "a moving tag was pushed although an immutable one failed"
            )


def test_a_signal_during_the_push_moves_no_further_tag() -> None:
    """SIGINT or SIGTERM while pushing (kfimages.build.stop): the writes after it are not
    made, and the report names what moved and what did not."""
    order = [ref for _, ref in push_order(STEPS)]
    stop = Stop()

    def push_then_signal(ref: str) -> tuple[bool, str]:
        pusher(ref)
        if len(pusher.calls) == 2:
            stop.request(signal.SIGINT)  # arrives while the second push runs
        return True, ""

    pusher = FakePusher()
    rep = report()
    assert not push_all(STEPS, rep, push=push_then_signal, stop=stop)
    assert pusher.calls == order[:2], "a push started after the signal"
    assert rep.push_problems[0] == "push stopped by SIGINT"


def test_content_tags_are_pushed_with_the_moving_tags_after_every_sha_tag() -> None:
    rep = report()
    rep.by_name()["base"].content_refs = [f"{REG}/base:python-3.13.5", f"{REG}/base:2026-11-27"]
    pusher = FakePusher()
    assert push_all(STEPS, rep, push=pusher)
    last_sha = max(i for i, ref in enumerate(pusher.calls) if not is_moving(ref))
    for ref in (f"{REG}/base:python-3.13.5", f"{REG}/base:2026-11-27"):
        assert pusher.calls.index(ref) > last_sha, ref
        assert ref in rep.by_name()["base"].pushed
    order = push_order(STEPS, extra={"base": [f"{REG}/base:lab-4.6.6"]})
    lab, latest = ("base", f"{REG}/base:lab-4.6.6"), ("base", f"{REG}/base:latest")
    assert order.index(lab) > order.index(latest)


# ------------------------------------------------------------------- several platforms

MULTI = [step(n, ("sha-0123456789ab", "latest"), platform=p)
         for p in ("linux/amd64", "linux/arm64") for n in ("base", "jupyter")]  # fmt: skip


class Registry:
    """Records pushes, tags and manifest lists; fails the `fail_at`-th write (1-based)."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at = fail_at
        self.writes: list[str] = []
        self.tags: list[tuple[str, str]] = []
        self.lists: dict[str, tuple[str, ...]] = {}

    def _write(self, what: str) -> tuple[bool, str]:
        self.writes.append(what)
        return (False, "unauthorized") if len(self.writes) == self.fail_at else (True, "")

    def push(self, ref: str) -> tuple[bool, str]:
        return self._write(ref)

    def make_list(self, ref: str, sources: Sequence[str]) -> tuple[bool, str]:
        ok = self._write(f"list {ref}")
        if ok[0]:
            self.lists[ref] = tuple(sources)
        return ok

    def tag(self, source: str, target: str) -> None:
        self.tags.append((source, target))


def multi_report(steps: Sequence[Step]) -> BuildReport:
    return BuildReport(results=[Result(name=s.name, ref=s.ref, status=Status.BUILT) for s in steps])


def test_several_platforms_push_per_platform_tags_then_one_list_per_tag() -> None:
    reg, rep = Registry(), multi_report(MULTI)
    assert push_all(MULTI, rep, push=reg.push, make_list=reg.make_list, tag=reg.tag,
                    multi_platform=True)  # fmt: skip
    sha, latest = "sha-0123456789ab", "latest"
    assert reg.writes == [
        f"{REG}/base:{sha}-amd64", f"{REG}/jupyter:{sha}-amd64",
        f"{REG}/base:{sha}-arm64", f"{REG}/jupyter:{sha}-arm64",
        f"list {REG}/base:{sha}", f"list {REG}/jupyter:{sha}",
        f"{REG}/base:{latest}-amd64", f"{REG}/jupyter:{latest}-amd64",
        f"{REG}/base:{latest}-arm64", f"{REG}/jupyter:{latest}-arm64",
        f"list {REG}/base:{latest}", f"list {REG}/jupyter:{latest}",
    ]  # fmt: skip
    assert reg.lists[f"{REG}/base:latest"] == (f"{REG}/base:latest-amd64",
                                               f"{REG}/base:latest-arm64")  # fmt: skip
    # Only the host's image needs a local tag with its suffix; arm64's refs carry theirs.
    assert (f"{REG}/base:latest", f"{REG}/base:latest-amd64") in reg.tags
    assert not any(target.endswith("-arm64") for _, target in reg.tags)
    assert rep.by_name()["jupyter"].pushed[-1] == f"{REG}/jupyter:{latest}"


def test_no_list_before_every_platform_of_every_image_is_pushed() -> None:
    for fail_at in range(1, 13):
        reg, rep = Registry(fail_at=fail_at), multi_report(MULTI)
        assert not push_all(MULTI, rep, push=reg.push, make_list=reg.make_list, tag=reg.tag,
                            multi_platform=True)  # fmt: skip
        assert len(reg.writes) == fail_at, "nothing after the failure"
        failed = reg.writes[-1]
        if fail_at <= 4:
            assert not reg.lists, f"a list was made although {failed} failed"
        assert any(failed.split()[-1] in r.reason for r in rep.results)


def test_a_content_tag_that_one_platform_lacks_gets_no_list() -> None:
    rep = multi_report(MULTI)
    rep.by_name()["jupyter"].content_refs = [f"{REG}/jupyter:cuda-13.0", f"{REG}/jupyter:lab-4.6.6"]
    rep.by_name()["jupyter@arm64"].content_refs = [f"{REG}/jupyter:lab-4.6.6-arm64"]
    actions = multi_platform_actions(MULTI, extra={r.name: r.content_refs for r in rep.results})
    lists = {a.ref: a.sources for a in actions if a.is_list}
    assert lists[f"{REG}/jupyter:lab-4.6.6"] == (f"{REG}/jupyter:lab-4.6.6-amd64",
                                                 f"{REG}/jupyter:lab-4.6.6-arm64")  # fmt: skip
    assert f"{REG}/jupyter:cuda-13.0" not in lists
    assert f"{REG}/jupyter:cuda-13.0-amd64" in [a.ref for a in actions if not a.is_list]


# ------------------------------------------------- native legs: records, then the lists


def test_make_lists_stops_at_the_first_failed_list() -> None:
    pushes = [p for _, _, p in platform_pushes(MULTI)]
    actions = list_actions(pushes, step_of={})
    wanted = [f"list {a.ref}" for a in sorted(actions, key=lambda a: is_moving(a.ref))]
    assert len(wanted) == 4
    reg = Registry()
    assert make_lists(actions, make_list=reg.make_list) == []
    assert reg.writes == wanted, "immutable lists first"
    for fail_at in range(1, len(wanted) + 1):
        reg = Registry(fail_at=fail_at)
        problems = make_lists(actions, make_list=reg.make_list)
        failed = wanted[fail_at - 1].removeprefix("list ")
        assert problems[0] == f"manifest list of {failed} failed: unauthorized"
        moving = [w.removeprefix("list ") for w in wanted if is_moving(w)]
        moved = [r for r in moving if wanted.index(f"list {r}") < fail_at - 1]
        left = [r for r in moving if r not in moved]
        assert problems[1:] == [
            f"push incomplete: {len(moved)} of 2 moving tag(s) moved; the same push again "
            "completes them",
            f"  moved: {', '.join(moved) or 'none'}",
            f"  not moved: {', '.join(left)}",
        ]
        assert reg.writes == wanted[:fail_at], "no list after the failed one"


def test_the_record_holds_only_the_refs_that_were_pushed(tmp_path: Path) -> None:
    order = [a.ref for a in multi_platform_actions(MULTI, lists=False)]
    assert len(order) == 8
    for fail_at in range(1, len(order) + 2):  # the last round pushes everything
        reg, rep = Registry(fail_at=fail_at), multi_report(MULTI)
        ok = push_all(MULTI, rep, push=reg.push, make_list=reg.make_list, tag=reg.tag,
                      multi_platform=True, lists=False)  # fmt: skip
        assert ok == (fail_at > len(order))
        rows = record(MULTI, rep)
        done = {r["ref"] for r in rows if "pushed" not in r}
        assert done == set(order[: fail_at - 1]), f"fail at {fail_at}"
        unpushed = [r["ref"] for r in rows if r.get("pushed") is False]
        assert sorted(unpushed) == sorted(order[fail_at - 1 :]), "the rest, named"
        path = tmp_path / f"record-{fail_at}.json"
        path.write_text(json.dumps(rows), encoding="utf-8")
        if unpushed:
            with pytest.raises(UserError, match=r"not pushed \(the push failed\); run the same"):
                read_records([path])
        else:
            assert {p.ref for p in read_records([path])} == set(order)
    sha = f"{REG}/base:sha-0123456789ab"
    row = {"image": "base", "platform": "linux/amd64", "tag": sha, "ref": f"{sha}-amd64"}
    assert record(MULTI, rep)[0] == row
