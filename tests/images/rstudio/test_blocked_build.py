"""`invoke build rstudio-tidyverse` where RStudio Server cannot be fetched.

The build system checks rstudio's artifact URL (rstudio/image.yaml) before building:
rstudio is reported `blocked` with the URL, rstudio-tidyverse `skipped`, base is still
built (or reused), no rstudio image appears, and the exit code is EXIT_BLOCKED.
Where Posit's server is reachable, the URL is overridden with an unreachable loopback
one (KFIMAGES_BUILD_ARG_RSTUDIO_URL), so the test means the same everywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

from kfimages import engine
from kfimages.build.report import EXIT_BLOCKED
from kfimages.repo import artifacts
from kfimages.repo.graph import load_graph
from kfimages.settings import BUILD_ARG_PREFIX as BUILD_ARG_ENV_PREFIX
from tests.images.conftest import REPO_ROOT
from tests.images.rstudio.stage import rstudio_artifact

UNREACHABLE = "http://127.0.0.1:9/rstudio-server-unreachable.deb"


def _refs(client: Any, repository: str) -> set[str]:
    return {tag for image in client.images.list(name=repository) for tag in image.tags}


def _summary(output: str) -> dict[str, str]:
    """Rows of the build summary table, by image name."""
    lines = output.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("IMAGE "))
    rows = {}
    for line in lines[start + 1 :]:
        if not line.strip() or "exit code" in line:
            break
        rows[line.split()[0]] = line
    return rows


def test_invoke_build_reports_rstudio_blocked_and_tidyverse_skipped(docker_client: Any) -> None:
    """Under a registry prefix of its own (base is rebuilt there from BuildKit's cache): its
    build never waits for another build of `kfnb` (CI builds the next platform's images while
    this suite runs, kfimages/build/enginelock.py) and moves no `kfnb` ref."""
    artifact, url = rstudio_artifact(load_graph(REPO_ROOT).get("rstudio"))
    env = dict(os.environ)
    if artifacts.check_url(url) is None:  # Posit reachable: make the artifact unreachable
        url = UNREACHABLE
        env[f"{BUILD_ARG_ENV_PREFIX}{artifact.build_arg}"] = url
    prefix = f"kfnb-blocked-{uuid.uuid4().hex[:8]}"
    client = docker_client
    before = {repo: _refs(client, f"kfnb/{repo}") for repo in ("rstudio", "rstudio-tidyverse")}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "invoke", "build", "rstudio-tidyverse", "--registry", prefix,
             "--tag", "blocked-test", "--no-wait"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )  # fmt: skip
        output = done.stdout + done.stderr
        summary = _summary(done.stdout)
        print(f"\n{chr(10).join(summary.values())}\nexit code {done.returncode}")
        assert done.returncode == EXIT_BLOCKED, output[-3000:]
        assert set(summary) == {"base", "rstudio", "rstudio-tidyverse"}, output[-3000:]
        assert summary["base"].split()[2] in ("built", "reused"), summary["base"]
        assert summary["rstudio"].split()[2] == "blocked", summary["rstudio"]
        assert url in summary["rstudio"], f"the URL is not reported: {summary['rstudio']}"
        tidyverse = summary["rstudio-tidyverse"]
        assert tidyverse.split()[2] == "skipped", tidyverse
        assert "parent rstudio blocked" in tidyverse, tidyverse
        # Nothing half-built: no rstudio image of this run, and no new rstudio image at all.
        for repo in ("rstudio", "rstudio-tidyverse"):
            assert _refs(client, f"{prefix}/{repo}") == set()
            # none added (CI may remove old tags of kfnb/... meanwhile: scripts/smoke-builds.sh)
            assert _refs(client, f"kfnb/{repo}") <= before[repo], f"kfnb/{repo} got a new ref"
    finally:
        engine.remove_images_under(prefix)
