"""scripts/free-disk.sh (CI's `disk` phase) against the real image store: it removes the tags
that keep replaced images alive and keeps every image a `latest*` or `previous*` tag names."""

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
    env = {**os.environ, "KFIMAGES_CI_REPOS": "^kfnbfd-test/", "KFIMAGES_CI_BUILD_CACHE": "100TB"}
    done = subprocess.run(["bash", "scripts/free-disk.sh"], cwd=PROJECT, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "removing 2 old tags" in done.stderr, done.stderr
    left = sorted(r.split(":", 1)[1] for r in engine.local_refs(f"reference={REPO}"))
    assert left == ["2026-12-04", "latest", "latest-arm64", "previous"]
