"""The R stage fixtures (tests/images/rstudio/stage.py) for rstudio's tests."""

from tests.images.rstudio.stage import r_stage, tidyverse_layer

__all__ = ["r_stage", "tidyverse_layer"]
