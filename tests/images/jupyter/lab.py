"""Shared by the jupyter smoke tests and those of the images built FROM jupyter.

Start JupyterLab under a Kubeflow-style prefix and execute notebooks in the container.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.harness.http import wait_for_http

PORT = 8888
PREFIX = "/notebook/ns/nb"
BASE = f"http://127.0.0.1:{PORT}{PREFIX}"
VENV = "/opt/venv"
RANDOM_USER = "54321:0"


def start_lab(
    containers: TrackedContainers, *, timeout: float = 120, **kwargs: Any
) -> TrackedContainer:
    """Start the image (init + jupyterlab service) with NB_PREFIX; wait for /api/status."""
    environment = {"NB_PREFIX": PREFIX, **kwargs.pop("environment", {})}
    container = containers.run(environment=environment, **kwargs)
    started = time.monotonic()
    wait_for_http(container, f"{BASE}/api/status", timeout=timeout)
    print(f"{PREFIX}/api/status answered 200 {time.monotonic() - started:.1f} s after docker run")
    return container


def notebook(cells: list[str]) -> bytes:
    """A minimal nbformat 4 notebook of code cells, with the python3 kernel."""
    document = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "cells": [
            {
                "cell_type": "code",
                "id": f"cell-{i}",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(cells)
        ],
    }
    return json.dumps(document).encode()


def execute_notebook(
    container: TrackedContainer, cells: list[str], *, name: str = "smoke", timeout: int = 300
) -> list[str]:
    """Execute a notebook with a real kernel (nbconvert) in the container; each cell's stdout."""
    source = f"/tmp/{name}.ipynb"
    container.write_file(source, notebook(cells))
    container.exec(
        f"jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout={timeout} "
        f"--output {name}.out.ipynb --output-dir /tmp {source}",
        timeout=timeout + 60,
    )
    executed = json.loads(container.read_file(f"/tmp/{name}.out.ipynb"))
    stdout: list[str] = []
    for cell in executed["cells"]:
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        assert not errors, errors
        stdout.append(
            "".join(
                "".join(o["text"]) if isinstance(o["text"], list) else o["text"]
                for o in cell["outputs"]
                if o["output_type"] == "stream" and o["name"] == "stdout"
            )
        )
    return stdout


def start_kernel(container: TrackedContainer, *, timeout: int = 60) -> str:
    """Start a python3 kernel through the API as the Lab page does (with its _xsrf cookie)."""
    script = (
        f"curl -s -o /dev/null -c /tmp/jar {BASE}/lab && "
        "xsrf=$(awk '$6 == \"_xsrf\" {print $7}' /tmp/jar) && "
        "curl -s -w '\\n%{http_code}' -b /tmp/jar -H \"X-XSRFToken: $xsrf\" "
        f"-X POST -H 'Content-Type: application/json' -d '{{\"name\": \"python3\"}}' "
        f"{BASE}/api/kernels"
    )
    out = container.exec(script, timeout=timeout).stdout
    body, _, status = out.rpartition("\n")
    assert status.strip() == "201", out
    return str(json.loads(body)["id"])


WATCH_HEARTBEAT = False
"""`start_channels(hb=...)` of the tests' kernel clients: a client watching the heartbeat
declares a kernel dead when one beat misses its 1 s deadline, which a running kernel misses
under emulation and on a loaded machine (CI runs two suites at once on 2 cores: "Kernel died
before replying to kernel_info" in test_activity, 2026-12-04)."""


def run_in_kernel(
    container: TrackedContainer,
    kernel_id: str,
    code: str,
    *,
    timeout: int = 60,
) -> str:
    """Run `code` in a kernel the server started (a client on its connection file); the
    output printed by the code, then the reply's status. `timeout`: for the kernel to be
    ready and again for the code to run. The client does not watch the kernel's heartbeat
    (WATCH_HEARTBEAT): the reply shows that the kernel runs."""
    # Kernel connection files are runtime state: under /tmp, not on the home PVC.
    connection = f"/tmp/jupyter-runtime/kernel-{kernel_id}.json"
    client = (
        "import jupyter_client\n"
        f"kc = jupyter_client.BlockingKernelClient(connection_file={connection!r})\n"
        "kc.load_connection_file()\n"
        f"kc.start_channels(hb={WATCH_HEARTBEAT})\n"
        f"kc.wait_for_ready(timeout={timeout})\n"
        f"reply = kc.execute_interactive({code!r}, timeout={timeout})\n"
        "print(reply['content']['status'])\n"
    )
    return container.exec(["python", "-c", client], timeout=2 * timeout + 60).stdout
