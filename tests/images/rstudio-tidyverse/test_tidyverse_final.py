"""The tidyverse in the final rstudio-tidyverse image (needs Posit's download to exist).

Where RStudio Server cannot be fetched these skip with its URL; the same layer is tested
on rstudio's R stage by test_tidyverse_layer.py everywhere.
"""

from __future__ import annotations

import pytest

from tests.harness.containers import TrackedContainers
from tests.images.conftest import ImageUnderTest
from tests.images.rstudio.stage import RANDOM_UID, skip_unless_rstudio_fetchable


@pytest.fixture(autouse=True, scope="session")
def rstudio_download_for_tidyverse(image_under_test: ImageUnderTest) -> str:
    """Skip the module where RStudio Server cannot be fetched (before the image is needed)."""
    return skip_unless_rstudio_fetchable(image_under_test.image)


def test_tidyverse_loads_in_the_final_image(containers: TrackedContainers) -> None:
    out = containers.run_to_exit(
        [
            "Rscript",
            "-e",
            "suppressPackageStartupMessages(library(tidyverse)); "
            'cat("TIDYVERSE", as.character(packageVersion("tidyverse")), "\\n")',
        ],
        user=f"{RANDOM_UID}:0",
    ).stdout
    assert "TIDYVERSE 2." in out, out
