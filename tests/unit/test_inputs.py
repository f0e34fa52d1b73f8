"""What decides an image's content (kfimages.repo.inputs) and the command line built from it
(kfimages.build.buildx.command): every field of BuildInputs is content, no field of Delivery is."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from kfimages.build import buildx
from kfimages.build.buildx import Delivery
from kfimages.errors import UserError
from kfimages.git import repository_files
from kfimages.repo.graph import Graph
from kfimages.repo.inputs import (
    INPUTS_LABEL,
    ArtifactInput,
    BuildInputs,
    make_inputs,
    resolve_artifacts,
    resolve_build_args,
)
from tests.unit.conftest import Repo


def inputs_of(graph: Graph, name: str, **kw: Any) -> BuildInputs:
    """make_inputs with neutral facts (no overrides, CA, parent 'p', linux/amd64)."""
    facts: dict[str, Any] = {
        "overrides": {},
        "repository_files": repository_files(graph.root),
        "baked_ca": "",
        "parent": "p",
        "platform": "linux/amd64",
        **kw,
    }
    return make_inputs(graph.get(name), root=graph.root, **facts)


def digest(graph: Graph, name: str, **kw: Any) -> str:
    return inputs_of(graph, name, **kw).digest


def delivery(**kw: Any) -> Delivery:
    values: dict[str, Any] = {
        "refs": ("reg/ns/img:sha-0123456789ab", "reg/ns/img:latest"),
        "parent_ref": "reg/ns/parent:sha-0123456789ab",
        "labels": {"org.opencontainers.image.revision": "0123"},
        "context_dirs": {"ca-certs": Path("/w/ca-certs")},
        "no_cache": False,
        **kw,
    }
    return Delivery(**values)


# ------------------------------------------------ every field of BuildInputs counts

OTHER_VALUE: dict[str, Any] = {
    "name": "other",
    "folder": "other",
    "dockerfile": "pytorch/other.Dockerfile",
    "files": (("extra.txt", "-:" + "0" * 64),),
    "extra_files": (("shared/a.txt", "1" * 64),),
    "build_args": {"NEW_ARG": "1"},
    "artifacts": (ArtifactInput(name="tool", url="http://h/t.tgz"),),
    "baked_ca": "2" * 64,
    "parent": "sha256:" + "3" * 64,
    "platform": "linux/arm64",
    "build_parent": "4" * 64,
}
"""A different valid value for every field (added to the existing value for collections)."""

SHOWN_BY_THE_COMMAND = {"folder", "dockerfile", "build_args", "platform"}
"""Fields the command line expresses directly (besides the input digest label); the others
reach the build through the context (files, CA and artifact contexts, BASE_IMG, BUILD_BASE_IMG)."""


def _other(inputs: BuildInputs, field: str) -> Any:
    value = getattr(inputs, field)
    new = OTHER_VALUE[field]
    if isinstance(value, tuple):
        return value + new
    if isinstance(value, dict | MappingProxyType):
        return MappingProxyType({**value, **new})
    assert new != value
    return new


def _without_digest(cmd: list[str], digest: str) -> list[str]:
    return [arg for arg in cmd if arg != f"{INPUTS_LABEL}={digest}"]


def test_every_build_inputs_field_changes_the_digest_and_the_command(chain: Repo) -> None:
    chain.write("pytorch/image.yaml", "build_args: {TORCH: '2.5'}\n")
    inputs = inputs_of(chain.graph(), "pytorch.cpu")
    fields = {f.name for f in dataclasses.fields(BuildInputs)}
    assert set(OTHER_VALUE) == fields, "give every (new) BuildInputs field a different value"
    assert inputs.files, "the fixture exercises non-empty collections"
    assert inputs.build_args
    base_cmd = buildx.command(inputs, delivery(), root=chain.root)
    assert f"{INPUTS_LABEL}={inputs.digest}" in base_cmd
    for field in sorted(fields):
        changed = dataclasses.replace(inputs, **{field: _other(inputs, field)})
        assert changed.digest != inputs.digest, f"{field} is not part of the input digest"
        cmd = buildx.command(changed, delivery(), root=chain.root)
        assert cmd != base_cmd, f"{field} does not change the command line"
        if field in SHOWN_BY_THE_COMMAND:
            assert _without_digest(cmd, changed.digest) != _without_digest(
                base_cmd, inputs.digest
            ), f"{field} is missing from the command line"


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("files", lambda v: ((v[0][0], "x" + v[0][1][1:]), *v[1:])),  # mode only
        ("files", lambda v: ((v[0][0] + ".renamed", v[0][1]), *v[1:])),  # name only
        ("build_args", lambda v: MappingProxyType({k: val + "1" for k, val in v.items()})),
        ("build_args", lambda v: MappingProxyType({k + "_X": val for k, val in v.items()})),
    ],
)
def test_an_element_of_a_collection_field_counts(chain: Repo, field: str, change: Any) -> None:
    chain.write("pytorch/image.yaml", "build_args: {TORCH: '2.5'}\n")
    inputs = inputs_of(chain.graph(), "pytorch.cpu")
    changed = dataclasses.replace(inputs, **{field: change(getattr(inputs, field))})
    assert changed.digest != inputs.digest


def test_each_artifact_field_counts(chain: Repo) -> None:
    art = ArtifactInput(name="t", url="file:///m/t.tgz", context="artifact-t", sha256="a" * 64)
    inputs = dataclasses.replace(inputs_of(chain.graph(), "base"), artifacts=(art,))
    for field, value in {"name": "u", "url": "file:///m/u", "context": "c", "sha256": "b"}.items():
        other = dataclasses.replace(art, **{field: value})
        assert dataclasses.replace(inputs, artifacts=(other,)).digest != inputs.digest, field


def test_digest_does_not_depend_on_mapping_order(chain: Repo) -> None:
    inputs = dataclasses.replace(
        inputs_of(chain.graph(), "base"), build_args=MappingProxyType({"A": "1", "B": "2"})
    )
    again = dataclasses.replace(inputs, build_args=MappingProxyType({"B": "2", "A": "1"}))
    assert again.digest == inputs.digest
    assert len(inputs.digest) == 64


# ------------------------------------------------ no field of Delivery is content

OTHER_DELIVERY: dict[str, Any] = {
    "refs": ("reg/ns/img:sha-0123456789ab", "reg/ns/img:other"),
    "parent_ref": "reg/ns/parent:other",
    "build_parent_ref": "reg/ns/parent:other-host",
    "labels": {"org.opencontainers.image.revision": "4567"},
    "context_dirs": {"ca-certs": Path("/elsewhere/ca-certs")},
    "secrets": {"pip": Path("/run/pip.conf")},
    "no_cache": True,
}


def test_every_delivery_field_changes_the_command_but_not_the_digest(chain: Repo) -> None:
    inputs = inputs_of(chain.graph(), "jupyter")
    before = inputs.digest
    assert set(OTHER_DELIVERY) == {f.name for f in dataclasses.fields(Delivery)}
    base_cmd = buildx.command(inputs, delivery(), root=chain.root)
    for field, value in OTHER_DELIVERY.items():
        cmd = buildx.command(inputs, delivery(**{field: value}), root=chain.root)
        assert cmd != base_cmd, f"Delivery.{field} does not reach the command line"
        assert f"{INPUTS_LABEL}={before}" in cmd, f"Delivery.{field} changed the digest label"
    assert inputs.digest == before


def test_command_line_shape(chain: Repo) -> None:
    chain.write("pytorch/image.yaml", "build_args: {TORCH: '2.5'}\n")
    inputs = inputs_of(chain.graph(), "pytorch.cpu")
    cmd = buildx.command(
        inputs,
        delivery(labels={INPUTS_LABEL: "forged", "a": "b"}, no_cache=True),
        root=chain.root,
    )
    assert cmd[:5] == ["docker", "buildx", "build", "--progress=plain", "--load"]
    assert cmd[cmd.index("-f") + 1] == str(chain.root / "pytorch/cpu.Dockerfile")
    assert cmd[-1] == str(chain.root / "pytorch")
    build_args = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--build-arg"]
    assert build_args == ["BASE_IMG=reg/ns/parent:sha-0123456789ab", "TORCH=2.5"]
    labels = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--label"]
    assert f"{INPUTS_LABEL}={inputs.digest}" in labels, "a per-build label cannot forge it"
    assert f"{INPUTS_LABEL}=forged" not in labels
    tags = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-t"]
    assert tags == ["reg/ns/img:sha-0123456789ab", "reg/ns/img:latest"]
    assert cmd[cmd.index("--platform") + 1] == "linux/amd64"
    assert "--no-cache" in cmd
    assert cmd[cmd.index("--build-context") + 1] == "ca-certs=/w/ca-certs"


def test_failure_reason_names_the_step() -> None:
    lines = [
        "#7 0.3 about to fail",
        'ERROR: failed to solve: process "/bin/sh -c echo hi && exit 7" did not complete '
        "successfully: exit code: 7",
    ]
    assert buildx.failure_reason(lines, code=1) == "RUN echo hi && exit 7 failed (exit code: 7)"
    assert buildx.failure_reason(["ERROR: failed to solve: x: not found"], code=1) == (
        "failed to solve: x: not found"
    )
    assert buildx.failure_reason([], code=9) == "buildx exited with 9"


# ---------------------------------------------------------------- make_inputs facts


def test_env_build_args_apply_to_declared_args_only(repo: Repo) -> None:
    repo.write("a/Dockerfile", "ARG BASE_IMG=x:y\nFROM $BASE_IMG\nARG TORCH_INDEX_URL=pypi\n")
    repo.write("a/image.yaml", "build_args:\n  TORCH_INDEX_URL: yaml\n  OTHER: 1\n")
    repo.commit()
    graph = repo.graph()
    image = graph.get("a")
    overrides = {"TORCH_INDEX_URL": "mirror", "UNUSED": "u"}
    args = resolve_build_args(image, root=repo.root, overrides=overrides)
    assert args == {"TORCH_INDEX_URL": "mirror", "OTHER": "1"}
    inputs = inputs_of(graph, "a", overrides=overrides)
    assert dict(inputs.build_args) == args
    assert inputs.digest != digest(graph, "a")
    assert digest(graph, "a", overrides={"UNUSED": "u"}) == digest(graph, "a")
    with pytest.raises(UserError, match="KFIMAGES_BUILD_ARG_BASE_IMG is not allowed"):
        resolve_build_args(image, root=repo.root, overrides={"BASE_IMG": "evil:1"})
    with pytest.raises(UserError, match="BASE_IMG is not allowed"):
        inputs_of(graph, "a", overrides={"BASE_IMG": "evil:1"})


def test_base_img_from_image_yaml_is_dropped(repo: Repo) -> None:
    repo.image("a", "x:y")
    repo.write("a/image.yaml", "build_args: {BASE_IMG: 'evil:1', A: '1'}\n")
    assert dict(inputs_of(repo.graph(), "a").build_args) == {"A": "1"}


def test_artifact_build_arg_defaults_to_its_url(repo: Repo) -> None:
    repo.write("a/Dockerfile", "ARG BASE_IMG=x:y\nFROM $BASE_IMG\nARG TOOL_URL\n")
    repo.write(
        "a/image.yaml",
        "artifacts:\n  - {name: tool, url: 'http://h/t.tgz', build_arg: TOOL_URL}\n"
        "  - {name: fixed, url: 'http://h/f.tgz'}\n",
    )
    graph = repo.graph()
    inputs = inputs_of(graph, "a")
    assert dict(inputs.build_args) == {"TOOL_URL": "http://h/t.tgz"}
    assert inputs.artifacts == (
        ArtifactInput(name="tool", url="http://h/t.tgz"),
        ArtifactInput(name="fixed", url="http://h/f.tgz"),
    )
    mirrored = inputs_of(graph, "a", overrides={"TOOL_URL": "http://mirror/t.tgz"})
    assert dict(mirrored.build_args) == {"TOOL_URL": "http://mirror/t.tgz"}
    assert [a.url for a in mirrored.artifacts] == ["http://mirror/t.tgz", "http://h/f.tgz"]
    assert mirrored.digest != inputs.digest
    image = graph.get("a")
    urls = [a.url for a in resolve_artifacts(image, build_args={"TOOL_URL": "file:///m/t"})]
    assert urls == ["file:///m/t", "http://h/f.tgz"]


def test_artifact_build_arg_not_declared_keeps_the_image_yaml_url(repo: Repo) -> None:
    repo.image("a", "x:y")  # no ARG TOOL_URL: an override does not apply
    repo.write("a/image.yaml", "artifacts: [{name: t, url: 'http://h/t', build_arg: TOOL_URL}]\n")
    inputs = inputs_of(repo.graph(), "a", overrides={"TOOL_URL": "http://mirror/t"})
    assert [a.url for a in inputs.artifacts] == ["http://h/t"]


def test_file_artifact_gets_a_context_and_its_sha256(repo: Repo, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror" / "tool.tgz"
    mirror.parent.mkdir()
    mirror.write_bytes(b"tool v1")
    repo.write("a/Dockerfile", "ARG BASE_IMG=x:y\nFROM $BASE_IMG\nARG TOOL_URL\n")
    repo.write(
        "a/image.yaml", "artifacts: [{name: tool, url: 'http://h/t', build_arg: TOOL_URL}]\n"
    )
    graph = repo.graph()
    local = inputs_of(graph, "a", overrides={"TOOL_URL": mirror.as_uri()})
    assert local.artifacts == (
        ArtifactInput(
            name="tool",
            url=mirror.as_uri(),
            context="artifact-tool",
            sha256=hashlib.sha256(b"tool v1").hexdigest(),
        ),
    )
    mirror.write_bytes(b"tool v2")  # same URL, other content: other image
    again = inputs_of(graph, "a", overrides={"TOOL_URL": mirror.as_uri()})
    assert again.digest != local.digest
    mirror.unlink()
    missing = inputs_of(graph, "a", overrides={"TOOL_URL": mirror.as_uri()})
    assert missing.artifacts[0].sha256 == ""
    assert missing.artifacts[0].context == "artifact-tool"


def test_file_mode_changes_the_digest(chain: Repo) -> None:
    graph = chain.graph()
    before = digest(graph, "pytorch.cpu")
    path = chain.root / "pytorch" / "requirements.txt"
    os.chmod(path, 0o755)
    assert dict(inputs_of(graph, "pytorch.cpu").files)["requirements.txt"].startswith("x:")
    assert digest(graph, "pytorch.cpu") != before
    os.chmod(path, 0o644)
    assert digest(graph, "pytorch.cpu") == before


def test_content_of_a_shared_file_changes_every_variant(chain: Repo) -> None:
    graph = chain.graph()
    before = {n: digest(graph, n) for n in ("pytorch.cpu", "pytorch.cuda")}
    chain.append("pytorch/requirements.txt")
    assert all(digest(graph, n) != d for n, d in before.items())


def test_docs_image_yaml_and_other_variants_are_not_inputs(chain: Repo) -> None:
    graph = chain.graph()
    before = digest(graph, "pytorch.cpu")
    chain.write("pytorch/README.md", "# docs only\n")
    chain.write("pytorch/sub/notes.md", "# docs only\n")
    chain.append("pytorch/cuda.Dockerfile")  # another variant's Dockerfile
    chain.write("pytorch/cuda.Dockerfile.dockerignore", "*\n")  # and its ignore file
    chain.write("pytorch/image.yaml", "size_budget_mb: 10\n")  # enters via build args only
    chain.write("pytorch/__pycache__/x.pyc", "bytecode")
    assert digest(chain.graph(), "pytorch.cpu") == before
    chain.write("pytorch/cpu.Dockerfile.dockerignore", "*.log\n")  # its own ignore file counts
    assert digest(chain.graph(), "pytorch.cpu") != before


def test_own_dockerfile_counts(chain: Repo) -> None:
    graph = chain.graph()
    before = digest(graph, "pytorch.cpu")
    chain.append("pytorch/cpu.Dockerfile")
    assert digest(graph, "pytorch.cpu") != before


def test_image_yaml_paths_are_inputs(repo: Repo) -> None:
    repo.image("a", "x:y")
    repo.write("a/image.yaml", "paths: ['shared/**']\n")
    repo.write("shared/fonts/f.txt", "1\n")
    repo.write("other/g.txt", "1\n")
    repo.commit()
    graph = repo.graph()
    inputs = inputs_of(graph, "a")
    assert [rel for rel, _ in inputs.extra_files] == ["shared/fonts/f.txt"]
    repo.write("other/g.txt", "2\n")
    assert digest(graph, "a") == inputs.digest
    repo.write("shared/fonts/f.txt", "2\n")
    assert digest(graph, "a") != inputs.digest


def test_symlinks_are_fingerprinted_by_their_target(repo: Repo) -> None:
    repo.image("a", "x:y")
    repo.write("a/data/file.txt", "1\n")
    repo.write("a/data/other.txt", "1\n")
    (repo.root / "a/link").symlink_to("data/file.txt")
    (repo.root / "a/dirlink").symlink_to("data")
    graph = repo.graph()
    inputs = inputs_of(graph, "a")
    files = dict(inputs.files)
    assert files["link"] == "link:data/file.txt"
    assert files["dirlink"] == "link:data"
    assert not any(rel.startswith("dirlink/") for rel in files), "a link is not followed"
    (repo.root / "a/link").unlink()
    (repo.root / "a/link").symlink_to("data/other.txt")
    assert digest(graph, "a") != inputs.digest
