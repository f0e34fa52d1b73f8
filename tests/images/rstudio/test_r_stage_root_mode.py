"""rstudio's start-up scripts in root mode (base/README.md, "Root mode"), on the R stage (all of
rstudio but RStudio Server, which cannot be downloaded everywhere): 50-kubernetes-env and
55-r-user-library drop to $NB_USER, so the user library in the home and the Renviron.site the
user's R sessions read are the user's, as in user mode (55-r-user-library made a root-owned
library in the home, where install.packages() as the user then failed)."""

from __future__ import annotations

from tests.harness.containers import TrackedContainers
from tests.harness.images import DerivedImages
from tests.images.base.root_mode import root_mode_image
from tests.images.rstudio.stage import StageImage

HOME = "/home/jovyan"
USER_LIBRARY = f"{HOME}/R/x86_64-pc-linux-gnu-library/4.5"
RENVIRON = "/tmp/R-site/Renviron.site"


def test_start_up_scripts_run_as_the_user_in_root_mode(
    r_stage: StageImage,
    derived_image: DerivedImages,
    containers: TrackedContainers,
    home_volume: str,
) -> None:
    image = root_mode_image(derived_image, r_stage.ref)
    c = containers.run(
        image=image,
        volumes={home_volume: {"bind": HOME, "mode": "rw"}},
        environment={"KUBERNETES_SERVICE_HOST": "10.0.0.1"},
    )
    c.wait_services_up()  # after the start-up scripts
    owners = c.exec(f"stat -c '%U %n' {USER_LIBRARY} /tmp/R-site {RENVIRON}").stdout
    assert owners.splitlines() == [
        f"jovyan {USER_LIBRARY}",
        "jovyan /tmp/R-site",
        f"jovyan {RENVIRON}",
    ], owners
    assert "KUBERNETES_SERVICE_HOST='10.0.0.1'" in c.read_file(RENVIRON)
    not_users = c.exec(f"find {HOME} ! -user 1000 -printf '%u %p\\n'").stdout
    assert not_users == "", f"in the home, not the user's:\n{not_users}"
