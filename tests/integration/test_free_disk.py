"""scripts/free-disk.sh (CI's `disk` phases) against the real image store: it removes the tags
that keep replaced images alive and keeps every image a `latest*` or `previous*` tag names; with
less than the wanted room free, it trims the BuildKit cache further (the tests give limits that
leave this machine's cache as it is: 100TB)."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kfimages import engine

PROJECT = Path(__file__).resolve().parents[2]


def _free_disk(
    store: str, *args: str, min_free: str, low: str = "100TB", min_free_all: str = "1K"
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ, "KFIMAGES_CI_REPOS": f"^{store}/", "KFIMAGES_CI_BUILD_CACHE": "100TB",
        "KFIMAGES_CI_MIN_FREE": min_free, "KFIMAGES_CI_BUILD_CACHE_LOW": low,
        "KFIMAGES_CI_MIN_FREE_ALL": min_free_all,
    }  # fmt: skip
    return subprocess.run(["bash", "scripts/free-disk.sh", *args], cwd=PROJECT, env=env,
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
def store() -> Iterator[str]:
    """A repository namespace of this test's own: the tests run on two pytest processes, and
    the script removes what its KFIMAGES_CI_REPOS matches."""
    namespace = f"kfnbfd-{uuid.uuid4().hex[:10]}"
    yield namespace
    engine.remove_images_under(namespace)


def test_old_tags_go_latest_and_previous_stay(store: str, tmp_path: Path) -> None:
    repo = f"{store}/img"
    for tag, content in (
        ("latest", "new"), ("latest-arm64", "new arm64"), ("previous", "old"),
        ("2026-12-03", "older"), ("sha-0123456789ab", "older still"),
    ):  # fmt: skip
        _image(f"{repo}:{tag}", content, tmp_path)
    engine.tag(f"{repo}:latest", f"{repo}:2026-12-04")  # a content tag of the kept image
    done = _free_disk(store, min_free="1K")
    assert done.returncode == 0, done.stderr
    assert "removing 2 old tags" in done.stderr, done.stderr
    assert "less than" not in done.stderr, done.stderr
    assert "BuildKit cache trimmed to 100TB: " in done.stderr, done.stderr
    assert "B free in the Docker store (wanted: 1K)" in done.stderr, done.stderr
    left = sorted(r.split(":", 1)[1] for r in engine.local_refs(f"reference={repo}"))
    assert left == ["2026-12-04", "latest", "latest-arm64", "previous"]


def test_too_little_room_trims_the_cache_further_and_never_resets_unasked(store: str) -> None:
    """The reset of the store (.ci/run's --reset-when-low) would empty this engine: only the
    option turns it on, whatever room is left."""
    pid = subprocess.run(["pidof", "dockerd"], capture_output=True, text=True, check=False)
    done = _free_disk(store, min_free="100TiB")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    low = next(i for i, line in enumerate(lines) if line.startswith("free-disk: less than 100TiB"))
    assert lines[low + 1].startswith("free-disk: BuildKit cache trimmed to 100TB: "), lines
    assert "resetting" not in done.stderr, done.stderr
    after = subprocess.run(["pidof", "dockerd"], capture_output=True, text=True, check=False)
    assert after.stdout == pid.stdout  # the same daemon (a reset restarts it)


def test_between_legs_only_the_low_room_trim_applies(store: str, tmp_path: Path) -> None:
    """Mid-run, the routine trim would evict what the next platform's builds reuse."""
    repo = f"{store}/img"
    _image(f"{repo}:2026-12-03", "older", tmp_path)
    roomy = _free_disk(store, "--between-legs", min_free="1K")
    assert roomy.returncode == 0, roomy.stderr
    assert "removing 1 old tags" in roomy.stderr, roomy.stderr
    assert "BuildKit cache trimmed" not in roomy.stderr, roomy.stderr
    tight = _free_disk(store, "--between-legs", min_free="100TB")
    assert tight.returncode == 0, tight.stderr
    assert tight.stderr.count("BuildKit cache trimmed to 100TB: ") == 1, tight.stderr


def test_a_run_that_rebuilds_every_image_wants_the_larger_room(store: str) -> None:
    """--every-image (.ci/run, a root image affected): KFIMAGES_CI_MIN_FREE_ALL where it is the
    larger; a caller's larger KFIMAGES_CI_MIN_FREE is kept."""
    done = _free_disk(store, "--every-image", min_free="1K", min_free_all="100TiB")
    assert done.returncode == 0, done.stderr
    assert "free-disk: less than 100TiB free" in done.stderr, done.stderr
    assert "(wanted: 100TiB)" in done.stderr, done.stderr
    kept = _free_disk(store, "--every-image", min_free="100TiB", min_free_all="1K")
    assert kept.returncode == 0, kept.stderr
    assert "(wanted: 100TiB)" in kept.stderr, kept.stderr
    plain = _free_disk(store, min_free="1K", min_free_all="100TiB")
    assert plain.returncode == 0, plain.stderr
    assert "less than" not in plain.stderr, plain.stderr
    assert "(wanted: 1K)" in plain.stderr, plain.stderr


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("KFIMAGES_CI_MIN_FREE", "thirty"),
        ("KFIMAGES_CI_BUILD_CACHE_LOW", "all"),
        ("KFIMAGES_CI_MIN_FREE_ALL", "fifty"),
    ],
)
def test_a_malformed_size_is_named_in_one_line_before_anything_goes(
    store: str, tmp_path: Path, setting: str, value: str
) -> None:
    repo = f"{store}/img"
    _image(f"{repo}:2026-12-03", "older", tmp_path)
    sizes = {"min_free": "30GB", "low": "0", **{_ARG[setting]: value}}
    done = _free_disk(store, "--every-image", **sizes)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"free-disk: {setting}={value} is not a size; give one such as 30GB"
    ]
    assert engine.local_refs(f"reference={repo}") == [f"{repo}:2026-12-03"]


_ARG = {
    "KFIMAGES_CI_MIN_FREE": "min_free",
    "KFIMAGES_CI_BUILD_CACHE_LOW": "low",
    "KFIMAGES_CI_MIN_FREE_ALL": "min_free_all",
}


USAGE = "usage: free-disk.sh [--between-legs | --reset-when-low [--every-image]]"


def test_an_unknown_argument_is_named(store: str) -> None:
    done = _free_disk(store, "--all", min_free="1K")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [f"free-disk: unknown argument --all; {USAGE}"]


def test_between_legs_takes_no_other_option(store: str) -> None:
    done = _free_disk(store, "--between-legs", "--every-image", min_free="1K")
    assert done.returncode == 2, done.stderr
    why = "--between-legs runs mid-run, without --reset-when-low or --every-image"
    assert done.stderr.splitlines() == [f"free-disk: {why}; {USAGE}"]
