"""Moving users to a new image on the same home volume, on the R stage (rstudio/README.md,
"Moving to a new image"; docs/contract.md, "Home directory").

- From the previous R stage (`--upgrade-from REF`, e.g. a previous rstudio image, else
  `kfnb-test/rstudio-r-stage:previous`, which the `r_stage` fixture keeps when its build
  replaces the stage; skipped on a cold run): the old stage installs a source package into the
  user library on the home volume; the new stage loads it. When the two have different R minor
  versions the new R does not load the old library: the container log must name it instead.
- From a home an upstream conda image left (tests.harness.old_home.CONDA_HOME: conda R 4.3's
  user library, ~/R/x86_64-conda-linux-gnu-library/4.3): R starts with its own user library
  first, does not load the old package, and the log names the old library with the fix; the R
  part of the fix lists the old packages, and its rm removes the folder.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.harness.old_home import (
    CONDA_HOME,
    CONDA_R_LIBRARY,
    OLD_R_PACKAGE,
    fill_home,
    previous_image,
)
from tests.images.rstudio.stage import StageImage
from tests.images.rstudio.test_user_library import (
    BUILD_AND_INSTALL,
    HOME,
    LOAD,
    PACKAGE,
    USER_LIBRARY,
    _start,
)

CHECK = "55-r-user-library: "


def _r(c: TrackedContainer, code: str) -> str:
    return c.exec(["with-contenv", "Rscript", "-e", code]).stdout


def _r_minor(c: TrackedContainer) -> str:
    return _r(c, 'cat(R.version$major, sub("[.].*", "", R.version$minor), sep = ".")').strip()


def _check_lines(c: TrackedContainer) -> list[str]:
    return [line for line in c.logs().splitlines() if line.startswith(CHECK)]


@pytest.fixture
def previous_r_stage(r_stage: StageImage, pytestconfig: pytest.Config, docker_client: Any) -> str:
    """The R stage (or rstudio image) to move from: `--upgrade-from REF`, else the stage the
    `r_stage` fixture's build replaced; skips when the store has none."""
    return previous_image(pytestconfig, docker_client, ref_under_test=r_stage.ref)


def test_from_the_previous_r_stage(
    r_stage: StageImage, previous_r_stage: str, containers: TrackedContainers, home_volume: str
) -> None:
    print(f"upgrading from {previous_r_stage} to {r_stage.ref}")
    old = _start(containers, previous_r_stage, home_volume, {})
    old_library = old.exec(["with-contenv", "bash", "-c", BUILD_AND_INSTALL], timeout=300)
    installed = old_library.stdout.strip()
    old_minor = _r_minor(old)
    old.stop(timeout=10)
    old.raw.remove(v=False)

    new = _start(containers, r_stage.ref, home_volume, {})
    if _r_minor(new) == old_minor:
        assert installed == f"{USER_LIBRARY}/{PACKAGE}", installed
        out = _r(new, LOAD)
        assert out.split() == ["PROBE", "42", f"{USER_LIBRARY}/{PACKAGE}"], out
        assert _check_lines(new) == [], new.logs()
    else:  # another R: the old library is not loaded, and the log says so with the fix
        shown = "~/" + installed.removeprefix(f"{HOME}/").rsplit("/", 1)[0]
        assert any(shown in line and PACKAGE in line for line in _check_lines(new)), new.logs()


def test_from_a_conda_image_home(
    r_stage: StageImage, containers: TrackedContainers, home_volume: str
) -> None:
    fill_home(containers, image=r_stage.ref, volume=home_volume, files=CONDA_HOME)
    c = _start(containers, r_stage.ref, home_volume, {})
    paths = _r(c, "cat(.libPaths(), sep='\\n')").splitlines()
    assert paths[0] == USER_LIBRARY, paths
    assert f"{HOME}/{CONDA_R_LIBRARY}" not in paths, paths
    loaded = _r(c, f'cat(requireNamespace("{OLD_R_PACKAGE}", quietly = TRUE))')
    assert loaded == "FALSE", loaded

    lines = _check_lines(c)
    print("\n".join(lines))
    named = [line for line in lines if f"~/{CONDA_R_LIBRARY} " in line]
    assert len(named) == 1, lines
    assert OLD_R_PACKAGE in named[0], named
    # The fix: its R part lists the old packages (install.packages() of them needs CRAN), its
    # rm removes the folder; the next start has nothing to say.
    listed = re.search(r"install\.packages\((list\.files\(.*\))\) in R", named[0])
    assert listed is not None, named
    assert _r(c, f"cat({listed.group(1)})") == OLD_R_PACKAGE
    rm = re.search(r": (rm -rf \S+)$", named[0])
    assert rm is not None, named
    c.exec(["bash", "-lc", rm.group(1)])
    c.exec(f"test ! -e {HOME}/{CONDA_R_LIBRARY} && test -d {USER_LIBRARY}")
