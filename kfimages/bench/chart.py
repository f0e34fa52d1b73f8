"""bench/results.png: bar charts of build time, size, start-up and idle memory per image
(matplotlib, which only `nox -s bench` installs: imported when the chart is drawn)."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kfimages.bench.results import MB, MIB, Results, Timing, jobs_speedup
from kfimages.errors import UserError


def check_matplotlib() -> None:
    """Fail before measuring when the chart cannot be drawn at the end."""
    if importlib.util.find_spec("matplotlib") is None:
        raise UserError(
            "matplotlib is not installed (it draws results.png): run `.venv/bin/nox -s bench` "
            "(installs it), or `pip install matplotlib`, or pass --no-chart"
        )


def write_chart(results: Results, *, path: Path) -> None:
    """Bar charts of build time, size, start-up and idle memory into `path` (PNG)."""
    import matplotlib  # noqa: PLC0415 (only the bench needs matplotlib)

    matplotlib.use("Agg")
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5), constrained_layout=True)
    starts = [r for r in results.runs if r.init or r.bare]
    _bars(
        axes[0][0],
        [(b.name, b.seconds) for b in results.cold if b.seconds is not None],
        title="cold build (--no-cache), the image's own step",
        unit="s",
    )
    _bars(
        axes[0][1],
        [(r.name, r.size / MB) for r in results.runs if r.size is not None],
        title="image size (uncompressed)",
        unit="MB",
    )
    _grouped(
        axes[1][0],
        [(r.name, _median(r.init), _median(r.bare)) for r in starts],
        title=f"docker run to the first 200 (median of {results.startup_runs})",
        unit="s",
        fmt="{:.2f}",
    )
    _grouped(
        axes[1][1],
        [(r.name, _memory_mib(r.init), _memory_mib(r.bare)) for r in starts],
        title=f"idle memory {results.idle_seconds:.0f} s after the first 200",
        unit="MiB",
    )
    window, _ = jobs_speedup(results.jobs)
    jobs = f"; --jobs 2 speed-up {window:.2f}x" if window is not None else ""
    m = results.machine
    fig.suptitle(f"kfnb images, {m.date}, {m.cpus} x {m.cpu_model}{jobs}", fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _median(timing: Timing | None) -> float | None:
    return timing.median if timing else None


def _memory_mib(timing: Timing | None) -> float | None:
    return timing.memory / MIB if timing and timing.memory is not None else None


def _no_data(ax: Any, title: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.text(0.5, 0.5, "no data (not measured or n/a)", transform=ax.transAxes, ha="center")
    ax.set_axis_off()


def _finish(ax: Any, *, title: str, unit: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(unit)
    ax.margins(x=0.15)
    ax.invert_yaxis()


def _bars(
    ax: Any, data: Sequence[tuple[str, float]], *, title: str, unit: str, fmt: str = "{:.0f}"
) -> None:
    """Horizontal bars with their values (ax: a matplotlib Axes)."""
    if not data:
        _no_data(ax, title)
        return
    values = [value for _, value in data]
    ax.barh([name for name, _ in data], values, color="#4c72b0")
    for index, value in enumerate(values):
        ax.text(value, index, " " + fmt.format(value), va="center", fontsize=8)
    _finish(ax, title=title, unit=unit)


def _grouped(
    ax: Any,
    data: Sequence[tuple[str, float | None, float | None]],
    *,
    title: str,
    unit: str,
    fmt: str = "{:.0f}",
) -> None:
    """Two bars per image, /init and bare server (a missing value is labelled n/a)."""
    if not data:
        _no_data(ax, title)
        return
    positions = list(range(len(data)))
    height = 0.4
    for offset, label, column in ((-height / 2, "/init", 1), (height / 2, "bare server", 2)):
        values = [row[column] for row in data]
        spots = [p + offset for p in positions]
        ax.barh(spots, [v or 0 for v in values], height=height, label=label)
        for spot, value in zip(spots, values, strict=True):
            text = " n/a" if value is None else " " + fmt.format(value)
            ax.text(value or 0, spot, text, va="center", fontsize=8)
    ax.set_yticks(positions, [row[0] for row in data])
    _finish(ax, title=title, unit=unit)
    ax.legend(fontsize=8, loc="best")
