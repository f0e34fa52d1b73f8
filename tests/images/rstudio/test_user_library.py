"""R packages a user installs go to a user library on the home volume and survive a restart.

On the R stage (everything of the rstudio image but RStudio Server itself): a container on
a home volume builds a small source package (`R CMD build`; CRAN is not needed) and
installs it with `install.packages(<tarball>, repos = NULL, type = "source")`; a new
container on the same volume loads it with `library()`. As jovyan and as a random uid with
gid 0 (no capabilities, read-only root).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.images.rstudio.stage import RANDOM_UID, StageImage

HOME = "/home/jovyan"
# R's own default for R_LIBS_USER ('%U'): ~/R/<platform>-library/<R major.minor>.
USER_LIBRARY = f"{HOME}/R/x86_64-pc-linux-gnu-library/4.5"
PACKAGE = "kfnbpersist"

ENV_AT_START = "/run/s6/container_environment.start"
"""Written by /init after the cont-init scripts (its PATH file: the container has a PATH)."""
RUNS: dict[str, dict[str, Any]] = {
    "jovyan": {},
    "random-uid-read-only": {
        "user": f"{RANDOM_UID}:0",
        "cap_drop": ["ALL"],
        "read_only": True,
        "tmpfs": {"/tmp": "", "/run": ""},
    },
}

BUILD_AND_INSTALL = f"""
set -euo pipefail
src=$(mktemp -d)/{PACKAGE}
mkdir -p "$src/R"
printf '%s\\n' 'Package: {PACKAGE}' 'Version: 0.1' 'Title: Persistence Probe' \\
  'Description: Built by the smoke tests.' 'License: MIT' \\
  'Maintainer: Probe <probe@example.org>' > "$src/DESCRIPTION"
echo 'probe <- function() 42' > "$src/R/probe.R"
echo 'export(probe)' > "$src/NAMESPACE"
cd "$(dirname "$src")"
R CMD build --no-build-vignettes --no-manual {PACKAGE} >&2
Rscript -e 'install.packages("{PACKAGE}_0.1.tar.gz", repos = NULL, type = "source")' >&2
Rscript -e 'cat(find.package("{PACKAGE}"), "\\n")'
"""

LOAD = f'library({PACKAGE}); cat("PROBE", probe(), find.package("{PACKAGE}"), "\\n")'


def _start(
    containers: TrackedContainers, image: str, volume: str, run: dict[str, Any]
) -> TrackedContainer:
    """The stage's /init (no services: it waits until stopped) on the home volume, once the
    start-up scripts have run."""
    c = containers.run(image=image, volumes={volume: {"bind": HOME, "mode": "rw"}}, **run)
    # /init writes the copy of the environment that shells compare with once every cont-init
    # script is done (base/README.md, "The init", step 1): a documented moment, where a running
    # s6-svscan only says when the init happens to start it.
    c.wait_until(
        lambda: c.exec(["test", "-e", f"{ENV_AT_START}/PATH"], check=False).code == 0,
        timeout=60,
        message="the start-up scripts done",
    )
    return c


@pytest.mark.parametrize("run", RUNS.values(), ids=RUNS.keys())
def test_install_packages_goes_to_the_home_and_survives_restart(
    r_stage: StageImage, containers: TrackedContainers, home_volume: str, run: dict[str, Any]
) -> None:
    first = _start(containers, r_stage.ref, home_volume, run)
    # The library exists from the start (R only puts an existing R_LIBS_USER on .libPaths()).
    paths = first.exec(["with-contenv", "Rscript", "-e", "cat(.libPaths(), sep='\\n')"]).stdout
    assert paths.splitlines()[0] == USER_LIBRARY, paths
    installed = first.exec(["with-contenv", "bash", "-c", BUILD_AND_INSTALL], timeout=300)
    assert installed.stdout.strip() == f"{USER_LIBRARY}/{PACKAGE}", installed.output[-2000:]
    first.stop(timeout=10)
    first.raw.remove(v=False)

    second = _start(containers, r_stage.ref, home_volume, run)
    out = second.exec(["with-contenv", "Rscript", "-e", LOAD]).stdout
    assert out.split() == ["PROBE", "42", f"{USER_LIBRARY}/{PACKAGE}"], out
