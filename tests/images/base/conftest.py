"""A small image derived from the image under test with the smoke tests' cont-init scripts
and service (the files of tests/images/base/derived/, linted like the images' own s6
scripts): how users extend the images, so the most realistic way to test the init."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.images import DerivedImages, files_of

HERE = Path(__file__).resolve().parent
SMOKE_FILES = HERE / "derived"
CRASHING_FILES = HERE / "crashing"
STUBBORN_FILES = HERE / "stubborn"
LATE_FILES = HERE / "late"
REMOVED_FILES = HERE / "removed"
SMOKE_DIR = "/tmp/kfnb-smoke"
SERVICE = "kfnb-smoke"
CRASHING_SERVICE = "kfnb-crashing"
STUBBORN_SERVICE = "kfnb-stubborn"
LATE_SERVICE = "kfnb-late"
FAILING_SCRIPT = "52-kfnb-smoke-maybe-fail"


@pytest.fixture(scope="session")
def smoke_image(derived_image: DerivedImages, image_ref_under_test: str) -> str:
    """Ref of an image FROM the image under test with the smoke cont-init scripts and service."""
    return derived_image(image_ref_under_test, files_of(SMOKE_FILES))


@pytest.fixture(scope="session")
def crashing_image(derived_image: DerivedImages, image_ref_under_test: str) -> str:
    """Ref of an image FROM the image under test with a service whose program is missing."""
    return derived_image(image_ref_under_test, files_of(CRASHING_FILES))


@pytest.fixture(scope="session")
def stubborn_image(derived_image: DerivedImages, image_ref_under_test: str) -> str:
    """Ref of an image FROM the image under test with a service that ignores SIGTERM."""
    return derived_image(image_ref_under_test, files_of(STUBBORN_FILES))


@pytest.fixture(scope="session")
def late_service_image(derived_image: DerivedImages, smoke_image: str) -> str:
    """Ref of the smoke image plus a cont-init script that adds a service folder at start-up."""
    return derived_image(smoke_image, files_of(LATE_FILES))


@pytest.fixture(scope="session")
def removed_service_image(derived_image: DerivedImages, smoke_image: str) -> str:
    """Ref of the smoke image plus a cont-init script that removes its service folder."""
    return derived_image(smoke_image, files_of(REMOVED_FILES))
