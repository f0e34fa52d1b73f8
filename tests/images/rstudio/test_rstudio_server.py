"""RStudio Server in the final rstudio image (and, inherited, in rstudio-tidyverse).

These need the image with RStudio Server in it, hence Posit's download: where its URL
(rstudio/image.yaml, or $KFIMAGES_BUILD_ARG_RSTUDIO_URL) cannot be fetched they skip
with "RStudio Server could not be fetched: <url>". Everything else of the image is
tested by test_r_stage.py, which runs everywhere.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.harness.browser import browse, chromium_binary
from tests.harness.containers import TrackedContainer, TrackedContainers, loopback
from tests.images.conftest import ImageUnderTest
from tests.images.rstudio.stage import hardened, skip_unless_rstudio_fetchable

PREFIX = "/notebook/ns/nb/"
PORT = 8888
START_TIMEOUT_S = 120
RUNS: dict[str, dict[str, Any]] = {
    "jovyan": {},
    "random-uid-read-only-no-caps": hardened(),
}


@pytest.fixture(autouse=True, scope="session")
def rstudio_download(image_under_test: ImageUnderTest) -> str:
    """Skip the module where RStudio Server cannot be fetched (before the image is needed)."""
    return skip_unless_rstudio_fetchable(image_under_test.image)


def _request(
    container: TrackedContainer, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str]]:
    """GET http://127.0.0.1:8888<path> inside the container; (status, response headers)."""
    header_args = " ".join(f"-H '{key}: {value}'" for key, value in headers.items())
    result = container.exec(
        f"curl -s -o /dev/null -D - --max-time 20 {header_args} 'http://127.0.0.1:{PORT}{path}'",
        timeout=30,
        check=False,
    )
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if result.code != 0 or not lines or not lines[0].startswith("HTTP/"):
        return 0, {}
    status = int(lines[0].split()[1])
    fields = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
    return status, fields


def _wait_for_rserver(container: TrackedContainer) -> None:
    def up() -> bool:
        return _request(container, "/", {})[0] != 0

    container.wait_until(
        up, timeout=START_TIMEOUT_S, interval=0.5, message=f"rserver on port {PORT}"
    )


def _follow_through_proxy(
    container: TrackedContainer, headers: dict[str, str]
) -> list[tuple[str, int]]:
    """Follow redirects as Kubeflow's proxy does: a Location under PREFIX is rewritten to /.

    Returns the (path, status) chain; fails on a redirect that leaves the prefix.
    """
    chain: list[tuple[str, int]] = []
    path = "/"
    for _ in range(6):
        status, fields = _request(container, path, headers)
        chain.append((path, status))
        if status not in (301, 302, 303, 307, 308):
            return chain
        location = urllib.parse.urlparse(fields.get("location", ""))
        target = location.path or "/"
        if headers:
            assert target.startswith(PREFIX), f"redirect to {target} leaves {PREFIX}: {chain}"
            target = "/" + target[len(PREFIX) :]
        path = target + (f"?{location.query}" if location.query else "")
    raise AssertionError(f"too many redirects: {chain}")


@pytest.mark.parametrize("run", RUNS.values(), ids=RUNS.keys())
def test_rserver_answers_on_8888(containers: TrackedContainers, run: dict[str, Any]) -> None:
    container = containers.run(**run)
    _wait_for_rserver(container)
    chain = _follow_through_proxy(container, {})
    print(f"\nGET / -> {chain}")
    assert chain[-1][1] == 200, chain


def test_root_path_header_is_honoured(containers: TrackedContainers) -> None:
    container = containers.run()
    _wait_for_rserver(container)
    chain = _follow_through_proxy(container, {"X-RStudio-Root-Path": PREFIX})
    print(f"\nGET / with X-RStudio-Root-Path {PREFIX} -> {chain}")
    assert chain[-1][1] == 200, chain


def test_r_session_starts_as_jovyan(
    containers: TrackedContainers, artifacts_dir: Path, image_under_test: ImageUnderTest
) -> None:
    """A browser opens RStudio; rserver starts an R session (rsession) as jovyan."""
    chromium_binary()  # fails now, with the fix, when chromium is not installed
    container = containers.run(ports=loopback(PORT))
    _wait_for_rserver(container)
    browse(
        f"http://127.0.0.1:{container.host_port(PORT)}/",
        screenshot=artifacts_dir / f"{image_under_test.name}-rstudio.png",
        budget_ms=30000,
    )

    def session() -> str | None:
        out = container.exec("ps -o user=,args= -C rsession", check=False).stdout
        return out.strip() or None

    found = container.wait_until(session, timeout=60, interval=1, message="an rsession process")
    print(f"\nrsession: {found}")
    assert found.split()[0] == "jovyan", found
