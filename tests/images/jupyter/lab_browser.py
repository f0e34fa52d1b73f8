"""JupyterLab behind the gateway proxy, in a real browser: shared by the jupyter gateway and
activity tests (tests/harness/proxy.py, tests/harness/browser.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.harness.browser import ChromiumPage
from tests.harness.containers import TrackedContainer, TrackedContainers, loopback
from tests.harness.http import wait_for_http, wait_for_published
from tests.harness.proxy import GatewayProxy
from tests.harness.waiting import wait_until
from tests.images.jupyter.lab import PORT, notebook

HOME = "/home/jovyan"
NOTEBOOK = "gateway.ipynb"
SHIFT = 8


def start_lab_published(
    containers: TrackedContainers, nb_prefix: str, **kwargs: Any
) -> tuple[TrackedContainer, int]:
    """JupyterLab with NB_PREFIX=`nb_prefix`, published on 127.0.0.1 on a port Docker picks (for
    the proxy); waits for <prefix>/api/status inside the container and through that port.
    (container, host port)"""
    c = containers.run(environment={"NB_PREFIX": nb_prefix}, ports=loopback(PORT), **kwargs)
    status = f"{nb_prefix.rstrip('/')}/api/status"
    wait_for_http(c, f"http://127.0.0.1:{PORT}{status}", timeout=120)
    return c, wait_for_published(c, PORT, status)


def write_notebook(c: TrackedContainer, cells: list[str], name: str = NOTEBOOK) -> None:
    c.write_file(f"{HOME}/{name}", notebook(cells))


def dashboard_page(proxy_prefix: str, path: str) -> str:
    """A page of the dashboard's origin that shows the app in an iframe (as the central
    dashboard does)."""
    return (
        "<!doctype html><html><head><title>kfnb dashboard</title></head>"
        "<body style='margin:0'><div id='kfnb-dashboard'>central dashboard</div>"
        f"<iframe id='kfnb-app' src='{proxy_prefix}{path}' "
        "style='width:1260px;height:740px;border:0'></iframe></body></html>"
    )


class LabPage:
    """A Lab notebook open in `page` (top level, or in the dashboard's iframe)."""

    def __init__(self, page: ChromiumPage, *, in_iframe: bool) -> None:
        self.page = page
        self.doc = (
            "document.querySelector('#kfnb-app').contentDocument" if in_iframe else "document"
        )
        self.win = "document.querySelector('#kfnb-app').contentWindow" if in_iframe else "window"

    def q(self, selector: str) -> str:
        return f"{self.doc}?.querySelector({json.dumps(selector)})"

    def wait_notebook(self, timeout: float = 120) -> None:
        self.page.wait_for(self.q(".jp-NotebookPanel .jp-Cell .cm-content"), timeout=timeout)

    def outputs(self) -> str:
        return str(
            self.page.evaluate(
                f"[...({self.doc}?.querySelectorAll('.jp-OutputArea-output') ?? [])]"
                ".map((o) => o.textContent).join('\\n')"
            )
            or ""
        )

    def prompt_numbered(self, index: int) -> bool:
        """Whether cell `index` shows its execution count (`[1]:`): its execute_reply is in."""
        prompt = (
            f"{self.doc}.querySelectorAll('.jp-NotebookPanel .jp-Cell')[{index}]"
            "?.querySelector('.jp-InputPrompt')?.textContent ?? ''"
        )
        return bool(self.page.evaluate(f"/\\[\\d+\\]/.test({prompt})"))

    def kernel_idle(self) -> bool:
        """Whether the notebook has its kernel and the kernel is idle, as its toolbar shows
        it: the kernel's name (not "No Kernel") and the execution indicator idle (which also
        reads idle before any kernel is there)."""
        toolbar = f"{self.doc}?.querySelector('.jp-NotebookPanel-toolbar')"
        name = f"{toolbar}?.querySelector('.jp-Toolbar-kernelName')?.getAttribute('aria-label')"
        status = (
            f"{toolbar}?.querySelector('.jp-Notebook-ExecutionIndicator')"
            "?.getAttribute('data-status')"
        )
        return bool(
            self.page.evaluate(
                f"((name, status) => Boolean(name) && name !== 'No Kernel' && status === 'idle')"
                f"({name}, {status})"
            )
        )

    def run_cell(self, index: int, expected: str, *, timeout: float = 120) -> None:
        """Wait until the notebook's kernel is idle (a cell run before the notebook has its
        kernel opens Lab's "Select Kernel" dialog instead, and the next press only closes it),
        put cell `index` into edit mode and press Shift+Enter (again, every 15 s, until the
        output shows `expected`: a press before the notebook was wired up is lost)."""
        cells = f"{self.doc}.querySelectorAll('.jp-NotebookPanel .jp-Cell .cm-content')"
        deadline = time.monotonic() + timeout
        wait_until(self.kernel_idle, timeout=timeout, interval=0.25, message="the kernel idle")
        while True:
            self.page.evaluate(f"{self.win}.focus(); {cells}[{index}].focus()")
            self.page.press("Enter", code="Enter", key_code=13, modifiers=SHIFT)
            try:
                self.page.wait_for(
                    f"[...{self.doc}.querySelectorAll('.jp-OutputArea-output')]"
                    f".some((o) => o.textContent.includes({json.dumps(expected)}))",
                    timeout=15,
                )
                return
            except AssertionError:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"cell {index} did not print {expected!r} within {timeout}s; "
                        f"outputs: {self.outputs()!r}"
                    ) from None


def fail_with(proxy: GatewayProxy, page: ChromiumPage, screenshot: Path, exc: Exception) -> None:
    page.screenshot(screenshot)
    raise AssertionError(f"{exc}\n{proxy.report()}\nscreenshot: {screenshot}") from exc
