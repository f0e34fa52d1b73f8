"""Headless Chromium on pages served on 127.0.0.1: `browse` (one-shot, virtual time) and
`ChromiumPage` / `browse_until` (real time, driven through the DevTools Protocol)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.harness.waiting import GiveUp, wait_until

# Headless, and quiet on a closed network (no background connections, updates or sync).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_binary() -> str:
    """Path of Debian's chromium; fails the test with the fix when it is not installed (at
    once: a GiveUp, so that a wait whose probe opens a page does not retry until timeout)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise GiveUp("chromium is not installed: apt-get install chromium (see .ci/run)")
    return binary


def browse(url: str, *, screenshot: Path, budget_ms: int = 15000) -> str:
    """Open `url` (127.0.0.1) in headless Chromium; save a screenshot, return the rendered DOM.
    A Chromium that fails (no screenshot, or a non-zero exit) raises a RuntimeError with the
    end of its stderr: a wait that retries the page names it as its last error."""
    binary = chromium_binary()
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    flags = [
        *CHROMIUM_FLAGS,
        "--window-size=1280,800",
        f"--virtual-time-budget={budget_ms}",
    ]
    screenshot.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        shot = subprocess.run(
            [binary, *flags, f"--user-data-dir={profile}/shot", f"--screenshot={screenshot}", url],
            check=False,
            capture_output=True,
            timeout=120,
            text=True,
        )
    if shot.returncode != 0 or not screenshot.exists():
        raise RuntimeError(f"chromium --screenshot exited {shot.returncode}: {shot.stderr[-600:]}")
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [binary, *flags, f"--user-data-dir={profile}/dom", "--dump-dom", url],
            check=False,
            capture_output=True,
            timeout=120,
            text=True,
        )
    if dom.returncode != 0:
        raise RuntimeError(f"chromium --dump-dom exited {dom.returncode}: {dom.stderr[-600:]}")
    return dom.stdout


class _DevToolsSocket:
    """A minimal WebSocket client (RFC 6455, text frames) for the Chrome DevTools Protocol."""

    def __init__(self, url: str, *, timeout: float) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError("DevTools closed the connection during the handshake")
            response += chunk
        head, _, self.buffer = response.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise AssertionError(f"DevTools refused the WebSocket: {head[:200]!r}")
        self.next_id = 0

    def _read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise AssertionError("DevTools closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x81, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _receive_text(self) -> str:
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read(8))
            payload = self._read(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise AssertionError("DevTools closed the WebSocket")
            if opcode in (0x0, 0x1):
                message += payload
                if first & 0x80:
                    return message.decode("utf-8", "replace")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events in between are skipped)."""
        self.next_id += 1
        self._send_text(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self._receive_text())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise AssertionError(f"DevTools {method} failed: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def close(self) -> None:
        self.sock.close()


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    """Send `sig` to the process group that `process` leads (it was started in a session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


class ChromiumPage:
    """A headless Chromium tab driven in real time through the DevTools Protocol.

    Use as a context manager (`with ChromiumPage() as page:`); then `goto`, `wait_for`,
    `evaluate`, `press`, `type_text`, `screenshot`, `dom`. Only for pages on 127.0.0.1.
    """

    def __init__(self, *, window: str = "1280,800") -> None:
        self.window = window
        self._profile: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._devtools: _DevToolsSocket | None = None

    def __enter__(self) -> ChromiumPage:
        binary = chromium_binary()
        profile = self._profile = tempfile.mkdtemp(prefix="kfnb-chromium-")
        self._process = subprocess.Popen(
            [
                binary,
                *CHROMIUM_FLAGS,
                f"--window-size={self.window}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its helper processes form a group we can end together
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            port = wait_until(
                lambda: port_file.read_text().split()[0] if port_file.is_file() else None,
                timeout=60,
                message="chromium's DevTools port",
            )
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                targets = json.load(r)
            page = next(t for t in targets if t.get("type") == "page")
            self._devtools = _DevToolsSocket(page["webSocketDebuggerUrl"], timeout=30)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._devtools is not None:
            self._devtools.close()
            self._devtools = None
        if self._process is not None:
            # The whole group: helper processes left behind keep writing into the profile.
            _signal_group(self._process, signal.SIGTERM)
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal_group(self._process, signal.SIGKILL)
                self._process.wait(timeout=20)
            self._process = None
        if self._profile is not None:
            # A helper that outlived the group's SIGTERM may still write a file in there: the
            # profile is scratch, so a late leftover is not worth failing the test for.
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One raw DevTools Protocol command."""
        if self._devtools is None:
            raise AssertionError("ChromiumPage is not open: use it as a context manager")
        return self._devtools.call(method, **params)

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-serialisable values)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, *, timeout: float) -> None:
        """Wait until the JavaScript expression is truthy in the page."""
        wait_until(
            lambda: bool(self.evaluate(f"Boolean({expression})")),
            timeout=timeout,
            interval=0.5,
            message=expression,
        )

    def press(self, key: str, *, code: str, key_code: int, modifiers: int = 0) -> None:
        """A key press (keyDown + keyUp); modifiers: 1 Alt, 2 Ctrl, 4 Meta, 8 Shift."""
        common = {"key": key, "code": code, "windowsVirtualKeyCode": key_code}
        self.call("Input.dispatchKeyEvent", type="rawKeyDown", modifiers=modifiers, **common)
        self.call("Input.dispatchKeyEvent", type="keyUp", modifiers=modifiers, **common)

    def type_text(self, text: str) -> None:
        """Type text into the focused element (no Enter: use press("Enter", ...))."""
        self.call("Input.insertText", text=text)

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        shot = self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))

    def dom(self) -> str:
        return str(self.evaluate("document.documentElement.outerHTML") or "")


def browse_until(
    url: str,
    *,
    ready_js: str,
    screenshot: Path,
    timeout: float = 90,
) -> str:
    """Open `url` (on 127.0.0.1) in headless Chromium, in real time, until the JavaScript
    expression `ready_js` is true in the page; save a screenshot, return the rendered DOM.

    For apps that keep a WebSocket to their server (e.g. VS Code): `browse`'s virtual time
    budget fires their keep-alive timeouts before the page renders. This drives Chromium
    through the DevTools Protocol instead (see ChromiumPage). On timeout the screenshot is
    still saved and the AssertionError carries the end of the DOM.
    """
    with ChromiumPage() as page:
        page.goto(url)
        failure: AssertionError | None = None
        try:
            page.wait_for(ready_js, timeout=timeout)
        except AssertionError as exc:
            failure = exc
        page.screenshot(screenshot)
        html = page.dom()
        if failure is not None:
            raise AssertionError(f"{failure}\nDOM (end): {html[-2000:]}") from failure
        return html
