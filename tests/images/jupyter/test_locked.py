"""The jupyter image holds exactly its lock, jupyter/requirements.lock.txt (`invoke lock`).

jupyter: every pin of the lock is installed at its version, and nothing else but pip (whose
upgrade the Dockerfile hash-checks through PIP_WHEEL_SHA256). Images FROM jupyter keep
jupyter's pins, except where a lock of their own folder re-pins a package on purpose
(jupyter-pytorch-full's requirements-full.in names requests, which kfp pins exactly).
And the images' install line (`pip install --require-hashes --no-deps -r <lock>`) refuses a
file whose hash is not the lock's: a derived image built with a tampered hash fails.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from kfimages.author.lock import lock_path, normalize, read_pins
from kfimages.build.buildx import AdhocBuildError
from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.harness.images import DerivedImages
from tests.images.conftest import REPO_ROOT, ImageUnderTest
from tests.images.jupyter.test_jupyter import _wheel

LOCK = REPO_ROOT / "jupyter" / "requirements.lock.txt"


def installed(container: TrackedContainer) -> dict[str, str]:
    """Normalized name -> version of every distribution in the image's venv."""
    out = container.exec("pip list --format=json --disable-pip-version-check").stdout
    return {normalize(d["name"]): d["version"] for d in json.loads(out)}


def test_installed_set_is_the_lock(
    containers: TrackedContainers, image_under_test: ImageUnderTest
) -> None:
    expected = read_pins(LOCK)
    have = installed(containers.run(["sleep", "infinity"]))
    repinned: dict[str, str] = {}
    if image_under_test.image.folder != "jupyter":
        for path in sorted((REPO_ROOT / image_under_test.image.folder).glob("*.lock.txt")):
            if lock_path(path.name) == path.name:  # linux/amd64's, not another platform's
                repinned.update(read_pins(path))
    wrong = {
        name: {"lock": version, "installed": have.get(name)}
        for name, version in expected.items()
        if have.get(name) != repinned.get(name, version)
    }
    print(f"{image_under_test.name}: {len(expected)} pins of {LOCK.name}, {len(have)} installed")
    assert not wrong, wrong
    if image_under_test.image.folder == "jupyter":
        assert set(have) - set(expected) == {"pip"}, sorted(set(have) - set(expected))


HASHED_INSTALL = """\
ARG BASE_IMG
FROM $BASE_IMG
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY --chown=1000:0 pkg/ /tmp/pkg/
RUN pip install --no-cache-dir --no-index --find-links /tmp/pkg \\
      --require-hashes --no-deps -r /tmp/pkg/lock.txt \\
 && python -c 'import kfnb_lock_pkg; assert kfnb_lock_pkg.ANSWER == 42' \\
 && rm -rf /tmp/pkg
"""


def test_a_tampered_hash_fails_the_build(
    derived_image: DerivedImages, image_ref_under_test: str
) -> None:
    """The images' install line with a lock of one local wheel (no network): the right
    sha256 builds, any other fails the build with pip's hash mismatch."""
    wheel = _wheel("kfnb_lock_pkg", "1.0")
    files: dict[str, str | bytes] = {"pkg/kfnb_lock_pkg-1.0-py3-none-any.whl": wheel}
    good = hashlib.sha256(wheel).hexdigest()
    bad = hashlib.sha256(wheel + b"tampered").hexdigest()

    def lock(digest: str) -> dict[str, str | bytes]:
        return {**files, "pkg/lock.txt": f"kfnb-lock-pkg==1.0 \\\n    --hash=sha256:{digest}\n"}

    derived_image(image_ref_under_test, lock(good), dockerfile=HASHED_INSTALL)
    with pytest.raises(AdhocBuildError) as failed:
        derived_image(image_ref_under_test, lock(bad), dockerfile=HASHED_INSTALL)
    message = str(failed.value)
    print(message[-1500:])
    assert "DO NOT MATCH THE HASHES" in message, message[-1500:]
    assert f"Expected sha256 {bad}" in message, message[-1500:]
    assert good in message, message[-1500:]
