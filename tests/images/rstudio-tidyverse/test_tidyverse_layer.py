"""rstudio-tidyverse's layer on rstudio's R stage, with `--image rstudio-tidyverse`.

The tests are those of tests/integration/rstudio_stage/test_tidyverse_layer.py (the real
rstudio-tidyverse/Dockerfile, built on the R stage), so they run without Posit's download.
"""

from tests.integration.rstudio_stage.stage import r_stage, runner, tidyverse_layer
from tests.integration.rstudio_stage.test_tidyverse_layer import (
    test_dplyr_ggplot2_pipeline_writes_a_png,
    test_tidyverse_layer_builds,
    test_tidyverse_layer_leaves_no_apt_cache,
)

__all__ = [
    "r_stage",
    "runner",
    "test_dplyr_ggplot2_pipeline_writes_a_png",
    "test_tidyverse_layer_builds",
    "test_tidyverse_layer_leaves_no_apt_cache",
    "tidyverse_layer",
]
