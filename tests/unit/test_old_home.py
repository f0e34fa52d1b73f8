"""tests.harness.old_home: which ref the upgrade tests start from, and the tar that fills a home."""

from __future__ import annotations

import io
import tarfile

import pytest

from tests.harness.old_home import CONDA_HOME, HomeFile, previous_ref, repository_of, tar_of


@pytest.mark.parametrize(
    ("ref", "repository"),
    [
        ("kfnb/jupyter:latest", "kfnb/jupyter"),
        ("localhost:5000/team/jupyter:sha-0123", "localhost:5000/team/jupyter"),
        ("localhost:5000/team/jupyter", "localhost:5000/team/jupyter"),
        ("kfnb/jupyter:latest-arm64", "kfnb/jupyter"),
    ],
)
def test_repository_of(ref: str, repository: str) -> None:
    assert repository_of(ref) == repository


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("", "kfnb-x/jupyter:previous"),
        ("sha-0123456789ab", "kfnb-x/jupyter:sha-0123456789ab"),
        ("kfnb/jupyter:v1", "kfnb/jupyter:v1"),
        ("registry.example:5000/jupyter", "registry.example:5000/jupyter"),
    ],
)
def test_previous_ref(given: str, expected: str) -> None:
    assert previous_ref(given, ref_under_test="kfnb-x/jupyter:latest") == expected


def test_tar_of_owns_files_and_their_folders() -> None:
    files = {"a/b/run": HomeFile("#!/bin/sh\n", 0o755), "a/c.json": HomeFile(b"{}")}
    with tarfile.open(fileobj=io.BytesIO(tar_of(files, uid=1000, gid=100))) as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert sorted(members) == ["a", "a/b", "a/b/run", "a/c.json"]
        assert {(m.uid, m.gid) for m in members.values()} == {(1000, 100)}
        assert members["a/b"].isdir()
        assert members["a/b/run"].mode == 0o755
        assert members["a/c.json"].mode == 0o644
        extracted = archive.extractfile("a/b/run")
        assert extracted is not None
        assert extracted.read() == b"#!/bin/sh\n"


def test_conda_home_has_what_the_upgrade_tests_look_for() -> None:
    paths = set(CONDA_HOME)
    assert ".local/share/jupyter/kernels/python3/kernel.json" in paths
    assert ".local/lib/python3.11/site-packages/jupyter_core/__init__.py" in paths
    assert ".local/lib/python3.13/site-packages/jupyter_core/__init__.py" in paths
    assert CONDA_HOME[".local/bin/pip"].mode == 0o755
    assert not any(p.startswith("/") or ".." in p.split("/") for p in paths)
