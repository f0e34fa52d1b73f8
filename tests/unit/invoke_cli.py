"""Runs the project's tasks.py on a throwaway repository of tests/unit/conftest.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.unit.conftest import Repo

PROJECT = Path(__file__).resolve().parents[2]


def run_invoke(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    """`invoke ARGS` with a copy of the project's tasks.py in the repository (its ROOT), and
    kfimages from the project: invoke puts the folder of tasks.py first on sys.path, so the
    repository's stub `kfimages/` (of the `chain` fixture) is removed first."""
    shutil.rmtree(repo.root / "kfimages", ignore_errors=True)
    (repo.root / "tasks.py").write_text(
        (PROJECT / "tasks.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=repo.root,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        check=False,
    )
