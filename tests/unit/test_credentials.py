"""Nothing secret ships: no credentials in the source label, a build arg or the DEBUG log;
artifact names are display names only; a committed image.yaml names no local file."""

from __future__ import annotations

import io
import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType

import pytest

from kfimages.build import bootstrap, buildx
from kfimages.build.buildx import Delivery
from kfimages.errors import UserError
from kfimages.git import read_info
from kfimages.repo.artifacts import check_url
from kfimages.repo.inputs import BuildInputs, make_inputs
from kfimages.settings import has_credentials, mask_credentials, mask_logs, strip_credentials
from tests.unit.conftest import Repo

PROJECT = Path(__file__).resolve().parents[2]


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


# ------------------------------------------- tokens in query strings, the mirror, labels

TOKEN_URLS = [
    ("https://dl.example/t.tgz?token=t0ps3cret", "https://dl.example/t.tgz"),
    ("https://git.example/o/r.git?access_token=t0ps3cret&ref=main",
     "https://git.example/o/r.git?ref=main"),
    ("https://b.s3.amazonaws.com/w.whl?X-Amz-Date=20261203&X-Amz-Signature=t0ps3cret"
     "&X-Amz-Security-Token=t0ps3cret", "https://b.s3.amazonaws.com/w.whl?X-Amz-Date=20261203"),
    ("https://acct.blob.core.windows.net/c/f?sv=2024-11-04&sig=t0ps3cret",
     "https://acct.blob.core.windows.net/c/f?sv=2024-11-04"),
    ("https://pypi.example/simple/?api-key=t0ps3cret", "https://pypi.example/simple/"),
    ("http://ci:t0ps3cret@mirror.example/debian?client_secret=t0ps3cret",
     "http://mirror.example/debian"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "stored"), TOKEN_URLS)
def test_query_tokens_are_credentials(url: str, stored: str) -> None:
    assert has_credentials(url)
    assert strip_credentials(url) == stored
    assert not has_credentials(stored)
    masked = mask_credentials(f"fetching {url} now")
    assert "t0ps3cret" not in masked
    assert masked.startswith("fetching http")
    assert masked.endswith(" now")


@pytest.mark.parametrize(
    "url",
    ["https://pypi.org/simple?format=json&author=me", "http://deb.debian.org/debian",
     "git@github.com:org/repo.git"],
)  # fmt: skip
def test_a_url_without_credentials_is_left_as_it_is(url: str) -> None:
    assert not has_credentials(url)
    assert strip_credentials(url) == url
    assert mask_credentials(url) == url


def test_a_remote_with_a_query_token_is_stripped_from_the_source_label(chain: Repo) -> None:
    chain.git("remote", "add", "origin", "https://git.example/org/images.git?private_token=s3c")
    assert read_info(chain.root).source == "https://git.example/org/images.git"


def test_a_build_arg_with_a_query_token_is_refused(repo: Repo) -> None:
    _image_with_arg(repo)
    with pytest.raises(UserError, match="MIRROR_URL is a URL with credentials") as caught:
        _inputs(repo, {"MIRROR_URL": "https://mirror.example/simple?access_token=pa55"})
    assert "pa55" not in str(caught.value)


def test_the_debug_log_masks_query_tokens(caplog: pytest.LogCaptureFixture) -> None:
    sink = buildx.Output(io.StringIO(), prefix=False)
    with caplog.at_level(logging.DEBUG, logger="kfimages.build.buildx"):
        buildx.run(["true", "--build-context", "w=https://s3.example/w?X-Amz-Signature=pa55"],
                   name="a", output=sink)  # fmt: skip
    assert "pa55" not in caplog.text
    assert "X-Amz-Signature=***" in caplog.text


def test_a_label_with_a_credential_is_refused() -> None:
    inputs = BuildInputs(
        name="a", folder="a", dockerfile="a/Dockerfile", files=(), extra_files=(),
        build_args=MappingProxyType({}), artifacts=(), baked_ca="", parent="p", platform="",
    )  # fmt: skip
    source = "org.opencontainers.image.source"
    clean = Delivery(refs=("r/a:t",), parent_ref="p", labels={source: "https://git.example/r"})
    assert buildx.labels(inputs, clean)[source] == "https://git.example/r"
    for value in ("https://git.example/r?token=pa55", "https://u:pa55@git.example/r"):
        leaky = Delivery(refs=("r/a:t",), parent_ref="p", labels={source: value})
        with pytest.raises(UserError, match=rf"^label {source}=https://\S+ carries") as caught:
            buildx.labels(inputs, leaky)
        assert "pa55" not in str(caught.value)
        assert "\n" not in str(caught.value)
    with pytest.raises(UserError, match=r"^label io\.kfimages\.os\.mirror=http://\*\*\*@"):
        bootstrap.import_changes({"io.kfimages.os.mirror": "http://u:pa55@m.example/debian"})


MIRROR = "http://ci:m1rr0rpw@mirror.example/debian?token=m1rr0rtok"


def test_the_os_image_label_keeps_the_mirror_without_its_credentials() -> None:
    labels = bootstrap.origin_labels(suite="trixie", mirror=MIRROR, date="2026-12-03")
    assert labels["io.kfimages.os.mirror"] == "http://mirror.example/debian"
    assert "--change" in bootstrap.import_changes(labels), "accepted: nothing left to leak"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: a connection is refused at once


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("debootstrap") is None or not bootstrap.KEYRING.is_file(),
    reason="runs the real debootstrap: needs root, debootstrap and Debian's archive keyring",
)
def test_the_mirror_is_masked_in_the_log_and_the_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A real debootstrap against a mirror URL with credentials on a closed port: it fails,
    and neither the INFO line of the command nor the error names the password or token."""
    mirror = MIRROR.replace("mirror.example", f"127.0.0.1:{_closed_port()}")
    with caplog.at_level(logging.INFO), pytest.raises(UserError) as caught:
        bootstrap._debootstrap(suite="trixie", target=tmp_path / "root", mirror=mirror)
    assert "debootstrap" in caplog.text
    assert "http://***@127.0.0.1:" in caplog.text
    for secret in ("m1rr0rpw", "m1rr0rtok"):
        assert secret not in caplog.text
        assert secret not in str(caught.value)
    assert str(caught.value).startswith("debootstrap trixie from http://***@127.0.0.1:")


def test_an_artifact_check_names_the_url_masked() -> None:
    url = f"http://bot:pa55@127.0.0.1:{_closed_port()}/tool.tgz?token=pa55"
    reason = str(check_url(url, timeout=5))
    assert reason.startswith("cannot reach http://***@127.0.0.1:"), reason
    assert "pa55" not in reason


def test_every_log_line_of_a_task_is_masked() -> None:
    """What tasks.py installs on the log handlers: any logger, any level, message or args."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    mask_logs([handler])
    mask_logs([handler])  # once only
    assert len(handler.filters) == 1
    logger = logging.getLogger("kfimages.anything")
    logger.addHandler(handler)
    try:
        logger.warning("mirror %s", MIRROR)
        logger.error(f"url {MIRROR} failed")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines == [
        "mirror http://***@mirror.example/debian?token=***",
        "url http://***@mirror.example/debian?token=*** failed",
    ]


def test_the_tasks_log_setup_masks_every_line() -> None:
    """The logging that every invoke task sets up (tasks._setup_logging), in a fresh process."""
    script = (
        "import logging, tasks; tasks._setup_logging('DEBUG'); "
        f"logging.getLogger('kfimages.build.bootstrap').info('from %s', {MIRROR!r})"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True,
                          text=True, check=True)  # fmt: skip
    assert "from http://***@mirror.example/debian?token=***" in done.stderr
    assert "m1rr0r" not in done.stderr
