"""rstudio's R stage (R, RStudio configuration, start-up scripts), with `--image rstudio`.

The tests are those of tests/integration/rstudio_stage/test_r_stage.py: they build the
stage FROM the base image of this run (--registry/--tag) and need no Posit download,
so `pytest tests/images --image rstudio` tests everything but rserver everywhere.
"""

from tests.integration.rstudio_stage.stage import r_stage, runner
from tests.integration.rstudio_stage.test_r_stage import (
    test_install_packages_goes_to_the_image_site_library,
    test_kubernetes_env_reaches_r_through_renviron_site,
    test_r_stage_builds,
    test_r_stage_leaves_no_apt_cache,
    test_r_starts,
    test_renviron_site_without_kubernetes,
    test_rstudio_configuration,
    test_rstudio_files_belong_to_jovyan_and_group_0,
)

__all__ = [
    "r_stage",
    "runner",
    "test_install_packages_goes_to_the_image_site_library",
    "test_kubernetes_env_reaches_r_through_renviron_site",
    "test_r_stage_builds",
    "test_r_stage_leaves_no_apt_cache",
    "test_r_starts",
    "test_renviron_site_without_kubernetes",
    "test_rstudio_configuration",
    "test_rstudio_files_belong_to_jovyan_and_group_0",
]
