"""Fixtures of the rstudio stage tests (defined in stage.py, shared with tests/images)."""

from tests.integration.rstudio_stage.stage import r_stage, runner, tidyverse_layer

__all__ = ["r_stage", "runner", "tidyverse_layer"]
