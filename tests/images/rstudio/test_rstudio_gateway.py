"""RStudio behind a real reverse proxy configured like Kubeflow's gateway, in Chromium, and
kubeflow-activity with a real RStudio console.

Needs the final image (rserver): where RStudio Server cannot be downloaded these skip with
"RStudio Server could not be fetched: <url>", like test_rstudio_server.py. Never run so far
(see rstudio/README.md). Modes: Notebooks 1 (`/notebook/<ns>/<name>/` rewritten to `/`,
`X-RStudio-Root-Path: /notebook/<ns>/<name>/`), Notebooks 2
(`/workspace/connect/<ns>/<name>/rstudio/`, prefix removed, the same header with that path,
no NB_PREFIX), and a proxy that changes the Host header. For rstudio only, not its children.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.harness.browser import ChromiumPage
from tests.harness.containers import TrackedContainer, TrackedContainers, loopback
from tests.harness.proxy import GatewayProxy, Route, notebooks_v1, notebooks_v2
from tests.images.conftest import ImageUnderTest
from tests.images.rstudio.stage import skip_unless_rstudio_fetchable

pytestmark = pytest.mark.folder_image_only

PORT = 8888
ACTIVITY = "/usr/local/bin/kubeflow-activity"
TAB_IDLE_S = 40
V1 = notebooks_v1("ns", "nb", rewrite_uri="/", headers={"X-RStudio-Root-Path": "/notebook/ns/nb/"})
MODES: dict[str, tuple[Route, dict[str, str]]] = {
    "notebooks-v1": (V1, {"NB_PREFIX": "/notebook/ns/nb"}),
    "notebooks-v2": (
        notebooks_v2(
            "ns",
            "nb",
            "rstudio",
            remove_prefix=True,
            headers={"X-RStudio-Root-Path": "/workspace/connect/ns/nb/rstudio/"},
        ),
        {},
    ),
    "notebooks-v1-host-rewritten": (
        V1.with_host("nb.ns.svc.cluster.local"),
        {"NB_PREFIX": "/notebook/ns/nb"},
    ),
}
CONSOLE_INPUT = "document.querySelector('#rstudio_console_input .ace_text-input')"


@pytest.fixture(autouse=True, scope="module")
def rstudio_download(image_under_test: ImageUnderTest) -> str:
    return skip_unless_rstudio_fetchable(image_under_test.image)


def _start(
    containers: TrackedContainers, environment: dict[str, str]
) -> tuple[TrackedContainer, int]:
    kwargs: dict[str, Any] = {"environment": environment} if environment else {}
    c = containers.run(ports=loopback(PORT), **kwargs)
    c.wait_until(
        lambda: c.exec(f"curl -s -o /dev/null http://127.0.0.1:{PORT}/", check=False).code == 0,
        timeout=120,
        message="rserver on port 8888",
    )
    return c, c.host_port(PORT)


def _activity(c: TrackedContainer) -> datetime:
    value = json.loads(c.exec(["sh", ACTIVITY]).stdout)["last_activity"]
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _run_r(page: ChromiumPage, command: str, expected: str) -> None:
    page.wait_for(CONSOLE_INPUT, timeout=120)
    page.evaluate(f"{CONSOLE_INPUT}.focus()")
    page.type_text(command)
    page.press("Enter", code="Enter", key_code=13)
    page.wait_for(
        "document.querySelector('#rstudio_console_output')?.textContent"
        f".includes({json.dumps(expected)})",
        timeout=60,
    )


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
def test_rstudio_console_runs_r_behind_the_gateway(
    containers: TrackedContainers, artifacts_dir: Path, mode: tuple[Route, dict[str, str]]
) -> None:
    route, environment = mode
    _c, host_port = _start(containers, environment)
    screenshot = artifacts_dir / f"gateway-{route.name}.png"
    with GatewayProxy(route, host_port) as proxy:
        proxy.mark()
        with ChromiumPage() as page:
            page.goto(proxy.url())
            try:
                _run_r(page, 'cat("kfnb", 6 * 7, "\\n")', "kfnb 42")
            except AssertionError as exc:
                page.screenshot(screenshot)
                raise AssertionError(f"{exc}\n{proxy.report()}\nscreenshot: {screenshot}") from exc
            page.screenshot(screenshot)
        assert not proxy.failures(), proxy.report()


def test_an_idle_rstudio_tab_is_not_activity_an_r_command_is(
    containers: TrackedContainers, artifacts_dir: Path
) -> None:
    route, environment = MODES["notebooks-v1"]
    c, host_port = _start(containers, environment)
    screenshot = artifacts_dir / "activity-rstudio.png"
    with GatewayProxy(route, host_port) as proxy, ChromiumPage() as page:
        page.goto(proxy.url())
        try:
            page.wait_for(CONSOLE_INPUT, timeout=120)
            opened = _activity(c)
            c.wait_clock_past(opened, by=TAB_IDLE_S)  # the tab untouched meanwhile
            assert _activity(c) == opened, "kubeflow-activity moved while the tab sat untouched"
            typed = datetime.now(UTC).replace(microsecond=0)
            _run_r(page, 'cat("kfnb", 2 + 2, "\\n")', "kfnb 4")
            assert _activity(c) >= typed
        except AssertionError as exc:
            page.screenshot(screenshot)
            raise AssertionError(f"{exc}\n{proxy.report()}\nscreenshot: {screenshot}") from exc
