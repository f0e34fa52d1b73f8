"""The last stage of rstudio/Dockerfile refuses a package it cannot verify.

RStudio Server itself cannot be downloaded here, but the checks before its installation
can be exercised with the real Dockerfile: a local file given the way `invoke build`
gives one (a file:// RSTUDIO_URL plus the named build context artifact-rstudio-server)
is refused when its SHA-256 differs from RSTUDIO_SHA256, or when no sum is pinned; an
unreachable mirror fails the build with the URL. The file used is not a package at all:
the build must stop before it would be installed. A real (tiny, empty) Debian package
called rstudio-server, made here with dpkg-deb, checks the Version: refused with a clear
line when it is not RSTUDIO_VERSION, installed when it is.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from kfimages.build.buildx import AdhocBuildError, build_adhoc
from tests.harness.images import remove_image
from tests.images.conftest import REPO_ROOT
from tests.images.rstudio.stage import StageImage, stage_parent_ref

NAME = "rstudio-server-probe-amd64.deb"
CONTENT = b"not a Debian package: a probe of the download checks\n"


def _refused_build(build_args: dict[str, str], context: Path | None) -> str:
    """The whole log of a build of the final stage that must fail (it fails the test if the
    build succeeds)."""
    log = io.StringIO()
    with pytest.raises(AdhocBuildError) as failure:
        build_adhoc(
            context=REPO_ROOT / "rstudio",
            tag="kfnb-test/rstudio-verify:refused",
            build_args=build_args,
            contexts={"artifact-rstudio-server": context} if context is not None else None,
            stream=log,
        )
    return f"{log.getvalue()}\n{failure.value}"


@pytest.fixture(scope="module")
def local_file() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="kfnb-rstudio-artifact-"))
    (folder / NAME).write_bytes(CONTENT)
    return folder


@pytest.fixture(scope="module")
def base_ref(r_stage: StageImage, pytestconfig: pytest.Config, docker_client: Any) -> str:
    """The parent the R stage was built FROM (the R stage's layers are then cached)."""
    return stage_parent_ref(pytestconfig, docker_client)


def test_sha256_mismatch_is_refused(local_file: Path, base_ref: str) -> None:
    wrong = hashlib.sha256(b"something else").hexdigest()
    out = _refused_build(
        {"BASE_IMG": base_ref, "RSTUDIO_URL": f"file:///anywhere/{NAME}", "RSTUDIO_SHA256": wrong},
        local_file,
    )
    assert f"SHA-256 mismatch for file:///anywhere/{NAME}" in out, out[-3000:]
    assert hashlib.sha256(CONTENT).hexdigest() in out


def test_missing_sha256_is_refused_and_the_sum_is_shown(local_file: Path, base_ref: str) -> None:
    out = _refused_build(
        {"BASE_IMG": base_ref, "RSTUDIO_URL": f"file:///anywhere/{NAME}", "RSTUDIO_SHA256": ""},
        local_file,
    )
    assert "RSTUDIO_SHA256 is not set: refusing to install an unverified package" in out
    assert hashlib.sha256(CONTENT).hexdigest() in out, out[-3000:]


def test_file_url_without_the_build_context_is_explained(base_ref: str) -> None:
    right = hashlib.sha256(CONTENT).hexdigest()
    out = _refused_build(
        {"BASE_IMG": base_ref, "RSTUDIO_URL": f"file:///anywhere/{NAME}", "RSTUDIO_SHA256": right},
        None,
    )
    assert "--build-context artifact-rstudio-server=" in out, out[-3000:]


def test_unreachable_mirror_fails_with_its_url(base_ref: str) -> None:
    url = "http://127.0.0.1:9/mirror/rstudio-server.deb"
    out = _refused_build(
        {"BASE_IMG": base_ref, "RSTUDIO_URL": url, "RSTUDIO_SHA256": "0" * 64}, None
    )
    assert f"cannot download {url}" in out, out[-3000:]


# --------------------------------------------------------------------------- Version check

PINNED_VERSION = "2026.01.1+403"
FAKE_DEB = "rstudio-server-fake-amd64.deb"


def _fake_rstudio_deb(folder: Path, *, version: str) -> Path:
    """An empty Debian package `rstudio-server` of `version` (no files, no dependencies)."""
    root = folder / f"pkg-{version}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: rstudio-server\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: kfnb smoke tests <nobody@example.invalid>\n"
        "Description: a probe of install-rstudio-server.sh's version check\n",
        encoding="utf-8",
    )
    deb = folder / FAKE_DEB
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)],
        check=True,
        capture_output=True,
    )
    return deb


def _build_args(base_ref: str, deb: Path, *, version: str) -> dict[str, str]:
    return {
        "BASE_IMG": base_ref,
        "RSTUDIO_URL": f"file:///anywhere/{FAKE_DEB}",
        "RSTUDIO_SHA256": hashlib.sha256(deb.read_bytes()).hexdigest(),
        "RSTUDIO_VERSION": version,
    }


def test_a_package_of_another_version_is_refused(base_ref: str, tmp_path: Path) -> None:
    deb = _fake_rstudio_deb(tmp_path, version="2025.09.2+418")
    out = _refused_build(_build_args(base_ref, deb, version=PINNED_VERSION), tmp_path)
    assert (
        f"install-rstudio-server: version mismatch for file:///anywhere/{FAKE_DEB}: the package "
        f"is rstudio-server 2025.09.2+418, RSTUDIO_VERSION is {PINNED_VERSION}"
    ) in out, out[-3000:]
    sha = hashlib.sha256(deb.read_bytes()).hexdigest()
    assert f"SHA-256 {sha} verified" in out, "the sum matched: the version refused it"


def test_a_package_of_the_pinned_version_is_installed(base_ref: str, tmp_path: Path) -> None:
    deb = _fake_rstudio_deb(tmp_path, version=PINNED_VERSION)
    log = io.StringIO()
    tag = "kfnb-test/rstudio-verify:accepted"
    try:
        build_adhoc(
            context=REPO_ROOT / "rstudio",
            tag=tag,
            build_args=_build_args(base_ref, deb, version=PINNED_VERSION),
            contexts={"artifact-rstudio-server": tmp_path},
            stream=log,
        )
    finally:
        remove_image(tag)
    out = log.getvalue()
    assert f"package rstudio-server {PINNED_VERSION} (RSTUDIO_VERSION) verified" in out, out[-3000:]


def test_the_dockerfile_pins_version_url_and_sum_of_one_release() -> None:
    text = (REPO_ROOT / "rstudio" / "Dockerfile").read_text(encoding="utf-8")
    args = dict(
        line.removeprefix("ARG ").split("=", 1)
        for line in text.splitlines()
        if line.startswith("ARG RSTUDIO_")
    )
    assert args["RSTUDIO_VERSION"] == PINNED_VERSION
    assert args["RSTUDIO_URL"].endswith(
        f"rstudio-server-{PINNED_VERSION.replace('+', '-')}-amd64.deb"
    )
    assert len(args["RSTUDIO_SHA256"]) == 64, "a published SHA-256 is pinned (README.md)"
