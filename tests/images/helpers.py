"""Helpers for the image smoke tests: exec with an in-container timeout, polling, HTTP, browser."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def exec_in(
    container: Any,
    command: str | Sequence[str],
    *,
    timeout: int = 60,
    user: str | None = None,
    environment: dict[str, str] | None = None,
    workdir: str | None = None,
) -> tuple[int, str]:
    """Run `command` in a running container under an in-container `timeout`; (exit code, output).

    A string is run with `bash -lc`; a list is run as it is.
    """
    argv = ["bash", "-c", command] if isinstance(command, str) else list(command)
    result = container.exec_run(
        ["timeout", "--kill-after=5", str(timeout), *argv],
        user=user or "",
        environment=environment,
        workdir=workdir,
        demux=False,
    )
    output = (result.output or b"").decode("utf-8", "replace")
    return int(result.exit_code), output


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.25,
    message: str = "condition",
) -> T:
    """Poll `probe` until it returns a truthy value and return that value; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except Exception as exc:  # the probe may fail until the server is up
            last_error = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}; last error: {last_error}")
        time.sleep(interval)


def http_get(
    container: Any,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: int = 20,
) -> tuple[int, str]:
    """GET `url` from inside the container with curl; (status code, body). Status 0 = no answer."""
    header_args = " ".join(f"-H {shlex.quote(f'{k}: {v}')}" for k, v in (headers or {}).items())
    body_file = "/tmp/.smoke-http-body"
    code, out = exec_in(
        container,
        f"curl -s -o {body_file} -w '%{{http_code}}' --max-time {timeout} {header_args} "
        f"{shlex.quote(url)}; echo; cat {body_file} 2>/dev/null; rm -f {body_file}",
        timeout=timeout + 5,
    )
    status_line, _, body = out.partition("\n")
    try:
        status = int(status_line.strip() or 0)
    except ValueError:
        status = 0
    return status, body


def wait_for_http(container: Any, url: str, *, timeout: float = 60, status: int = 200) -> str:
    """Wait until `url` (requested inside the container) answers `status`; return the body."""

    def probe() -> str | None:
        container.reload()
        if container.status != "running":
            logs = container.logs().decode("utf-8", "replace")[-3000:]
            raise AssertionError(f"container stopped while waiting for {url}:\n{logs}")
        code, body = http_get(container, url)
        return body or " " if code == status else None

    try:
        return wait_until(probe, timeout=timeout, message=f"{url} to answer {status}")
    except AssertionError:
        raise


def chromium_binary() -> str | None:
    """Path of Debian's chromium, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browse(url: str, *, screenshot: Path, budget_ms: int = 15000) -> str:
    """Open `url` (on 127.0.0.1) in headless Chromium; save a screenshot, return the rendered DOM."""
    binary = chromium_binary()
    if binary is None:
        raise AssertionError("chromium is not installed: apt-get install chromium (see .ci/run)")
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,800",
        f"--virtual-time-budget={budget_ms}",
    ]
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [binary, *flags, f"--user-data-dir={profile}/shot", f"--screenshot={screenshot}", url],
            check=False,
            capture_output=True,
            timeout=120,
        )
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [binary, *flags, f"--user-data-dir={profile}/dom", "--dump-dom", url],
            check=False,
            capture_output=True,
            timeout=120,
            text=True,
        )
    return dom.stdout
