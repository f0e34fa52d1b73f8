"""Nothing secret ships: no credentials in the source label, a build arg or the DEBUG log;
artifact names are display names only; a committed image.yaml names no local file."""

from __future__ import annotations

import io
import logging

import pytest

from kfimages.build import buildx
from kfimages.errors import UserError
from kfimages.git import read_info, strip_credentials
from kfimages.repo.inputs import make_inputs
from tests.unit.conftest import Repo


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:token@github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("https://oauth2:glpat-x@gitlab.example/g/r", "https://gitlab.example/g/r"),
        ("http://token@host:8080/r.git", "http://host:8080/r.git"),
        ("https://github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("/srv/git/repo", "/srv/git/repo"),
    ],
)
def test_remote_credentials_are_stripped(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected


def test_source_label_has_no_credentials(chain: Repo) -> None:
    chain.git("remote", "add", "origin", "https://ci-bot:s3cret-token@git.example/org/images.git")
    info = read_info(chain.root)
    assert info.source == "https://git.example/org/images.git"
    assert "s3cret" not in info.source


def _image_with_arg(repo: Repo) -> None:
    repo.write(
        "a/Dockerfile", "ARG BASE_IMG=x:y\nFROM $BASE_IMG\nARG MIRROR_URL=https://m.example\n"
    )
    repo.commit()


def _inputs(repo: Repo, overrides: dict[str, str]) -> None:
    make_inputs(
        repo.graph().get("a"),
        root=repo.root,
        overrides=overrides,
        repository_files=[],
        baked_ca="",
        parent="p",
        platform="linux/amd64",
    )


def test_a_build_arg_url_with_credentials_is_refused(repo: Repo) -> None:
    _image_with_arg(repo)
    _inputs(repo, {"MIRROR_URL": "https://mirror.example/simple"})  # fine
    with pytest.raises(UserError) as caught:
        _inputs(repo, {"MIRROR_URL": "https://bot:pa55@mirror.example/simple"})
    message = str(caught.value)
    assert "MIRROR_URL" in message
    assert "image history" in message
    assert "KFIMAGES_SECRET_" in message
    assert "pa55" not in message
    assert "\n" not in message


def test_a_committed_build_arg_with_credentials_is_refused_too(repo: Repo) -> None:
    _image_with_arg(repo)
    repo.write("a/image.yaml", "build_args:\n  MIRROR_URL: https://u:p@mirror.example/x\n")
    repo.commit()
    with pytest.raises(UserError, match="MIRROR_URL is a URL with credentials"):
        _inputs(repo, {})


def test_the_debug_log_masks_credentials(caplog: pytest.LogCaptureFixture) -> None:
    sink = buildx.Output(io.StringIO(), prefix=False)
    with caplog.at_level(logging.DEBUG, logger="kfimages.build.buildx"):
        buildx.run(
            ["true", "--build-arg", "URL=https://bot:pa55@mirror.example/x"], name="a", output=sink
        )
    assert "pa55" not in caplog.text
    assert "https://***@mirror.example/x" in caplog.text


@pytest.mark.parametrize("name", ["a/b", "../etc", "x..y", "tab\tname", "nul\x00"])
def test_artifact_names_are_display_names_only(repo: Repo, name: str) -> None:
    repo.write("a/Dockerfile", "ARG BASE_IMG=x:y\nFROM $BASE_IMG\n")
    repo.write(
        "a/image.yaml",
        f'artifacts:\n  - name: "{name.encode("unicode_escape").decode()}"\n'
        "    url: https://dl.example/t.tgz\n",
    )
    repo.commit()
    with pytest.raises(UserError, match="must be a display name"):
        repo.graph()


def test_an_artifact_name_with_spaces_is_fine_and_names_no_path(repo: Repo) -> None:
    repo.write("a/Dockerfile", "ARG BASE_IMG=x:y\nFROM $BASE_IMG\nARG TOOL_URL\n")
    repo.write(
        "a/image.yaml",
        "artifacts:\n  - name: PyTorch CPU wheel index\n    url: https://dl.example/whl\n"
        "    build_arg: TOOL_URL\n",
    )
    repo.commit()
    local = repo.root / "tool.tgz"
    local.write_bytes(b"tool")
    image = repo.graph().get("a")
    inputs = make_inputs(
        image,
        root=repo.root,
        overrides={"TOOL_URL": local.as_uri()},
        repository_files=[],
        baked_ca="",
        parent="p",
        platform="linux/amd64",
    )
    assert inputs.artifacts[0].context == "artifact-pytorch-cpu-wheel-index"


def test_a_committed_file_url_is_refused(repo: Repo) -> None:
    repo.write("a/Dockerfile", "ARG BASE_IMG=x:y\nFROM $BASE_IMG\nARG TOOL_URL\n")
    repo.write(
        "a/image.yaml",
        "artifacts:\n  - name: tool\n    url: file:///home/me/tool.tgz\n    build_arg: TOOL_URL\n",
    )
    repo.commit()
    with pytest.raises(UserError, match=r"file:// URL.*KFIMAGES_BUILD_ARG_TOOL_URL=file:///path"):
        repo.graph()
