"""Shipping against the real engine: content tags, `invoke manifest`, `invoke bake` (print on
the real graph, a real bake build of a throwaway chain)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kfimages import engine
from kfimages.build import taggers
from kfimages.build.report import EXIT_OK, Status
from kfimages.repo.inputs import INPUTS_LABEL
from tests.harness.registry import Registry
from tests.integration.conftest import REPO_ROOT, Repo, docker


def test_content_tags_on_a_chain_kept_on_reuse_and_pushed_last(
    chain: Repo, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain.write("a/image.yaml", "taggers: [date, debian]\n")
    chain.write("c/image.yaml", "taggers: [-debian]\n")
    chain.commit("taggers")
    report = chain.build("b", "c")
    assert report.exit_code == EXIT_OK, [r.reason for r in report.results]
    results = report.by_name()
    tags = {n: [r.rsplit(":", 1)[1] for r in results[n].content_refs] for n in "abc"}
    today = tags["a"][0]
    assert tags == {"a": [today, "debian-13"], "b": [today, "debian-13"], "c": [today]}
    image_id = engine.inspect_image(chain.ref("b"))
    assert image_id is not None
    assert engine.inspect_image(chain.ref("b", "debian-13"))["Id"] == image_id["Id"]  # type: ignore[index]

    def no_container(*args: object, **kwargs: object) -> list[str]:
        raise AssertionError("a reused image runs no tagger container")

    monkeypatch.setattr(taggers, "read_tags", no_container)
    again = chain.build("b", "c")
    assert {r.status for r in again.results} == {Status.REUSED}
    assert again.by_name()["b"].content_refs == results["b"].content_refs
    monkeypatch.undo()

    prefix = f"{registry.host}/{chain.registry}"
    pushed = chain.build("b", registry=prefix, tags=("sha-0123456789ab", "t1"), push=True)
    assert pushed.exit_code == EXIT_OK, [r.reason for r in pushed.results]
    assert registry.tags(f"{chain.registry}/b") == sorted(
        ["sha-0123456789ab", "t1", today, "debian-13"]
    )
    for result in pushed.results:  # (the order across images: tests/unit/test_push.py)
        pushed_tags = [ref.rsplit(":", 1)[1] for ref in result.pushed]
        assert pushed_tags.index("debian-13") > pushed_tags.index("sha-0123456789ab"), pushed_tags


def test_a_tagger_without_its_program_fails_the_image_naming_the_command(chain: Repo) -> None:
    chain.write("b/image.yaml", "taggers: [lab]\n")
    chain.commit("lab on an image without python")
    report = chain.build("b", "c")
    b = report.by_name()["b"]
    assert b.status == Status.FAILED
    assert b.reason.startswith("tagging: b: tagger 'lab' could not read a version:"), b.reason
    assert taggers.TAGGERS["lab"].command in b.reason
    assert report.by_name()["c"].status == Status.BUILT


def test_invoke_manifest_of_a_throwaway_image(chain: Repo, tmp_path: Path) -> None:
    assert chain.build("a").exit_code == EXIT_OK
    done = chain.invoke("manifest", "a", "--registry", chain.registry, "--tag", "t1")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("# Build manifest: a\n")
    assert f"`{chain.ref('a')}`" in text
    assert "- OS: Debian GNU/Linux 13 (trixie)" in text
    assert "| dpkg |" in text
    assert "## Python packages\n\n_no python3 on PATH_" in text
    assert f"| {INPUTS_LABEL} |" in text
    out = tmp_path / "manifests"
    done = chain.invoke("manifest", "built", "--output", str(out), "--registry", chain.registry,
                        "--tag", "t1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.md"]
    assert "not built, skipped: b, c" in done.stderr
    missing = chain.invoke("manifest", "b", "--registry", chain.registry, "--tag", "t1")
    assert missing.returncode == 2
    assert "no local image" in missing.stderr


@pytest.mark.repo_images  # every image's Dockerfile and image.yaml
def test_bake_print_accepts_the_real_graph(tmp_path: Path) -> None:
    bake_file = tmp_path / "docker-bake.json"
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "-r", str(REPO_ROOT), "bake", "all",
         "--tag", "kfit-print", "--work-dir", str(tmp_path / "work"), "--output", str(bake_file)],
        capture_output=True, text=True, check=False, cwd=REPO_ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = docker("buildx", "bake", "--print", "-f", str(bake_file))
    targets = json.loads(printed.stdout)["target"]
    assert "jupyter-pytorch-full-cpu" in targets
    cpu = targets["jupyter-pytorch-full-cpu"]
    assert cpu["contexts"]["kfnb/jupyter:kfit-print"] == "target:jupyter"
    assert cpu["args"]["BASE_IMG"] == "kfnb/jupyter:kfit-print"
    assert cpu["labels"][INPUTS_LABEL]


def test_a_real_bake_builds_the_chain_and_build_reuses_it(
    chain: Repo, tmp_path: Path, os_image: str
) -> None:
    bake_file = tmp_path / "docker-bake.json"
    work, registry = str(tmp_path / "work"), chain.registry
    done = chain.invoke("bake", "b,c", "--registry", registry, "--tag", "t1",
                        "--work-dir", work, "--output", str(bake_file))  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(bake_file.read_text())
    assert doc["group"]["default"]["targets"] == ["a", "b", "c"]
    assert doc["target"]["b"]["contexts"][chain.ref("a")] == "target:a"
    baked = docker("buildx", "bake", "-f", str(bake_file), "--load", check=False)
    assert baked.returncode == 0, baked.stderr[-2000:]
    assert engine.inspect_image(chain.ref("a")) is not None
    for child in ("b", "c"):
        # a's content under the child's, and BASE_IMG was a's exact ref (the named context
        # `<a's ref> = target:a` replaced it: a was not pulled, it was built in this bake)
        script = f"cat /a.txt /{child}.base"
        shown = docker("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh",
                       chain.ref(child), "-c", script)  # fmt: skip
        assert shown.stdout.split("\n")[:2] == [f"a from {os_image}", chain.ref("a")]
    report = chain.build("b", "c")
    assert {r.status for r in report.results} == {Status.REUSED}, "same input digests as build"


def test_two_platforms_push_per_platform_images_then_a_manifest_list_per_tag(
    chain: Repo, registry: Registry
) -> None:
    """--platform linux/amd64,linux/arm64 --push: each platform's chain is built FROM its own
    OS image and parent (the arm64 one through QEMU), pushed under `<tag>-<arch>`, and every
    tag becomes a manifest list of both, made after every per-platform image was pushed."""
    prefix = f"{registry.host}/{chain.registry}"
    both = ("linux/amd64", "linux/arm64")
    sha = "sha-0123456789ab"
    report = chain.build("b", registry=prefix, tags=(sha, "t1"), push=True, platforms=both)
    assert report.exit_code == EXIT_OK, [(r.name, r.reason) for r in report.results]
    assert [r.name for r in report.results] == ["a", "b", "a@arm64", "b@arm64"]
    # Locally: the host's refs as always, arm64's with the suffix, FROM arm64's parent.
    arm_b = f"{prefix}/b:t1-arm64"
    assert docker("run", "--rm", arm_b, "uname", "-m").stdout.strip() == "aarch64"
    assert (
        docker("run", "--rm", arm_b, "cat", "/b.base").stdout.strip() == f"{prefix}/a:{sha}-arm64"
    )
    assert docker("run", "--rm", f"{prefix}/b:t1", "uname", "-m").stdout.strip() == "x86_64"
    for name in ("a", "b"):
        tags = registry.tags(f"{chain.registry}/{name}")
        assert tags == sorted(f"{t}{s}" for t in (sha, "t1") for s in ("", "-amd64", "-arm64"))
        for tag in (sha, "t1"):
            assert registry.platforms(f"{chain.registry}/{name}", tag) == list(both)
    # The host's step records its per-platform pushes and the lists (the order of all the
    # writes: tests/unit/test_push.py), arm64's its own pushes.
    assert report.by_name()["b"].pushed == [
        f"{prefix}/b:{sha}-amd64", f"{prefix}/b:{sha}", f"{prefix}/b:t1-amd64", f"{prefix}/b:t1"
    ]  # fmt: skip
    assert report.by_name()["b@arm64"].pushed == [f"{prefix}/b:{sha}-arm64", f"{prefix}/b:t1-arm64"]


def test_native_legs_push_platform_tags_and_invoke_lists_joins_them(
    chain: Repo, registry: Registry
) -> None:
    """The generated workflow's path: each native runner pushes its platform's images under
    `<tag>-<arch>` with a record (`--no-lists --record`), then `invoke lists` makes the
    manifest lists. Here the arm64 leg runs under QEMU on this host."""
    prefix = f"{registry.host}/{chain.registry}"
    records = chain.path.parent / "pushed"  # outside the work tree, which must stay clean
    legs = {"amd64": "linux/amd64", "arm64": "linux/arm64"}
    for arch, platform in legs.items():
        done = chain.invoke(
            "build", "b", "--registry", prefix, "--tag", "t1", "--platform", platform,
            "--push", "--no-lists", "--record", str(records / f"b-{arch}.json"),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert registry.tags(f"{chain.registry}/b")[-1] == f"t1-{arch}", "no plain tag yet"
    rows = json.loads((records / "b-arm64.json").read_text(encoding="utf-8"))
    assert {"image": "b", "platform": "linux/arm64", "tag": f"{prefix}/b:t1",
            "ref": f"{prefix}/b:t1-arm64"} in rows  # fmt: skip
    done = chain.invoke("lists", str(records))
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{prefix}/b:t1: {prefix}/b:t1-amd64, {prefix}/b:t1-arm64" in done.stdout
    for name in ("a", "b"):
        assert registry.platforms(f"{chain.registry}/{name}", "t1") == list(legs.values())
    bad = chain.path.parent / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    done = chain.invoke("lists", str(bad))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {bad} is not a push record"), done.stderr
