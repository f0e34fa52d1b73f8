"""code-server's workbench in a real browser (through the gateway proxy): shared by the
codeserver gateway and activity tests."""

from __future__ import annotations

import json
import shlex
import time
import uuid
from typing import Any

from tests.harness.browser import ChromiumPage
from tests.harness.containers import TrackedContainer, TrackedContainers, loopback
from tests.harness.http import wait_for_http, wait_for_published

PORT = 8888
HOME = "/home/jovyan"
RANDOM_USER = "54321:0"
CTRL = 2
DISCONNECTED = "WebSocket close with status code"
"""What the workbench shows when its connection to the server fails (1006: kubeflow#7658)."""


def start_published(
    containers: TrackedContainers, volume: str, files: dict[str, str], **kwargs: Any
) -> tuple[TrackedContainer, int]:
    """code-server as a random uid on the (empty) home volume holding `files`, published on
    127.0.0.1:<a port Docker picks> for the proxy; (container, host port) once /healthz answers
    inside and through that port."""
    script = "chown 1000:0 /mnt/home && chmod 2775 /mnt/home"
    for name, text in files.items():
        script += f" && printf %s {shlex.quote(text)} > /mnt/home/{name}"
    script += " && chown -R 1000:0 /mnt/home && chmod -R g=u /mnt/home"
    containers.run_to_exit(
        ["-c", script],
        entrypoint=["bash"],
        user="0",
        volumes={volume: {"bind": "/mnt/home", "mode": "rw"}},
    )
    c = containers.run(
        user=RANDOM_USER,
        volumes={volume: {"bind": HOME, "mode": "rw"}},
        ports=loopback(PORT),
        **kwargs,
    )
    wait_for_http(c, f"http://127.0.0.1:{PORT}/healthz", timeout=120)
    return c, wait_for_published(c, PORT, "/healthz")


def marker_name() -> str:
    return f"kfnb-{uuid.uuid4().hex[:8]}.txt"


class Workbench:
    """The VS Code workbench open in `page`."""

    def __init__(self, page: ChromiumPage, container: TrackedContainer) -> None:
        self.page = page
        self.c = container

    def text(self) -> str:
        return str(self.page.evaluate("document.body?.innerText ?? ''") or "")

    def assert_connected(self) -> None:
        body = self.text()
        if DISCONNECTED in body:
            start = body.index(DISCONNECTED)
            raise AssertionError(
                f"the workbench lost its server: {body[max(0, start - 80) :][:200]}"
            )

    def wait_explorer_shows(self, name: str, *, timeout: float = 120) -> None:
        self.page.wait_for(
            "[...document.querySelectorAll('.explorer-folders-view .monaco-list-row')]"
            f".some((row) => row.textContent.includes({json.dumps(name)}))",
            timeout=timeout,
        )
        self.assert_connected()

    def open_file(self, name: str, *, timeout: float = 60) -> None:
        """Quick Open (Ctrl+P), the file's name, Enter: its editor tab is active. Once the
        name is in Quick Open's box, its search may take long (the first one indexes the
        folder): it is waited for, not typed again."""
        active_tab = (
            "document.querySelector('.tabs-container .tab.active')?.getAttribute('aria-label')"
            f"?.includes({json.dumps(name)})"
        )
        typed = f"document.querySelector('.quick-input-box input')?.value === {json.dumps(name)}"
        deadline = time.monotonic() + timeout

        def opened() -> bool:
            self.page.press("Escape", code="Escape", key_code=27)
            self.page.press("p", code="KeyP", key_code=80, modifiers=CTRL)
            try:
                self.page.wait_for(
                    "document.activeElement?.closest('.quick-input-widget') != null", timeout=10
                )
                self.page.type_text(name)
                searching = bool(self.page.evaluate(typed))
                self.page.wait_for(
                    "[...document.querySelectorAll('.quick-input-list .monaco-list-row')]"
                    f".some((row) => row.textContent.includes({json.dumps(name)}))",
                    timeout=max(10, deadline - time.monotonic()) if searching else 10,
                )
                self.page.press("Enter", code="Enter", key_code=13)
                self.page.wait_for(
                    f"{active_tab} && document.querySelector('.monaco-editor')", timeout=10
                )
            except AssertionError:
                return False
            return True

        self.c.wait_until(opened, timeout=timeout, interval=1, message=f"an editor of {name}")
        self.assert_connected()

    def type_in_editor(self, text: str) -> None:
        """Type into the active editor (which has the focus after open_file)."""
        self.page.evaluate(
            "document.querySelector('.editor-instance .monaco-editor .native-edit-context, "
            ".editor-instance .monaco-editor textarea')?.focus()"
        )
        self.page.type_text(text)

    def open_terminal(self, *, timeout: float = 90) -> None:
        """A terminal (Ctrl+`), focused."""
        textarea = "document.querySelector('.xterm-helper-textarea')"

        def focused() -> bool:
            if not self.page.evaluate(f"Boolean({textarea})"):
                self.page.press("`", code="Backquote", key_code=192, modifiers=CTRL)
                try:
                    self.page.wait_for(textarea, timeout=10)
                except AssertionError:
                    return False
            self.page.evaluate(f"{textarea}.focus()")
            return bool(self.page.evaluate(f"document.activeElement === {textarea}"))

        self.c.wait_until(focused, timeout=timeout, interval=0.5, message="a focused terminal")

    def run_in_terminal(self, command: str) -> None:
        self.page.type_text(command)
        self.page.press("Enter", code="Enter", key_code=13)


def focus_terminal(page: ChromiumPage, container: TrackedContainer) -> None:
    """Open the integrated terminal (Ctrl+`) and focus it. The workbench may still be
    registering its keybindings: press again until a terminal exists (never while one is
    there: Ctrl+` toggles the panel)."""
    textarea = "document.querySelector('.xterm-helper-textarea')"

    def focused() -> bool:
        if not page.evaluate(f"Boolean({textarea})"):
            page.press("`", code="Backquote", key_code=192, modifiers=2)
            try:
                page.wait_for(textarea, timeout=10)
            except AssertionError:
                return False
        page.evaluate(f"{textarea}.focus()")
        return bool(page.evaluate(f"document.activeElement === {textarea}"))

    container.wait_until(focused, timeout=90, interval=0.5, message="a focused terminal")
