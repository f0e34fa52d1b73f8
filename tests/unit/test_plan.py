"""From names to build steps (kfimages.build.plan), and the facts they need: git info and tags,
CA files, the OS image's suite. No Docker: the steps are planned, never run."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from kfimages import engine
from kfimages.build import buildx, dryrun, plan
from kfimages.build import run as build
from kfimages.build.bootstrap import suite_for
from kfimages.build.ca import ca_digest, collect_ca_files, fill_ca_dir
from kfimages.build.plan import (
    BuildRequest,
    Facts,
    Step,
    check_push,
    check_request,
    expand_names,
    plan_images,
)
from kfimages.build.run import build_images
from kfimages.errors import UserError
from kfimages.git import GitInfo, read_info
from kfimages.repo.graph import Graph
from kfimages.repo.inputs import INPUTS_LABEL
from kfimages.settings import Settings
from tests.unit.conftest import Repo

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
OS_IMAGE = "debian:trixie-slim"
OS_ID = "sha256:" + "0" * 64
GIT = GitInfo(sha="0123456789abcdef0123", dirty=False, source="https://example.org/x.git")


# -------------------------------------------------------------------------- names


def test_expand_names_all_affected_and_names(chain: Repo) -> None:
    """The words of a parsed NAMES argument (kfimages.names, tests/unit/test_names.py)."""
    graph = chain.graph()
    assert expand_names(graph, ["jupyter", "base", "jupyter"]) == ["jupyter", "base"]
    assert expand_names(graph, ["all"]) == sorted(graph.images)
    chain.append("codeserver/Dockerfile")
    assert expand_names(graph, ["affected"], base_ref="main") == ["codeserver"]
    assert expand_names(graph, ["affected", "base"], base_ref="main") == ["codeserver", "base"]
    assert expand_names(graph, ["base", "all"]) == ["base", *sorted(set(graph.images) - {"base"})]


def test_select_parses_then_expands(chain: Repo) -> None:
    """`build` and `bake` (and `smoke`) read NAMES through plan.select: one grammar."""
    graph = chain.graph()
    chain.append("codeserver/Dockerfile")
    assert plan.select(graph, "affected,jupyter", base="main") == ["codeserver", "jupyter"]
    assert plan.select(graph, "affected", base_env="main") == ["codeserver"]
    with pytest.raises(UserError, match="malformed image list 'jupyter,,'"):
        plan.select(graph, "jupyter,,")
    with pytest.raises(UserError, match="needs a base ref"):
        plan.select(graph, "affected")


def test_plan_adds_ancestors_parents_first(chain: Repo) -> None:
    names = [i.name for i in plan_images(chain.graph(), ["pytorch.cuda", "codeserver"])]
    assert names == ["base", "codeserver", "jupyter", "pytorch.cuda"]


# ---------------------------------------------------------------------- the request


@pytest.mark.parametrize(
    ("request_", "problem"),
    [
        (BuildRequest(jobs=0), "--jobs must be at least 1, not 0"),
        (BuildRequest(jobs=-3), "--jobs must be at least 1, not -3"),
        (BuildRequest(push=True), "--push needs a registry"),
        (BuildRequest(tags=("ok", "bad tag")), "invalid tag 'bad tag'"),
        (BuildRequest(tags=(".dot",)), "invalid tag '.dot'"),
        (BuildRequest(tags=("x" * 129,)), "invalid tag"),
        (BuildRequest(platforms=("linux/s390x",)), "unknown platform 'linux/s390x'; use one"),
        (
            BuildRequest(push=True, platforms=("linux/amd64", "linux/arm64")),
            "--push needs a registry",
        ),
    ],
)
def test_check_request(request_: BuildRequest, problem: str) -> None:
    with pytest.raises(UserError, match=problem) as err:
        check_request(request_)
    assert "\n" not in str(err.value)


def test_valid_requests() -> None:
    check_request(BuildRequest())
    check_request(BuildRequest(push=True, registry="localhost:5000/ns", tags=("v1.2_3-rc",)))
    check_request(BuildRequest(tags=("x" * 128,)))


def test_request_is_checked_before_docker(chain: Repo) -> None:
    graph = chain.graph()
    for request in (BuildRequest(jobs=0), BuildRequest(push=True), BuildRequest(tags=("a b",))):
        with pytest.raises(UserError):
            build_images(graph, ["base"], request, settings=Settings())
        with pytest.raises(UserError):  # a dry run fails the same way
            build_images(graph, ["base"], plan_request(request), settings=Settings())


def plan_request(request: BuildRequest) -> BuildRequest:
    return dataclasses.replace(request, dry_run=True)


REGISTRY = "localhost:5000/ns"


def test_a_push_of_baked_cas_needs_allow_baked_ca(tmp_path: Path) -> None:
    baked = (tmp_path / "corporate.pem",)
    push = BuildRequest(push=True, registry=REGISTRY, bake_ca_files=baked)
    with pytest.raises(UserError) as err:
        check_request(push)
    assert str(err.value) == (
        "refusing to push images with baked CA certificates (--bake-ca): every user of the "
        "registry would trust them; pass --allow-baked-ca if that is meant"
    )
    check_request(dataclasses.replace(push, allow_baked_ca=True))
    check_request(BuildRequest(bake_ca_files=baked))  # baked but kept local: no push to refuse
    check_request(BuildRequest(push=True, registry=REGISTRY))  # pushed, nothing baked


def test_a_push_from_a_dirty_work_tree_needs_allow_dirty(repo: Repo) -> None:
    repo.image("a", "x:y")
    repo.commit()
    push = BuildRequest(push=True, registry=REGISTRY)
    check_push(push, read_info(repo.root))  # clean: nothing to refuse
    repo.append("a/Dockerfile")
    dirty = read_info(repo.root)
    assert dirty.dirty
    with pytest.raises(UserError) as err:
        check_push(push, dirty)
    assert str(err.value) == (
        "refusing to push from a work tree with uncommitted changes (the images would not "
        "match any commit); commit or stash them, or pass --allow-dirty"
    )
    check_push(dataclasses.replace(push, allow_dirty=True), dirty)
    check_push(BuildRequest(), dirty)  # a local build of a dirty tree is fine


# ------------------------------------------------------------------ git and tags


def test_git_tag_is_sha_and_dirty(repo: Repo) -> None:
    repo.image("a", "x:y")
    sha = repo.commit()
    info = read_info(repo.root)
    assert (info.sha, info.dirty) == (sha, False)
    assert (info.tag, info.source) == (f"sha-{sha[:12]}", str(repo.root.resolve()))
    assert plan.tags_for(BuildRequest(), info) == (f"sha-{sha[:12]}", "latest")
    assert plan.tags_for(BuildRequest(tags=("t1",)), info) == ("t1",)
    repo.write("untracked.txt")
    assert read_info(repo.root).tag == f"sha-{sha[:12]}-dirty"
    repo.git("remote", "add", "upstream", "https://example.org/x.git")
    assert read_info(repo.root).source == "https://example.org/x.git"
    repo.git("remote", "add", "origin", "https://example.org/origin.git")
    assert read_info(repo.root).source == "https://example.org/origin.git"


def test_git_info_without_commit(repo: Repo) -> None:
    with pytest.raises(UserError, match="no commit yet"):
        read_info(repo.root)


# ------------------------------------------------------------------------- steps


def facts(tmp_path: Path, **kw: Any) -> Facts:
    values: dict[str, Any] = {
        "git": GIT,
        "os_images": {OS_IMAGE: OS_ID},
        "repository_files": [],
        "baked_ca": "",
        "created": "2026-01-01T00:00:00+00:00",
        "work_dir": tmp_path / "work",
        **kw,
    }
    return Facts(**values)


def steps(graph: Graph, names: list[str], tmp_path: Path, **kw: Any) -> dict[str, Step]:
    request = kw.pop("request", BuildRequest(registry="reg/ns", tags=("t1", "latest")))
    targets = kw.pop("platforms", ("linux/amd64",))
    wanted = sorted(graph.images) if names == ["all"] else names
    planned = plan.make_steps(
        graph,
        plan_images(graph, wanted),
        request=request,
        facts=facts(tmp_path, **kw),
        platforms=targets,
        host="linux/amd64",
    )
    return {s.name: s for s in planned}


def test_make_steps_parent_refs_and_digests(chain: Repo, tmp_path: Path) -> None:
    graph = chain.graph()
    got = steps(graph, ["pytorch.cpu", "codeserver"], tmp_path)
    assert list(got) == ["base", "codeserver", "jupyter", "pytorch.cpu"]
    base, jupyter, cpu = got["base"], got["jupyter"], got["pytorch.cpu"]
    # The root builds FROM the OS image ref and carries the OS image's ID as parent digest.
    assert (base.delivery.parent_ref, base.inputs.parent, base.parent) == (OS_IMAGE, OS_ID, None)
    # A child builds FROM its parent's first-tag ref and carries the parent's digest.
    assert jupyter.delivery.parent_ref == "reg/ns/base:t1"
    assert jupyter.inputs.parent == base.inputs.digest
    assert jupyter.parent == "base"
    assert cpu.delivery.parent_ref == "reg/ns/jupyter:t1"
    assert cpu.inputs.parent == jupyter.inputs.digest
    assert cpu.delivery.refs == ("reg/ns/pytorch-cpu:t1", "reg/ns/pytorch-cpu:latest")
    assert cpu.ref == "reg/ns/pytorch-cpu:t1"
    assert cpu.inputs.platform == "linux/amd64"
    assert cpu.delivery.labels == {
        "org.opencontainers.image.source": GIT.source,
        "org.opencontainers.image.revision": GIT.sha,
        "org.opencontainers.image.created": "2026-01-01T00:00:00+00:00",
        "org.opencontainers.image.title": "pytorch.cpu",
        "org.opencontainers.image.version": "t1",
    }
    assert cpu.delivery.context_dirs == {"ca-certs": tmp_path / "work" / "ca-certs"}
    assert not cpu.delivery.no_cache


def test_another_platform_gets_its_own_chain_of_refs(chain: Repo, tmp_path: Path) -> None:
    graph = chain.graph()
    os_images = {OS_IMAGE: OS_ID, f"{OS_IMAGE}-arm64": "sha256:" + "a" * 64}
    both = ("linux/amd64", "linux/arm64")
    got = steps(graph, ["jupyter"], tmp_path, platforms=both, os_images=os_images)
    assert list(got) == ["base", "jupyter", "base@arm64", "jupyter@arm64"]
    host, arm = got["jupyter"], got["jupyter@arm64"]
    # The host's platform keeps today's refs; arm64's carry the suffix, parents included.
    assert host.delivery.refs == ("reg/ns/jupyter:t1", "reg/ns/jupyter:latest")
    assert arm.delivery.refs == ("reg/ns/jupyter:t1-arm64", "reg/ns/jupyter:latest-arm64")
    assert arm.delivery.parent_ref == "reg/ns/base:t1-arm64"
    assert got["base@arm64"].delivery.parent_ref == "debian:trixie-slim-arm64"
    assert got["base@arm64"].inputs.parent == "sha256:" + "a" * 64
    assert (arm.parent, arm.inputs.parent) == ("base@arm64", got["base@arm64"].inputs.digest)
    assert (arm.inputs.platform, arm.suffix, host.suffix) == ("linux/arm64", "-arm64", "")
    # The platform is an input: same files, another digest; the host's digest is unchanged.
    assert arm.inputs.digest != host.inputs.digest
    alone = steps(graph, ["jupyter"], tmp_path)
    assert alone["jupyter"].inputs.digest == host.inputs.digest


CROSS = """ARG BASE_IMG=base
ARG BUILD_BASE_IMG=${BASE_IMG}
FROM --platform=$BUILDPLATFORM $BUILD_BASE_IMG AS venv
RUN true
FROM $BASE_IMG
COPY --from=venv /opt/venv /opt/venv
"""
"""A cross-installing Dockerfile: a stage FROM $BUILD_BASE_IMG on the build platform."""


def test_a_cross_installing_image_on_another_platform_gets_the_host_parent(
    chain: Repo, tmp_path: Path
) -> None:
    chain.write("jupyter/Dockerfile", CROSS)
    graph = chain.graph()
    assert graph.images["jupyter"].cross
    assert not graph.images["base"].cross
    os_images = {OS_IMAGE: OS_ID, f"{OS_IMAGE}-arm64": "sha256:" + "a" * 64}
    arm = ("linux/arm64",)
    got = steps(graph, ["pytorch.cpu"], tmp_path, platforms=arm, os_images=os_images)
    # The host's base joins the plan (first): jupyter@arm64's build stage runs FROM it.
    assert list(got) == ["base", "base@arm64", "jupyter@arm64", "pytorch.cpu@arm64"]
    jupyter, host_base = got["jupyter@arm64"], got["base"]
    assert jupyter.build_parent == "base"
    assert jupyter.delivery.build_parent_ref == host_base.ref == "reg/ns/base:t1"
    assert jupyter.inputs.build_parent == host_base.inputs.digest
    command = buildx.command(jupyter.inputs, jupyter.delivery, root=chain.root)
    assert "BUILD_BASE_IMG=reg/ns/base:t1" in command
    assert command[command.index("BUILD_BASE_IMG=reg/ns/base:t1") - 1] == "--build-arg"
    # Not cross: no build parent; natively neither (BUILD_BASE_IMG defaults to BASE_IMG).
    assert got["pytorch.cpu@arm64"].build_parent is None
    native = steps(graph, ["jupyter"], tmp_path)
    assert native["jupyter"].build_parent is None
    assert native["jupyter"].inputs.build_parent == ""
    assert "BUILD_BASE_IMG" not in " ".join(
        buildx.command(native["jupyter"].inputs, native["jupyter"].delivery, root=chain.root)
    )
    # Both platforms asked for: the host's own steps serve, nothing is added.
    both = steps(
        graph, ["jupyter"], tmp_path, platforms=("linux/arm64", "linux/amd64"),
        os_images=os_images,
    )  # fmt: skip
    assert list(both) == ["base@arm64", "jupyter@arm64", "base", "jupyter"]
    assert both["jupyter@arm64"].build_parent == "base"
    # The host parent's digest is an input: another host base, another jupyter@arm64.
    other = steps(
        graph, ["jupyter"], tmp_path, platforms=arm,
        os_images={**os_images, OS_IMAGE: "sha256:" + "b" * 64},
    )  # fmt: skip
    assert other["base@arm64"].inputs.digest == got["base@arm64"].inputs.digest
    assert other["jupyter@arm64"].inputs.digest != jupyter.inputs.digest


def test_a_cross_installing_root_image_builds_from_the_host_os_image(
    chain: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """base resolves its packages on the build platform: its build stage runs FROM the host's
    OS image, whose ID is an input of base@arm64 (and checked before it builds), like the host
    parent's digest of a child."""
    chain.write("base/Dockerfile", CROSS.replace("BASE_IMG=base", f"BASE_IMG={OS_IMAGE}"))
    graph = chain.graph()
    assert graph.images["base"].cross
    arm_id = "sha256:" + "a" * 64
    os_images = {OS_IMAGE: OS_ID, f"{OS_IMAGE}-arm64": arm_id}
    got = steps(graph, ["jupyter"], tmp_path, platforms=("linux/arm64",), os_images=os_images)
    # No host step joins the plan: jupyter is not cross here, base needs only the OS image.
    assert list(got) == ["base@arm64", "jupyter@arm64"]
    base = got["base@arm64"]
    assert (base.delivery.parent_ref, base.inputs.parent) == (f"{OS_IMAGE}-arm64", arm_id)
    assert (base.delivery.build_parent_ref, base.inputs.build_parent) == (OS_IMAGE, OS_ID)
    assert base.build_parent is None, "no step to wait for: the OS image is there"
    assert f"BUILD_BASE_IMG={OS_IMAGE}" in buildx.command(
        base.inputs, base.delivery, root=chain.root
    )
    other = steps(
        graph, ["base"], tmp_path, platforms=("linux/arm64",),
        os_images={**os_images, OS_IMAGE: "sha256:" + "b" * 64},
    )  # fmt: skip
    assert other["base@arm64"].inputs.digest != base.inputs.digest, "the host OS is an input"
    native = steps(graph, ["base"], tmp_path, os_images=os_images)["base"]
    assert (native.delivery.build_parent_ref, native.inputs.build_parent) == ("", "")
    # The dry run and the build summary name both OS images (either may be pulled, bootstrapped
    # or refreshed first, and either changes base@arm64).
    monkeypatch.setattr(dryrun, "describe_local", lambda ref: f"OS image {ref} (x)")
    assert dryrun.os_image_lines([base]) == [
        f"OS image {OS_IMAGE} (x)",
        f"OS image {OS_IMAGE}-arm64 (x)",
    ]
    # Replaced during the build, the host's OS image stops base@arm64 like its own would.
    images = {f"{OS_IMAGE}-arm64": {"Id": arm_id}, OS_IMAGE: {"Id": OS_ID}}
    monkeypatch.setattr(engine, "inspect_image", images.get)
    assert build.parent_problem(base) is None
    images[OS_IMAGE] = {"Id": "sha256:" + "e" * 64}
    assert str(build.parent_problem(base)).startswith(f"OS image {OS_IMAGE} is another image now")


HOST = "linux/amd64"
"""The build host's platform the plans of these tests are made for."""


def test_the_host_os_image_is_ensured_for_a_cross_installing_root(
    chain: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """base@arm64's build stage runs FROM the host's OS image: the plan ensures it (a dry run
    inspects it) although only linux/arm64 is asked for; a root that is not cross needs none."""
    monkeypatch.setattr(engine, "inspect_image", lambda ref: {"Id": f"id-of-{ref}"})
    dry = BuildRequest(dry_run=True)
    arm = ("linux/arm64",)
    graph = chain.graph()
    plain = build._os_images(
        graph.build_order({"base"}), graph, dry, mirror="m", platforms=arm, host=HOST
    )
    assert plain == {f"{OS_IMAGE}-arm64": f"id-of-{OS_IMAGE}-arm64"}
    chain.write("base/Dockerfile", CROSS.replace("BASE_IMG=base", f"BASE_IMG={OS_IMAGE}"))
    graph = chain.graph()
    got = build._os_images(
        graph.build_order({"base"}), graph, dry, mirror="m", platforms=arm, host=HOST
    )
    assert got == {OS_IMAGE: f"id-of-{OS_IMAGE}", f"{OS_IMAGE}-arm64": f"id-of-{OS_IMAGE}-arm64"}
    native = build._os_images(
        graph.build_order({"base"}), graph, dry, mirror="m", platforms=("linux/amd64",), host=HOST
    )
    assert native == {OS_IMAGE: f"id-of-{OS_IMAGE}"}


def test_default_tags_come_from_git(chain: Repo, tmp_path: Path) -> None:
    got = steps(chain.graph(), ["jupyter"], tmp_path, request=BuildRequest(no_cache=True))
    assert got["jupyter"].delivery.refs == ("kfnb/jupyter:sha-0123456789ab", "kfnb/jupyter:latest")
    assert got["jupyter"].delivery.parent_ref == "kfnb/base:sha-0123456789ab"
    assert got["jupyter"].delivery.no_cache


def test_a_parent_change_changes_every_descendant(chain: Repo, tmp_path: Path) -> None:
    graph = chain.graph()

    def digests(**kw: Any) -> dict[str, str]:
        return {n: s.inputs.digest for n, s in steps(graph, ["all"], tmp_path, **kw).items()}

    before = digests()
    assert set(before) == set(graph.images)
    other_os = digests(os_images={OS_IMAGE: "sha256:other"})
    assert all(other_os[n] != before[n] for n in before), "a new OS image changes everything"
    with_ca = digests(baked_ca="c")
    assert all(with_ca[n] != before[n] for n in before), "the CA is in every image"
    chain.append("jupyter/Dockerfile")
    after = digests()
    assert {n for n in before if after[n] != before[n]} == {
        "jupyter",
        "pytorch.cpu",
        "pytorch.cuda",
    }


def test_delivery_does_not_change_the_digest(chain: Repo, tmp_path: Path) -> None:
    graph = chain.graph()
    one = steps(graph, ["jupyter"], tmp_path)
    other = steps(
        graph,
        ["jupyter"],
        tmp_path / "elsewhere",
        request=BuildRequest(registry="other.example/x", tags=("v9",), no_cache=True),
        git=GitInfo(sha="f" * 40, dirty=True, source="elsewhere"),
        created="2030-01-01T00:00:00+00:00",
    )
    assert {n: s.inputs for n, s in one.items()} == {n: s.inputs for n, s in other.items()}


def test_file_artifact_gets_a_context_folder(repo: Repo, tmp_path: Path) -> None:
    mirror = tmp_path / "t.tgz"
    mirror.write_text("tool")
    repo.write("a/Dockerfile", f"ARG BASE_IMG={OS_IMAGE}\nFROM $BASE_IMG\nARG TOOL_URL\n")
    repo.write("a/image.yaml", "artifacts: [{name: tool, url: 'http://h/t', build_arg: TOOL_URL}]")
    got = steps(repo.graph(), ["a"], tmp_path, overrides={"TOOL_URL": mirror.as_uri()})
    contexts = got["a"].delivery.context_dirs
    assert set(contexts) == {"ca-certs", "artifact-tool"}
    assert contexts["artifact-tool"].parent == tmp_path / "work"


# ------------------------------------------------------------------ CA and OS image


def test_ca_files_from_options_directories_and_settings(tmp_path: Path) -> None:
    one = tmp_path / "one.crt"
    one.write_text(PEM)
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "two.crt").write_text(PEM)
    (folder / "ignored.txt").write_text("x")
    assert collect_ca_files([str(one), str(folder)]) == [one, folder / "two.crt"]
    default = Settings.from_environ({"KFIMAGES_CA_CERT": f"{one}{os.pathsep}{folder}"}).ca_cert
    assert collect_ca_files([], default=default) == [one, folder / "two.crt"]
    assert collect_ca_files([str(one)], default=default) == [one], "--ca-cert wins"
    assert collect_ca_files([str(one), str(one)]) == [one], "no duplicates"
    assert collect_ca_files([]) == []
    target = tmp_path / "ctx"
    fill_ca_dir([one, folder / "two.crt"], target=target)
    assert sorted(p.name for p in target.iterdir()) == ["00-one.crt", "01-two.crt"]
    assert ca_digest([one]) != ca_digest([])
    bad = tmp_path / "bad.crt"
    bad.write_text("not a cert")
    with pytest.raises(UserError, match="not a PEM certificate"):
        collect_ca_files([str(bad)])
    with pytest.raises(UserError, match="does not exist"):
        collect_ca_files([str(tmp_path / "missing.crt")])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match=r"holds no \*\.crt"):
        collect_ca_files([str(empty)])


def test_os_suite_from_the_tag() -> None:
    assert suite_for("debian:trixie-slim") == "trixie"
    assert suite_for("localhost:5000/debian:bookworm") == "bookworm"
    with pytest.raises(UserError, match="--suite"):
        suite_for("debian:13-slim")
    with pytest.raises(UserError, match="--suite"):
        suite_for("localhost:5000/debian")


def test_a_retagged_parent_ref_stops_the_child(
    chain: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child builds FROM its parent's ref: if something retagged that ref after the
    parent was built (a second build of the same tag), building would label other content
    with this plan's digest. The runner refuses instead."""
    planned = steps(chain.graph(), ["jupyter"], tmp_path)
    jupyter, base = planned["jupyter"], planned["base"]
    labels: dict[str, dict[str, str]] = {}
    monkeypatch.setattr(engine, "image_labels", labels.get)
    images: dict[str, dict[str, str]] = {base.delivery.parent_ref: {"Id": OS_ID}}
    monkeypatch.setattr(engine, "inspect_image", images.get)
    assert build.parent_problem(base) is None, "a root builds FROM the OS image the plan found"
    images[base.delivery.parent_ref] = {"Id": "sha256:" + "e" * 64}  # refreshed meanwhile
    assert str(build.parent_problem(base)).startswith(
        f"OS image {base.delivery.parent_ref} is another image now (sha256:eeeeeeeeeeee, "
    )
    del images[base.delivery.parent_ref]
    assert "is another image now ((none)" in str(build.parent_problem(base))
    labels[jupyter.delivery.parent_ref] = {INPUTS_LABEL: base.inputs.digest}
    assert build.parent_problem(jupyter) is None
    labels[jupyter.delivery.parent_ref] = {INPUTS_LABEL: "0" * 64}
    problem = build.parent_problem(jupyter)
    assert problem is not None
    assert problem.startswith(f"parent ref {jupyter.delivery.parent_ref} names another image")
    del labels[jupyter.delivery.parent_ref]
    assert "inputs (none)" in str(build.parent_problem(jupyter))
