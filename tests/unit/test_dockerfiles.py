"""kfimages.dockerfiles: the one set of Dockerfile regular expressions (ARG, FROM, cache
mounts); the parent rule itself is tested through kfimages.repo.graph.parse_parent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kfimages import dockerfiles

PROJECT = Path(__file__).resolve().parents[2]


def test_declared_args_global_and_per_stage_any_case() -> None:
    text = (
        "ARG BASE_IMG=x:y\nFROM $BASE_IMG AS build\narg TOOL_URL\n"
        "  ARG TORCH_INDEX_URL=https://pypi.org/simple\n# ARG COMMENTED=1\nRUN echo ARG NOT=1\n"
    )
    assert dockerfiles.declared_args(text) == {"BASE_IMG", "TOOL_URL", "TORCH_INDEX_URL"}


@pytest.mark.parametrize(
    ("text", "default"),
    [
        ("ARG BASE_IMG=base\nFROM $BASE_IMG\n", "base"),
        ('ARG BASE_IMG="a/b:c"\nFROM $BASE_IMG\n', "a/b:c"),
        ("ARG BASE_IMG=one\nARG BASE_IMG=two\nFROM $BASE_IMG\n", "two"),
        ("ARG BASE_IMG=base\nFROM $BASE_IMG\nARG BASE_IMG=later\n", "base"),
        ("FROM x\nARG BASE_IMG=after\n", None),
        ("ARG BASE_IMG\nFROM $BASE_IMG\n", None),
        ("ARG BASE_IMAGE=other\nFROM x\n", None),
    ],
)
def test_global_arg_default_is_the_last_before_the_first_from(
    text: str, default: str | None
) -> None:
    assert dockerfiles.global_arg_default(text, "BASE_IMG") == default


def test_from_images_and_the_arg_they_use() -> None:
    text = "FROM scratch AS ca\nfrom --platform=linux/amd64 ${BASE_IMG} AS final\nFROM $BASE\n"
    images = dockerfiles.from_images(text)
    assert images == ["scratch", "${BASE_IMG}", "$BASE"]
    assert [dockerfiles.uses_arg(i, "BASE_IMG") for i in images] == [False, True, False]


def test_cache_mounts_of_the_repository_dockerfiles() -> None:
    """What bench/results.md says may be warm in a cold build comes from the Dockerfiles."""

    def mounts(path: str) -> list[str]:
        return dockerfiles.cache_mounts((PROJECT / path).read_text(encoding="utf-8"))

    assert mounts("base/Dockerfile") == []
    assert mounts("jupyter/Dockerfile") == ["kfnb-jupyter-uv"]
    assert mounts("codeserver/Dockerfile") == ["kfnb-codeserver-npm"]


def test_cache_mounts_without_an_id_name_the_target() -> None:
    text = (
        "FROM x\nRUN --mount=type=cache,target=/root/.cache/pip \\\n"
        "    --mount=type=bind,source=a,target=/a \\\n"
        "    --mount=target=/var/cache/apt,type=cache,sharing=locked apt-get update\n"
        "RUN --mount=type=cache,target=/root/.cache/pip pip install x\n"
    )
    assert dockerfiles.cache_mounts(text) == ["/root/.cache/pip", "/var/cache/apt"]


def test_no_other_module_parses_dockerfile_instructions() -> None:
    """The one set: a regular expression on ARG, FROM or --mount outside dockerfiles.py is
    a second parser that can disagree with it."""
    package = Path(dockerfiles.__file__).resolve().parent
    marker = re.compile(r"re\.compile\([^)]*(ARG\\s|FROM\\s|--mount)")
    found = [
        str(path.relative_to(package))
        for path in sorted(package.rglob("*.py"))
        if path.name != "dockerfiles.py" and marker.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
    assert marker.search(Path(dockerfiles.__file__).read_text(encoding="utf-8"))
