"""A smoke run's one-line errors reach the terminal with pytest-xdist too: checked in the main
process before any worker starts (tests/images/conftest.py, pytest_sessionstart), since a
worker that exits 2 is taken for an interrupted one and its line is lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kfimages.verify.suites import workers_args

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("workers", [1, 2])
def test_an_unreachable_daemon_is_one_line_and_exit_2(workers: int, tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/images", "--image", "base", "-q",
         "-p", "no:cacheprovider", *workers_args(workers)],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 2, out[-2000:]
    assert "Docker daemon not reachable" in out, out[-2000:]
    assert "run: bash scripts/install-docker.sh" in out, out[-2000:]
    assert "crashed" not in out, out[-2000:]
    assert "keyboard" not in out.lower(), out[-2000:]
