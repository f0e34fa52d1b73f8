"""`.ci/run` disables only the services whose package it installed (.ci/units.sh): a host
that had docker-registry or nginx before keeps its service."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


def _bash(script: str) -> str:
    done = subprocess.run(["bash", "-c", f"set -euo pipefail; source .ci/units.sh; {script}"],
                          cwd=PROJECT, capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="asks the host's dpkg")
def test_not_installed_names_only_what_dpkg_does_not_have() -> None:
    """bash and dpkg are installed on every Debian host; the third package exists nowhere."""
    out = _bash("not_installed bash kfimages-no-such-package dpkg")
    assert out == "kfimages-no-such-package\n"
    assert _bash("not_installed bash dpkg") == ""
    assert _bash("not_installed") == ""


def test_ci_run_records_what_it_installs_and_disables_only_that() -> None:
    lines = (PROJECT / ".ci" / "run").read_text(encoding="utf-8").splitlines()

    def where(text: str) -> int:
        found = [i for i, line in enumerate(lines) if text in line]
        assert len(found) == 1, (text, found)
        return found[0]

    recorded = where("mapfile -t installed_here < <(not_installed docker-registry nginx)")
    installed = where("apt-get install -y -qq --no-install-recommends docker-registry")
    disabled = where('disable_units "${installed_here[@]}"')
    assert recorded < installed < disabled, "recorded before the install, disabled after"
    body = "\n".join(lines)
    for word in ("systemctl", "update-rc.d"):
        assert word not in body, f".ci/run calls {word} itself, for every service"
