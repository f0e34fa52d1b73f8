"""scripts/free-disk.sh (CI's `disk` phases) against the real image store: it removes the tags
that keep replaced images alive and keeps every image a `latest*` or `previous*` tag names; with
less than the wanted room free, it trims the BuildKit cache further (the tests give limits that
leave this machine's cache as it is: 100TB)."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kfimages import engine

PROJECT = Path(__file__).resolve().parents[2]
REPO = "kfnbfd-test/img"


def _free_disk(*, min_free: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ, "KFIMAGES_CI_REPOS": "^kfnbfd-test/", "KFIMAGES_CI_BUILD_CACHE": "100TB",
        "KFIMAGES_CI_MIN_FREE": min_free, "KFIMAGES_CI_BUILD_CACHE_LOW": "100TB",
    }  # fmt: skip
    return subprocess.run(["bash", "scripts/free-disk.sh"], cwd=PROJECT, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip


def _image(ref: str, content: str, tmp: Path) -> None:
    """A one-file image of its own (docker import of a tar): distinct content, distinct ID."""
    path = tmp / "layer.tar"
    with tarfile.open(path, mode="w") as tar:
        body = content.encode()
        info = tarfile.TarInfo("marker")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    with path.open("rb") as data:
        engine.import_image(ref=ref, changes=(), message="free-disk test", stdin=data, timeout=120)


@pytest.fixture
def store() -> Iterator[None]:
    engine.remove_images_under("kfnbfd-test")
    yield
    engine.remove_images_under("kfnbfd-test")


def test_old_tags_go_latest_and_previous_stay(store: None, tmp_path: Path) -> None:
    for tag, content in (
        ("latest", "new"), ("latest-arm64", "new arm64"), ("previous", "old"),
        ("2026-12-03", "older"), ("sha-0123456789ab", "older still"),
    ):  # fmt: skip
        _image(f"{REPO}:{tag}", content, tmp_path)
    engine.tag(f"{REPO}:latest", f"{REPO}:2026-12-04")  # a content tag of the kept image
    done = _free_disk(min_free="1K")
    assert done.returncode == 0, done.stderr
    assert "removing 2 old tags" in done.stderr, done.stderr
    assert "less than" not in done.stderr, done.stderr
    assert "B free in the Docker store (wanted: 1K)" in done.stderr, done.stderr
    left = sorted(r.split(":", 1)[1] for r in engine.local_refs(f"reference={REPO}"))
    assert left == ["2026-12-04", "latest", "latest-arm64", "previous"]


def test_too_little_room_trims_the_cache_further(store: None) -> None:
    done = _free_disk(min_free="100TB")
    assert done.returncode == 0, done.stderr
    assert "less than 100TB free: BuildKit cache trimmed to 100TB" in done.stderr, done.stderr


def test_a_malformed_room_is_named_in_one_line(store: None) -> None:
    done = _free_disk(min_free="thirty")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "free-disk: KFIMAGES_CI_MIN_FREE=thirty is not a size; give one such as 30GB"
    )
