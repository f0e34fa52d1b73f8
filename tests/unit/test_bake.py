"""The bake file (kfimages.ship.bake) from the Steps: targets, contexts, args, labels, tags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kfimages.build import buildx
from kfimages.build.plan import BuildRequest, Facts, Step, make_steps, plan_images
from kfimages.git import GitInfo
from kfimages.repo.inputs import INPUTS_LABEL
from kfimages.ship import bake
from tests.unit.conftest import Repo

OS_IMAGE = "debian:trixie-slim"
GIT = GitInfo(sha="0123456789abcdef0123", dirty=False, source="https://example.org/x.git")


def plan(
    repo: Repo, names: list[str], tmp_path: Path, platforms: tuple[str, ...] = ("linux/amd64",)
) -> list[Step]:
    graph = repo.graph()
    os_images = {OS_IMAGE: "sha256:os", f"{OS_IMAGE}-arm64": "sha256:os-arm64"}
    facts = Facts(
        git=GIT, os_images=os_images, repository_files=[], baked_ca="",
        created="2026-01-01T00:00:00+00:00", work_dir=tmp_path / "work",
        secrets={"build-ca": tmp_path / "work" / "secrets" / "build-ca.pem"},
    )  # fmt: skip
    request = BuildRequest(registry="reg/ns", tags=("sha-0123456789ab", "latest"))
    images = plan_images(graph, names)
    return make_steps(
        graph, images, request=request, facts=facts, platforms=platforms, host="linux/amd64"
    )


def doc(repo: Repo, names: list[str], tmp_path: Path, **kw: Any) -> dict[str, Any]:
    steps = plan(repo, names, tmp_path)
    baked, reused = bake.select(steps, wanted=set(names), reusable=kw.pop("reusable", None)
                                or (lambda s: None))  # fmt: skip
    return bake.bake_file(baked, reused=reused, root=str(repo.root), **kw)


def test_one_target_per_image_parents_in_the_same_bake_by_target(
    chain: Repo, tmp_path: Path
) -> None:
    chain.write("pytorch/image.yaml", "build_args: {TORCH: '2.11'}\n")
    d = doc(chain, ["pytorch.cpu", "codeserver"], tmp_path)
    assert d["group"]["default"]["targets"] == ["base", "codeserver", "jupyter", "pytorch-cpu"]
    cpu = d["target"]["pytorch-cpu"]
    assert cpu["context"] == f"{chain.root}/pytorch"
    assert cpu["dockerfile"] == "cpu.Dockerfile"
    assert cpu["args"] == {"BASE_IMG": "reg/ns/jupyter:sha-0123456789ab", "TORCH": "2.11"}
    assert cpu["contexts"] == {
        "ca-certs": str(tmp_path / "work" / "ca-certs"),
        "reg/ns/jupyter:sha-0123456789ab": "target:jupyter",
    }
    assert cpu["tags"] == ["reg/ns/pytorch-cpu:sha-0123456789ab", "reg/ns/pytorch-cpu:latest"]
    assert cpu["platforms"] == ["linux/amd64"]
    assert cpu["secret"] == [f"id=build-ca,src={tmp_path / 'work' / 'secrets' / 'build-ca.pem'}"]
    assert cpu["labels"]["org.opencontainers.image.title"] == "pytorch.cpu"
    base = d["target"]["base"]
    assert base["args"] == {"BASE_IMG": OS_IMAGE}
    assert set(base["contexts"]) == {"ca-certs"}, "the OS image needs no named context"
    assert "cache-from" not in base


def test_bake_and_buildx_command_carry_the_same_args_labels_contexts(
    chain: Repo, tmp_path: Path
) -> None:
    steps = {s.name: s for s in plan(chain, ["jupyter"], tmp_path)}
    d = doc(chain, ["jupyter"], tmp_path)
    step, target = steps["jupyter"], d["target"]["jupyter"]
    cmd = buildx.command(step.inputs, step.delivery, root=chain.root)
    pairs = {(cmd[i], cmd[i + 1]) for i in range(len(cmd) - 1)}
    for key, value in target["args"].items():
        assert ("--build-arg", f"{key}={value}") in pairs
    for key, value in target["labels"].items():
        assert ("--label", f"{key}={value}") in pairs
    assert target["labels"][INPUTS_LABEL] == step.inputs.digest
    assert ("--build-context", f"ca-certs={target['contexts']['ca-certs']}") in pairs
    for tag in target["tags"]:
        assert ("-t", tag) in pairs
    src = target["secret"][0].removeprefix("id=build-ca,src=")
    assert ("--secret", f"id=build-ca,src={src}") in pairs


def test_a_reused_parent_is_its_local_ref_not_a_target(chain: Repo, tmp_path: Path) -> None:
    def reusable(step: Step) -> str | None:
        return "reg/ns/base:latest" if step.name == "base" else None

    d = doc(chain, ["jupyter"], tmp_path, reusable=reusable)
    assert list(d["target"]) == ["jupyter"]
    assert d["target"]["jupyter"]["contexts"]["reg/ns/base:sha-0123456789ab"] == (
        "docker-image://reg/ns/base:latest"
    )
    # asked for by name: baked even when reusable
    d = doc(chain, ["base", "jupyter"], tmp_path, reusable=reusable)
    assert list(d["target"]) == ["base", "jupyter"]


def test_only_needed_ancestors_are_looked_up(chain: Repo, tmp_path: Path) -> None:
    asked: list[str] = []

    def reusable(step: Step) -> str | None:
        asked.append(step.name)
        return "reg/ns/jupyter:latest" if step.name == "jupyter" else None

    d = doc(chain, ["pytorch.cuda"], tmp_path, reusable=reusable)
    assert list(d["target"]) == ["pytorch-cuda"]
    assert asked == ["jupyter"], "base is not needed below a reused jupyter"


def test_registry_cache_and_stable_json(chain: Repo, tmp_path: Path) -> None:
    d = doc(chain, ["base"], tmp_path, cache_registry="ghcr.io/o/cache/")
    base = d["target"]["base"]
    assert base["cache-from"] == ["type=registry,ref=ghcr.io/o/cache/base:buildcache"]
    assert base["cache-to"] == ["type=registry,ref=ghcr.io/o/cache/base:buildcache,mode=max"]
    text = bake.render(d)
    assert json.loads(text) == d
    assert text == bake.render(doc(chain, ["base"], tmp_path, cache_registry="ghcr.io/o/cache"))


def test_another_platform_is_its_own_chain_of_targets(chain: Repo, tmp_path: Path) -> None:
    steps = plan(chain, ["jupyter"], tmp_path, platforms=("linux/amd64", "linux/arm64"))
    wanted = {s.name for s in steps if s.image.name == "jupyter"}
    baked, reused = bake.select(steps, wanted=wanted, reusable=lambda s: None)
    d = bake.bake_file(baked, reused=reused, root=str(chain.root))
    assert d["group"]["default"]["targets"] == ["base", "jupyter", "base-arm64", "jupyter-arm64"]
    arm = d["target"]["jupyter-arm64"]
    assert arm["platforms"] == ["linux/arm64"]
    assert arm["tags"] == ["reg/ns/jupyter:sha-0123456789ab-arm64", "reg/ns/jupyter:latest-arm64"]
    assert arm["contexts"]["reg/ns/base:sha-0123456789ab-arm64"] == "target:base-arm64"
    assert d["target"]["base-arm64"]["args"]["BASE_IMG"] == f"{OS_IMAGE}-arm64"
    assert arm["labels"][INPUTS_LABEL] != d["target"]["jupyter"]["labels"][INPUTS_LABEL]


def test_a_read_only_registry_cache_has_no_cache_to(chain: Repo, tmp_path: Path) -> None:
    """What a pull request's bake gets (`--cache-read-only`): main's cache read, never written."""
    d = doc(chain, ["jupyter"], tmp_path, cache_registry="ghcr.io/o/cache", cache_write=False)
    for name, body in d["target"].items():
        assert body["cache-from"] == [f"type=registry,ref=ghcr.io/o/cache/{name}:buildcache"]
        assert "cache-to" not in body, name
