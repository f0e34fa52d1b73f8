"""code-server behind a real reverse proxy configured like Kubeflow's gateway, in Chromium.

nginx (tests/harness/proxy.py) in front of a container published on 127.0.0.1: Notebooks 1
(`/notebook/<ns>/<name>/` rewritten to `/`, `http-rewrite-uri: /`, NB_PREFIX injected),
Notebooks 2 (`/workspace/connect/<ns>/<name>/<portId>/` with `removePathPrefix: true`, no
NB_PREFIX), and a proxy that changes the Host header (kubeflow/kubeflow#7658: code-server
refused the WebSocket, "WebSocket close with status code 1006"). In each, the workbench
connects, opens a file and a terminal. Slow: for codeserver only, not its children.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.harness.browser import ChromiumPage
from tests.harness.containers import TrackedContainers
from tests.harness.proxy import GatewayProxy, Route, notebooks_v1, notebooks_v2
from tests.images.codeserver.workbench import HOME, Workbench, marker_name, start_published

pytestmark = pytest.mark.folder_image_only

KNOWN_MISSING = ("/static/node_modules/vsda/",)
"""Microsoft's closed-source `vsda` module, which the workbench tries and code-server does not
ship: 404 also without a proxy."""
V1 = notebooks_v1("ns", "nb", rewrite_uri="/")
MODES: dict[str, tuple[Route, dict[str, str]]] = {
    # Route, the environment the platform gives the container
    "notebooks-v1": (V1, {"NB_PREFIX": "/notebook/ns/nb"}),
    "notebooks-v2": (notebooks_v2("ns", "nb", "codeserver", remove_prefix=True), {}),
    "notebooks-v1-host-rewritten": (
        V1.with_host("nb.ns.svc.cluster.local"),
        {"NB_PREFIX": "/notebook/ns/nb"},
    ),
}


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
def test_workbench_connects_opens_a_file_and_a_terminal_behind_the_gateway(
    containers: TrackedContainers,
    home_volume: str,
    artifacts_dir: Path,
    mode: tuple[Route, dict[str, str]],
) -> None:
    route, environment = mode
    marker = marker_name()
    kwargs: dict[str, Any] = {"environment": environment} if environment else {}
    c, host_port = start_published(containers, home_volume, {marker: "hello\n"}, **kwargs)
    screenshot = artifacts_dir / f"gateway-{route.name}.png"
    with GatewayProxy(route, host_port, known_missing=KNOWN_MISSING) as proxy:
        code, body = proxy.get("healthz")
        assert code == 200, (
            f"GET {proxy.url('healthz')} -> {code}: {body[:300]}\n"
            f"nginx's error log: {proxy.error_log()[-800:]}\n"
            f"container log: {c.logs()[-800:]}"
        )
        proxy.mark()
        with ChromiumPage() as page:
            page.goto(proxy.url(f"?folder={HOME}"))
            wb = Workbench(page, c)
            try:
                wb.wait_explorer_shows(marker)
                wb.open_file(marker)
                wb.open_terminal()
                wb.run_in_terminal(f"echo via-$((6 * 7)) > ~/{marker}.out")
                written = c.wait_until(
                    lambda: c.exec(f"cat {HOME}/{marker}.out", check=False).stdout.strip() or None,
                    timeout=60,
                    message="the terminal command's output file",
                )
                wb.assert_connected()
            except AssertionError as exc:
                page.screenshot(screenshot)
                raise AssertionError(f"{exc}\n{proxy.report()}\nscreenshot: {screenshot}") from exc
            page.screenshot(screenshot)
        # The browser is gone: nginx has logged the WebSockets it carried.
        sockets = proxy.websockets()
        print(f"{route.name}: {len(proxy.requests())} requests, screenshot {screenshot}")
        assert written == "via-42"
        assert sockets, f"no WebSocket went through the proxy\n{proxy.report()}"
        assert not proxy.failures(), proxy.report()
