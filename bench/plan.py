"""Benchmark of the planning half: how long the graph and the rebuild selection take.

Run from the repository root (no Docker needed)::

    .venv/bin/python bench/plan.py [--runs 20] [--base REF]

Prints a table with the median, min and max wall time over `--runs` runs of:
loading the graph (discovery, parent parsing, image.yaml, validation); listing
the changed paths with git against `--base` (default HEAD: only the uncommitted
work); computing the affected set against `--base`; and the worst case, the
affected set against the repository's first commit (every file changed).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kfimages import git  # noqa: E402
from kfimages.errors import UserError  # noqa: E402
from kfimages.repo.changes import affected  # noqa: E402
from kfimages.repo.graph import load_graph  # noqa: E402


def _timed(fn: Callable[[], int], runs: int) -> tuple[list[float], int]:
    times: list[float] = []
    result = 0
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return times, result


def _first_commit(root: Path) -> str:
    out = subprocess.run(
        ["git", "-C", str(root), "rev-list", "--max-parents=0", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per step (median is shown)")
    parser.add_argument("--base", default="HEAD", help="base ref of the selection (default HEAD)")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository (default: this one)")
    args = parser.parse_args()
    runs = max(1, args.runs)
    root: Path = args.root.resolve()
    try:
        graph = load_graph(root)
        first = _first_commit(root)
        steps: list[tuple[str, str, Callable[[], int]]] = [
            ("load graph", "images", lambda: len(load_graph(root).images)),
            (
                f"changed paths vs {args.base}",
                "paths",
                lambda: len(
                    git.changed_paths(
                        root=root, commit=git.merge_base(root=root, base_ref=args.base)
                    )
                ),
            ),
            (
                f"load graph + affected vs {args.base}",
                "affected",
                lambda: len(affected(load_graph(root), base_ref=args.base)),
            ),
            (
                f"affected vs first commit {first[:12]}",
                "affected",
                lambda: len(affected(graph, base_ref=first)),
            ),
        ]
        rows = []
        for label, unit, fn in steps:
            times, result = _timed(fn, runs)
            rows.append(
                (
                    label,
                    f"{statistics.median(times):.1f}",
                    f"{min(times):.1f}",
                    f"{max(times):.1f}",
                    f"{result} {unit}",
                )
            )
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    headers = ("step", "median ms", "min ms", "max ms", "result")
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    print(f"plan benchmark of {root} ({runs} runs per step)")
    for n, row in enumerate([headers, *rows]):
        cells = [
            row[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)),
        ]
        print("  ".join(cells))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
