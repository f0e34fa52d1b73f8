"""rstudio-tidyverse's layer (Debian's r-cran-tidyverse) built on the rstudio R stage.

The Dockerfile is rstudio-tidyverse/Dockerfile itself, with BASE_IMG pointing at the R
stage instead of the full rstudio image (which needs Posit's download), so these run with
`--image rstudio-tidyverse` everywhere (tests/images/rstudio/stage.py).
"""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path
from typing import Any

from tests.harness.containers import TrackedContainers
from tests.images.rstudio.stage import (
    ARTIFACTS,
    RANDOM_UID,
    StageImage,
    apt_leftovers,
    r_stage,
    tidyverse_layer,
)

__all__ = ["r_stage", "tidyverse_layer"]  # the fixtures (this folder has no conftest)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDTH_IN, HEIGHT_IN, DPI = 6, 4, 100

PIPELINE = f"""
suppressPackageStartupMessages(library(tidyverse))
cat("tidyverse", as.character(packageVersion("tidyverse")), "\\n")
by_cyl <- mtcars |>
  as_tibble(rownames = "model") |>
  filter(hp > 60) |>
  group_by(cyl) |>
  summarise(n = n(), mean_mpg = mean(mpg), .groups = "drop") |>
  arrange(cyl)
for (i in seq_len(nrow(by_cyl))) {{
  cat(sprintf("CYL %d n=%d mpg=%.2f\\n", by_cyl$cyl[i], by_cyl$n[i], by_cyl$mean_mpg[i]))
}}
# The same numbers with base R, to compare with dplyr's.
kept <- mtcars[mtcars$hp > 60, ]
for (cyl in sort(unique(kept$cyl))) {{
  mpg <- kept$mpg[kept$cyl == cyl]
  cat(sprintf("BASE %d n=%d mpg=%.2f\\n", cyl, length(mpg), mean(mpg)))
}}
plot <- ggplot(mtcars, aes(wt, mpg, colour = factor(cyl))) +
  geom_point(size = 2) +
  geom_smooth(method = "lm", formula = y ~ x) +
  labs(title = "mtcars: weight vs. mileage", colour = "cylinders")
ggsave("/out/tidyverse-plot.png", plot, width = {WIDTH_IN}, height = {HEIGHT_IN}, dpi = {DPI})
cat("SAVED\\n")
"""


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE, f"not a PNG: {data[:8]!r}"
    assert data[12:16] == b"IHDR", "PNG without IHDR first"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_tidyverse_layer_builds(
    tidyverse_layer: StageImage, r_stage: StageImage, docker_client: Any
) -> None:
    layer = docker_client.images.get(tidyverse_layer.ref).attrs
    stage = docker_client.images.get(r_stage.ref).attrs
    print(
        f"\ntidyverse layer: {tidyverse_layer.ref}, {tidyverse_layer.size_mb:.0f} MB "
        f"(+{tidyverse_layer.size_mb - r_stage.size_mb:.0f} MB on the R stage), "
        f"build {tidyverse_layer.seconds:.1f}s"
    )
    # Built on this session's R stage, with layers of its own, and back to the image's user.
    below = stage["RootFS"]["Layers"]
    assert layer["RootFS"]["Layers"][: len(below)] == below, "not built FROM the R stage"
    assert len(layer["RootFS"]["Layers"]) > len(below), "no layer of its own"
    assert layer["Config"]["User"] == "1000"
    assert layer["Config"]["Entrypoint"] == ["/init"]


def test_tidyverse_layer_leaves_no_apt_cache(
    tidyverse_layer: StageImage, containers: TrackedContainers
) -> None:
    assert apt_leftovers(containers, tidyverse_layer.ref) == ""


def test_dplyr_ggplot2_pipeline_writes_a_png(
    tidyverse_layer: StageImage, containers: TrackedContainers
) -> None:
    with tempfile.TemporaryDirectory(prefix="kfnb-tidyverse-") as tmp:
        out = Path(tmp)
        out.chmod(0o777)
        (out / "pipeline.R").write_text(PIPELINE, encoding="utf-8")
        printed = containers.run_to_exit(
            ["Rscript", "/out/pipeline.R"],
            image=tidyverse_layer.ref,
            user=f"{RANDOM_UID}:0",
            volumes={str(out): {"bind": "/out", "mode": "rw"}},
        ).stdout
        png = (out / "tidyverse-plot.png").read_bytes()
    assert "tidyverse 2." in printed, printed
    # dplyr's summary equals base R's; hp > 60 drops one car (the Honda Civic, 4 cylinders).
    dplyr = [line.removeprefix("CYL ") for line in printed.splitlines() if line.startswith("CYL ")]
    base_r = [
        line.removeprefix("BASE ") for line in printed.splitlines() if line.startswith("BASE ")
    ]
    assert len(dplyr) == 3, printed
    assert dplyr == base_r, printed
    assert dplyr[0].startswith("4 n=10 "), printed
    assert "SAVED" in printed
    width, height = _png_size(png)
    print(f"\nPNG: {width}x{height} px, {len(png)} bytes")
    assert (width, height) == (WIDTH_IN * DPI, HEIGHT_IN * DPI)
    assert len(png) > 10_000, f"PNG of {len(png)} bytes: hardly a plot"
    target = ARTIFACTS / "rstudio-tidyverse"
    target.mkdir(parents=True, exist_ok=True)
    (target / "tidyverse-plot.png").write_bytes(png)
