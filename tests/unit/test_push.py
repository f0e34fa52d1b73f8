"""Pushing a finished plan (kfimages.push): immutable tags first, stop at the first failure."""

from __future__ import annotations

from types import MappingProxyType

from kfimages.buildx import Delivery
from kfimages.config import ImageConfig
from kfimages.graph import Image
from kfimages.inputs import BuildInputs
from kfimages.plan import Step
from kfimages.push import is_moving, push_all, push_order
from kfimages.report import BuildReport, Result, Status

REG = "localhost:5000/ns"
TAGS = ("sha-0123456789ab", "latest", "nightly")


def step(name: str, tags: tuple[str, ...] = TAGS) -> Step:
    image = Image(
        name=name, folder=name, variant=None, dockerfile=f"{name}/Dockerfile",
        parent="debian:trixie-slim", config=ImageConfig(),
    )  # fmt: skip
    inputs = BuildInputs(
        name=name, folder=name, dockerfile=f"{name}/Dockerfile", files=(), extra_files=(),
        build_args=MappingProxyType({}), artifacts=(), baked_ca="", parent="p",
        platform="linux/amd64",
    )  # fmt: skip
    refs = tuple(f"{REG}/{name}:{t}" for t in tags)
    return Step(image=image, inputs=inputs, delivery=Delivery(refs=refs, parent_ref="p"))


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
