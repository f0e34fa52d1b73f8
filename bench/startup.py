"""Start-up benchmark of the Jupyter images: `docker run` to the first 200 on <prefix>/api/status.

For each image (default: jupyter), starts a container N times with
NB_PREFIX=/notebook/ns/nb and measures the wall time from just before `docker run -d`
until <prefix>/api/status answers 200. The probe runs INSIDE the container (one
`docker exec` with a curl loop every 50 ms), so no container address is contacted
from the host. Prints a table: median, min and max over the runs, and the image size.

    .venv/bin/python bench/startup.py [--runs 5] [--tag latest] [IMAGE ...]

IMAGE is an image name of the repository (`invoke list`), e.g. jupyter or
jupyter-pytorch-full.cpu; the image must be built already.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kfimages.repo.graph import DEFAULT_REGISTRY, DEFAULT_TAG, image_ref, load_graph  # noqa: E402

log = logging.getLogger(__name__)

PREFIX = "/notebook/ns/nb"
STATUS_URL = f"http://127.0.0.1:8888{PREFIX}/api/status"
TIMEOUT_S = 120


def _docker(*args: str, check: bool = True) -> str:
    result = subprocess.run(["docker", *args], check=check, capture_output=True, text=True)
    return result.stdout.strip()


def image_size_mb(*, ref: str) -> float:
    """Uncompressed size of a local image, in MB."""
    return int(_docker("image", "inspect", "-f", "{{.Size}}", ref)) / 1e6


def time_to_status(*, ref: str) -> float:
    """Seconds from `docker run` until <prefix>/api/status answers 200 inside the container."""
    probe = (
        "until [ \"$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "
        f'{STATUS_URL})" = 200 ]; do sleep 0.05; done'
    )
    started = time.monotonic()
    container = _docker("run", "-d", "-e", f"NB_PREFIX={PREFIX}", ref)
    try:
        # The container is running once `docker run -d` returns; the loop waits in there.
        _docker("exec", container, "timeout", str(TIMEOUT_S), "bash", "-c", probe)
        return time.monotonic() - started
    except subprocess.CalledProcessError as exc:
        logs = _docker("logs", "--tail", "20", container, check=False)
        raise SystemExit(
            f"{ref}: no 200 on {STATUS_URL} within {TIMEOUT_S}s ({exc})\n{logs}"
        ) from exc
    finally:
        _docker("rm", "-f", "-v", container, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "images", nargs="*", default=["jupyter"], help="image names (default jupyter)"
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per image (default 5)")
    parser.add_argument("--tag", default=DEFAULT_TAG, help=f"tag (default {DEFAULT_TAG})")
    parser.add_argument("--registry", default=DEFAULT_REGISTRY, help="registry/namespace prefix")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    graph = load_graph(ROOT)
    rows = []
    for name in args.images:
        ref = image_ref(graph.get(name), registry=args.registry, tag=args.tag)
        size = image_size_mb(ref=ref)
        times = []
        for run in range(args.runs):
            seconds = time_to_status(ref=ref)
            log.info("%s run %d: %.2f s", ref, run + 1, seconds)
            times.append(seconds)
        rows.append((ref, statistics.median(times), min(times), max(times), size))
    header = f"{'image':<45} {'median s':>9} {'min s':>7} {'max s':>7} {'size MB':>9}"
    print(f"docker run -> 200 on {PREFIX}/api/status ({args.runs} runs each)")
    print(header)
    print("-" * len(header))
    for ref, median, low, high, size in rows:
        print(f"{ref:<45} {median:>9.2f} {low:>7.2f} {high:>7.2f} {size:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
