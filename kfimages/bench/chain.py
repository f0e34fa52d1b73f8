"""A throwaway chain in a temporary git repository, built for real: one root image FROM the
local OS image and N independent children that each hash some MB of /dev/urandom (CPU
work, no download). Its first build, its no-op rebuild, and `--jobs 1` versus `--jobs 2`
take a minute or two, so the build system's own overhead is seen apart from the images."""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

from kfimages import engine, git
from kfimages.bench.builds import BENCH_REGISTRY, Context, compare_jobs, timed_build
from kfimages.bench.results import Rebuild, statuses
from kfimages.build.bootstrap import DEFAULT_OS_IMAGE, ensure_os_image
from kfimages.repo.graph import load_graph

ROOT_IMAGE = "root"


def write_chain(repo: Path, *, children: int, work_mb: int, os_image: str) -> list[str]:
    """`root` FROM `os_image`, and `children` images FROM root, committed in a new git
    repository at `repo`; the children's names."""
    git.output(repo, "init", "-q")
    (repo / ROOT_IMAGE).mkdir()
    (repo / ROOT_IMAGE / "Dockerfile").write_text(
        f"ARG BASE_IMG={os_image}\nFROM $BASE_IMG\nRUN echo root > /root.txt\n", encoding="utf-8"
    )
    names = [f"child{index}" for index in range(children)]
    for name in names:
        (repo / name).mkdir()
        (repo / name / "Dockerfile").write_text(
            f"ARG BASE_IMG={ROOT_IMAGE}\nFROM $BASE_IMG\n"
            f"RUN head -c {work_mb}M /dev/urandom | sha256sum > /{name}.sum\n",
            encoding="utf-8",
        )
    git.output(repo, "add", "-A")
    identity = ("-c", "user.email=bench@kfimages.invalid", "-c", "user.name=kfimages bench")
    git.output(repo, *identity, "commit", "-q", "-m", "bench chain")
    return names


def shape(*, children: int, work_mb: int, os_image: str = DEFAULT_OS_IMAGE) -> str:
    """What the chain is, for results.md."""
    return (
        f"1 root image FROM {os_image} + {children} independent children, each hashing "
        f"{work_mb} MB of /dev/urandom, in a temporary git repository"
    )


def measure_chain(
    ctx: Context, *, children: int, work_mb: int
) -> tuple[tuple[Rebuild, ...], tuple[Rebuild, ...]]:
    """(first build and no-op rebuild, --jobs 1 and --jobs 2 rebuilds with --no-cache) of a
    throwaway chain; its images (a unique `kfnb-bench-<hex>/` prefix) are removed after."""
    ensure_os_image(DEFAULT_OS_IMAGE)  # not part of the first build's time
    registry = f"{BENCH_REGISTRY}-{uuid.uuid4().hex[:8]}"
    try:
        with tempfile.TemporaryDirectory(prefix="kfimages-bench-chain-") as tmp:
            repo = Path(tmp)
            names = write_chain(repo, children=children, work_mb=work_mb, os_image=DEFAULT_OS_IMAGE)
            chain = replace(ctx, graph=load_graph(repo), registry=registry)
            total = len(names) + 1
            rows = []
            for label in (f"first build ({total} images)", f"no-op rebuild ({total} images)"):
                seconds, report = timed_build(chain, names, tag="first", no_cache=False)
                rows.append(
                    Rebuild(
                        names=tuple(names),
                        seconds=seconds,
                        statuses=statuses(report.results),
                        label=label,
                    )
                )
            return tuple(rows), compare_jobs(chain, names)
    finally:
        engine.remove_images_under(registry)
