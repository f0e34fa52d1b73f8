"""The last stage of rstudio/Dockerfile refuses a package it cannot verify.

RStudio Server itself cannot be downloaded here, but the checks before its installation
can be exercised with the real Dockerfile: a local file given the way `invoke build`
gives one (a file:// RSTUDIO_URL plus the named build context artifact-rstudio-server)
is refused when its SHA-256 differs from RSTUDIO_SHA256, or when no sum is pinned; an
unreachable mirror fails the build with the URL. The file used is not a package at all:
the build must stop before it would be installed.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from pathlib import Path

import pytest

from kfimages.buildx import AdhocBuildError, build_adhoc
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
def base_ref(r_stage: StageImage, pytestconfig: pytest.Config) -> str:
    """The parent the R stage was built FROM (the R stage's layers are then cached)."""
    return stage_parent_ref(pytestconfig)


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
