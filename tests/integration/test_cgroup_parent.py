"""KFIMAGES_CGROUP_PARENT with the real engine: the cgroup a build's RUN steps run in.

CI builds its emulated legs beside the integration and smoke tests in a cgroup of low CPU
weight (scripts/background-cgroup.sh, scripts/smoke-builds.sh). The build system's part is
tested here: the setting reaches BuildKit, and it is not content (the same inputs without it
are reused, not rebuilt)."""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

from kfimages.build.report import EXIT_OK, Status
from tests.integration.conftest import Repo, docker

CGROUP_ROOT = Path("/sys/fs/cgroup")


def remove_cgroups(name: str) -> None:
    """The cgroup `name` and what the engine made under it, in every hierarchy (v1: one per
    controller; v2: one), deepest first; a cgroup still in use stays."""
    for top in [CGROUP_ROOT / name, *CGROUP_ROOT.glob(f"*/{name}")]:
        if not top.is_dir():
            continue
        folders = [p for p in top.rglob("*") if p.is_dir()]
        for folder in [*sorted(folders, key=lambda p: len(p.parts), reverse=True), top]:
            with contextlib.suppress(OSError):
                folder.rmdir()


def test_the_run_steps_run_in_the_cgroup_given_and_it_is_not_content(
    repo: Repo, os_image: str
) -> None:
    driver = docker("info", "--format", "{{.CgroupDriver}}").stdout.strip()
    name = f"kfit-cg-{uuid.uuid4().hex[:10]}"
    parent = f"{name}.slice" if driver == "systemd" else f"/{name}"
    # The name in the step: no other build's cache can answer it.
    repo.image("cg", os_image, f"RUN echo {name} && cat /proc/self/cgroup > /cgroup.txt")
    repo.commit("cg")
    try:
        placed = repo.build("cg", environ={"KFIMAGES_CGROUP_PARENT": parent})
        assert placed.exit_code == EXIT_OK, placed.results
        ref = repo.ref("cg")
        cgroups = docker("run", "--rm", "--network", "none", ref, "cat", "/cgroup.txt").stdout
        assert name in cgroups, f"the RUN step ran outside {parent}:\n{cgroups}"
        again = repo.build("cg", tags=("t2",))
        assert [(r.name, r.status) for r in again.results] == [("cg", Status.REUSED)]
    finally:
        remove_cgroups(name)
