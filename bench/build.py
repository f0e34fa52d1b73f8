"""Benchmark of `invoke build`: plan time, no-op rebuild, and --jobs 1 versus --jobs 2.

By default it builds a small THROWAWAY chain in a temporary git repository (a root
image FROM the local OS image plus N independent children, each doing a few
seconds of CPU work), so it finishes in a minute or two; the repository's own
images are only planned, not built. With `--repo NAMES` it also times a no-op
rebuild of those repository images (run it after building them, e.g.
`invoke build all`: otherwise that row includes the real builds).

    .venv/bin/python bench/build.py [--children 4] [--work-mb 1200] [--repo all]

Every image it creates is removed at the end (unique `kfbench-<hex>` prefix).
"""

from __future__ import annotations

import argparse
import io
import logging
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kfimages.build import plan  # noqa: E402
from kfimages.build.bootstrap import DEFAULT_OS_IMAGE, ensure_os_image  # noqa: E402
from kfimages.build.ca import collect_ca_files  # noqa: E402
from kfimages.build.report import BuildReport  # noqa: E402
from kfimages.build.run import build_images, prepare  # noqa: E402
from kfimages.repo.graph import load_graph  # noqa: E402
from kfimages.settings import Settings  # noqa: E402

SETTINGS = Settings.from_environ()


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=b@example.org", "-c", "user.name=b", *args],
        check=True,
        capture_output=True,
    )


def make_chain(repo: Path, *, children: int, work_mb: int) -> list[str]:
    """root FROM the OS image, and `children` independent images FROM root."""
    _git(repo, "init", "-q")
    (repo / "root").mkdir()
    (repo / "root" / "Dockerfile").write_text(
        f"ARG BASE_IMG={DEFAULT_OS_IMAGE}\nFROM $BASE_IMG\nRUN echo root > /root.txt\n"
    )
    names = []
    for index in range(children):
        name = f"child{index}"
        (repo / name).mkdir()
        (repo / name / "Dockerfile").write_text(
            "ARG BASE_IMG=root\nFROM $BASE_IMG\n"
            f"RUN head -c {work_mb}M /dev/urandom | sha256sum > /{name}.sum\n"
        )
        names.append(name)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "bench chain")
    return names


def timed(action: Callable[[], BuildReport]) -> tuple[float, BuildReport]:
    started = time.monotonic()
    report = action()
    return time.monotonic() - started, report


def statuses(report: BuildReport) -> str:
    counts: dict[str, int] = {}
    for result in report.results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def cleanup(prefix: str) -> None:
    listed = subprocess.run(
        ["docker", "image", "ls", "--filter", f"reference={prefix}/*",
         "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    if listed:
        subprocess.run(["docker", "image", "rm", "-f", *listed], capture_output=True, check=False)


def plan_repository() -> tuple[float, int]:
    """Time to load the repository graph and compute every image's step (input digests)."""
    started = time.monotonic()
    graph = load_graph(ROOT)
    request = plan.BuildRequest(
        tags=("latest",),
        ca_files=tuple(collect_ca_files([], default=SETTINGS.ca_cert)),
        dry_run=True,
    )
    with tempfile.TemporaryDirectory(prefix="kfbench-") as tmp:
        steps = prepare(graph, sorted(graph.images), request, settings=SETTINGS, work=Path(tmp))
    return time.monotonic() - started, len(steps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=4, help="independent images (default 4)")
    parser.add_argument("--work-mb", type=int, default=1200, help="MB hashed per child (CPU work)")
    parser.add_argument("--repo", default="", help="repository images for a no-op rebuild row")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sink = io.StringIO()
    ensure_os_image(DEFAULT_OS_IMAGE)
    rows: list[tuple[str, str, str]] = []

    seconds, count = plan_repository()
    rows.append((f"plan + input digests, repository graph ({count} images)", f"{seconds:.3f}", ""))

    prefix = f"kfbench-{uuid.uuid4().hex[:8]}"
    try:
        with tempfile.TemporaryDirectory(prefix="kfbench-") as tmp:
            repo = Path(tmp)
            names = make_chain(repo, children=args.children, work_mb=args.work_mb)
            graph = load_graph(repo)

            def run(tag: str, **kw: object) -> BuildReport:
                opts = plan.BuildRequest(registry=prefix, tags=(tag,), **kw)  # type: ignore[arg-type]
                return build_images(graph, names, opts, settings=SETTINGS, stream=sink)

            total = len(names) + 1
            seconds, report = timed(lambda: run("first"))
            rows.append((f"first build, throwaway graph ({total} images)", f"{seconds:.1f}",
                         statuses(report)))  # fmt: skip
            seconds, report = timed(lambda: run("first"))
            rows.append((f"no-op rebuild, throwaway graph ({total} images)", f"{seconds:.2f}",
                         statuses(report)))  # fmt: skip
            for jobs in (1, 2):
                seconds, report = timed(lambda j=jobs: run(f"j{j}", jobs=j, no_cache=True))  # type: ignore[misc]
                rows.append((f"build {total} images (--no-cache), --jobs {jobs}", f"{seconds:.1f}",
                             statuses(report)))  # fmt: skip
    finally:
        cleanup(prefix)

    if args.repo:
        graph = load_graph(ROOT)
        wanted = plan.expand_names(graph, args.repo.replace(",", " ").split(), base_ref=None)
        cas = tuple(collect_ca_files([], default=SETTINGS.ca_cert))
        opts = plan.BuildRequest(tags=("latest",), ca_files=cas)
        seconds, report = timed(
            lambda: build_images(graph, wanted, opts, settings=SETTINGS, stream=sink)
        )
        rows.append((f"rebuild of repository images: {args.repo}", f"{seconds:.2f}",
                     statuses(report)))  # fmt: skip

    print(
        f"bench/build.py: throwaway chain = 1 root + {args.children} independent children "
        f"(each hashes {args.work_mb} MB of /dev/urandom) in a temporary git repo, "
        f"FROM {DEFAULT_OS_IMAGE}; the repository's images are planned, not built."
    )
    width = max(len(r[0]) for r in rows)
    print(f"| {'measurement'.ljust(width)} | wall time (s) | statuses")
    print(f"|-{'-' * width}-|---------------|---------")
    for label, value, detail in rows:
        print(f"| {label.ljust(width)} | {value.rjust(13)} | {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
