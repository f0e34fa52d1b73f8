"""Nothing moving is pushed before the whole run passed (kfimages.ship.push): a CI stage's leg
pushes its `sha-` refs only (`invoke build --push --no-lists --immutable-only --record FILE`),
and `invoke lists` promotes the moving tags from them once every stage job succeeded."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from kfimages.build.plan import BuildRequest, Step, check_request
from kfimages.build.report import BuildReport, Result, Status
from kfimages.errors import UserError
from kfimages.ship.push import (
    is_moving,
    list_actions,
    make_lists,
    promote_actions,
    push_all,
    read_records,
    record,
)
from tests.unit.conftest import Repo
from tests.unit.invoke_cli import run_invoke
from tests.unit.test_push import step as push_step

REG = "ghcr.io/o"
SHA = "sha-0123456789ab"


def step(name: str, *, platform: str) -> Step:
    return push_step(name, (SHA, "latest"), platform=platform, registry=REG)


class Registry:
    """Records every registry write in order."""

    def __init__(self) -> None:
        self.writes: list[str] = []
        self.lists: dict[str, tuple[str, ...]] = {}

    def push(self, ref: str) -> tuple[bool, str]:
        self.writes.append(ref)
        return True, ""

    def make_list(self, ref: str, sources: Sequence[str]) -> tuple[bool, str]:
        self.writes.append(f"list {ref}")
        self.lists[ref] = tuple(sources)
        return True, ""

    def tag(self, source: str, target: str) -> None:
        pass


def leg(
    arch: str, tmp_path: Path, *, content: Sequence[str] = ()
) -> tuple[Registry, BuildReport, Path]:
    """One native runner's leg of base and jupyter, pushed immutable-only, and its record."""
    platform = f"linux/{arch}"
    steps = [step(n, platform=platform) for n in ("base", "jupyter")]
    report = BuildReport(
        results=[Result(name=s.name, ref=s.ref, status=Status.BUILT) for s in steps]
    )
    report.by_name()[steps[1].name].content_refs = list(content)
    reg = Registry()
    assert push_all(steps, report, push=reg.push, make_list=reg.make_list, tag=reg.tag,
                    multi_platform=True, lists=False, moving=False)  # fmt: skip
    path = tmp_path / f"{arch}.json"
    path.write_text(json.dumps(record(steps, report, promote=True)), encoding="utf-8")
    return reg, report, path


def test_a_leg_pushes_only_immutable_refs_and_records_what_to_promote(tmp_path: Path) -> None:
    reg, report, path = leg("amd64", tmp_path, content=[f"{REG}/jupyter:lab-4.6.6"])
    assert reg.writes == [f"{REG}/base:{SHA}-amd64", f"{REG}/jupyter:{SHA}-amd64"]
    assert not any(is_moving(ref) for r in report.results for ref in r.pushed)
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert {"image": "jupyter", "platform": "linux/amd64", "tag": f"{REG}/jupyter:lab-4.6.6",
            "ref": f"{REG}/jupyter:lab-4.6.6-amd64",
            "source": f"{REG}/jupyter:{SHA}-amd64"} in rows  # fmt: skip
    assert {"image": "base", "platform": "linux/amd64", "tag": f"{REG}/base:{SHA}",
            "ref": f"{REG}/base:{SHA}-amd64"} in rows  # fmt: skip
    assert len(rows) == 5, "2 immutable refs pushed, 3 moving refs to promote"


def test_invoke_lists_promotes_after_the_immutable_lists_from_immutable_refs(
    tmp_path: Path,
) -> None:
    leg("amd64", tmp_path, content=[f"{REG}/jupyter:cuda-13.0"])
    leg("arm64", tmp_path)
    pushes = read_records(sorted(tmp_path.glob("*.json")))
    actions = promote_actions(pushes) + list_actions(pushes, step_of={})
    reg = Registry()
    assert make_lists(actions, make_list=reg.make_list) == []
    assert reg.writes == [
        f"list {REG}/base:{SHA}", f"list {REG}/jupyter:{SHA}",
        f"list {REG}/base:latest-amd64", f"list {REG}/jupyter:latest-amd64",
        f"list {REG}/jupyter:cuda-13.0-amd64",
        f"list {REG}/base:latest-arm64", f"list {REG}/jupyter:latest-arm64",
        f"list {REG}/base:latest", f"list {REG}/jupyter:latest",
    ]  # fmt: skip
    # Every moving tag is made from the immutable refs, not from another moving tag.
    assert reg.lists[f"{REG}/jupyter:latest"] == (f"{REG}/jupyter:{SHA}-amd64",
                                                  f"{REG}/jupyter:{SHA}-arm64")  # fmt: skip
    assert reg.lists[f"{REG}/jupyter:cuda-13.0-amd64"] == (f"{REG}/jupyter:{SHA}-amd64",)
    assert f"{REG}/jupyter:cuda-13.0" not in reg.lists, "not on every platform: no list"
    assert all(not is_moving(s) for sources in reg.lists.values() for s in sources)


def test_records_of_a_stage_that_pushed_its_ancestors_again_name_each_ref_once(
    tmp_path: Path,
) -> None:
    _, _, first = leg("amd64", tmp_path)
    again = tmp_path / "again.json"
    again.write_text(first.read_text(encoding="utf-8"), encoding="utf-8")
    pushes = read_records([first, again])
    assert len(pushes) == len({p.ref for p in pushes}) == 4
    lists = {a.ref: a.sources for a in list_actions(pushes, step_of={})}
    assert lists[f"{REG}/base:latest"] == (f"{REG}/base:{SHA}-amd64",), "no duplicate source"


def test_records_that_promote_a_ref_from_two_sources_are_refused(tmp_path: Path) -> None:
    _, _, first = leg("amd64", tmp_path)
    rows = json.loads(first.read_text(encoding="utf-8"))
    other = tmp_path / "other.json"
    elsewhere = [
        {**r, "source": r["source"].replace(SHA, "sha-ffffffffffff")} for r in rows if "source" in r
    ]
    other.write_text(json.dumps(elsewhere), encoding="utf-8")
    with pytest.raises(UserError, match=r"other.json: .*base:latest-amd64 is promoted from"):
        read_records([first, other])
    moving = tmp_path / "moving.json"
    moving.write_text(json.dumps([{**rows[-1], "source": f"{REG}/base:latest"}]), "utf-8")
    with pytest.raises(UserError, match="must be an immutable ref"):
        read_records([moving])


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"push_lists": False}, "use it with --push --no-lists --record FILE"),
        ({"push_record": Path("r.json")}, "use it with --push --no-lists --record FILE"),
        ({"push_lists": False, "push_record": Path("r.json"), "tags": ("latest", "v1")},
         "none of --tag latest, v1 is one"),
    ],
)  # fmt: skip
def test_immutable_only_needs_what_lets_lists_promote(
    options: dict[str, object], problem: str
) -> None:
    request = BuildRequest(registry=REG, push=True, push_moving=False, **options)  # type: ignore[arg-type]
    with pytest.raises(UserError, match=problem):
        check_request(request)
    fine = {**options, "push_lists": False, "push_record": Path("r.json"), "tags": (SHA, "x")}
    check_request(BuildRequest(registry=REG, push=True, push_moving=False, **fine))  # type: ignore[arg-type]


def test_the_build_task_has_the_flag(chain: Repo) -> None:
    done = run_invoke(chain, "build", "base", "--registry", REG, "--push", "--immutable-only")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: --immutable-only is a CI leg's push: use it with --push --no-lists --record "
        "FILE (then `invoke lists FILE...` promotes the moving tags)"
    ]
