"""JupyterLab behind a real reverse proxy configured like Kubeflow's gateway, in Chromium.

nginx (tests/harness/proxy.py) in front of a container published on 127.0.0.1: Notebooks 1
(`/notebook/<ns>/<name>/`, the path unchanged, Lab under NB_PREFIX), Notebooks 2
(`/workspace/connect/<ns>/<name>/<portId>/`, prefix kept, NB_PREFIX set to it), a proxy that
changes the Host header, and Lab inside an iframe of another page of the same origin (the
central dashboard). In each, the browser opens a notebook and runs a cell (kernel WebSocket
through the proxy). Slow: they run for jupyter only, not again for the images built FROM it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.browser import ChromiumPage
from tests.harness.containers import TrackedContainers
from tests.harness.proxy import GatewayProxy, Route, notebooks_v1, notebooks_v2
from tests.images.jupyter.lab_browser import (
    NOTEBOOK,
    LabPage,
    dashboard_page,
    fail_with,
    start_lab_published,
    write_notebook,
)

pytestmark = pytest.mark.folder_image_only

CELL = 'import os\nprint("kfnb-" + "gateway", 6 * 7, os.environ["NB_PREFIX"])'
V1 = notebooks_v1("ns", "nb")
MODES: dict[str, tuple[Route, str]] = {
    # Route, NB_PREFIX as the platform injects it
    "notebooks-v1": (V1, "/notebook/ns/nb"),
    "notebooks-v2": (
        notebooks_v2("ns", "nb", "jupyterlab", remove_prefix=False),
        "/workspace/connect/ns/nb/jupyterlab/",
    ),
    "notebooks-v1-host-rewritten": (V1.with_host("nb.ns.svc.cluster.local"), "/notebook/ns/nb"),
}


def _open_and_run(
    containers: TrackedContainers,
    artifacts_dir: Path,
    route: Route,
    nb_prefix: str,
    *,
    in_iframe: bool,
    shot: str,
) -> None:
    c, host_port = start_lab_published(containers, nb_prefix)
    write_notebook(c, [CELL])
    path = f"lab/tree/{NOTEBOOK}"
    pages = {"dashboard.html": dashboard_page(route.prefix, path)}
    screenshot = artifacts_dir / f"{shot}.png"
    with GatewayProxy(route, host_port, pages=pages) as proxy:
        code, body = proxy.get("api/status")
        assert code == 200, (
            f"GET {proxy.url('api/status')} -> {code}: {body[:300]}\n"
            f"nginx's error log: {proxy.error_log()[-800:]}\n"
            f"container log: {c.logs()[-800:]}"
        )
        proxy.mark()
        with ChromiumPage() as page:
            page.goto(proxy.page_url("dashboard.html") if in_iframe else proxy.url(path))
            lab = LabPage(page, in_iframe=in_iframe)
            try:
                lab.wait_notebook()
                lab.run_cell(0, f"kfnb-gateway 42 {nb_prefix}")
            except AssertionError as exc:
                fail_with(proxy, page, screenshot, exc)
            page.screenshot(screenshot)
            if in_iframe:
                assert page.evaluate("document.querySelector('#kfnb-dashboard') !== null")
        # The browser is gone: nginx has logged the WebSockets it carried.
        channels = [r for r in proxy.websockets() if "/channels" in r.uri]
        print(f"{route.name}: {len(proxy.requests())} requests, screenshot {screenshot}")
        assert channels, f"no kernel WebSocket went through the proxy\n{proxy.report()}"
        assert not proxy.failures(), proxy.report()


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
def test_lab_runs_a_cell_behind_the_gateway(
    containers: TrackedContainers, artifacts_dir: Path, mode: tuple[Route, str]
) -> None:
    route, nb_prefix = mode
    _open_and_run(
        containers, artifacts_dir, route, nb_prefix, in_iframe=False, shot=f"gateway-{route.name}"
    )


def test_lab_in_the_dashboards_iframe_runs_a_cell(
    containers: TrackedContainers, artifacts_dir: Path
) -> None:
    """The central dashboard shows Lab in an iframe of a page of the same origin: Lab's
    `frame-ancestors 'self'` allows it, and the kernel runs from inside the frame."""
    route, nb_prefix = MODES["notebooks-v1"]
    _open_and_run(
        containers, artifacts_dir, route, nb_prefix, in_iframe=True, shot="gateway-iframe"
    )
