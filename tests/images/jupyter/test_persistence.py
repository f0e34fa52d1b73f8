"""A Python environment and its kernel kept on the home volume survive a restart.

`/opt/venv` is the image's and is gone with the container; a venv the user makes in the home
folder (the PVC) and registers as a kernel with `ipykernel install --user` is what lasts.
These tests make one as docs/extending.md ("Keeping packages across restarts") says, stop and
remove the server, start a new one on the same volume and use the kernel through the
server's REST API, as JupyterLab's launcher does. Also as a random uid with gid 0.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.harness.http import http_get
from tests.images.jupyter.lab import BASE, RANDOM_USER, run_in_kernel, start_lab

HOME = "/home/jovyan"
ENV_DIR = f"{HOME}/envs/kfnb-persist"
KERNEL = "kfnb-persist"
DISPLAY_NAME = "Python (kfnb-persist)"

# What docs/extending.md tells users to run in a terminal of the server. ipykernel comes from
# the package index into the new venv (the image's own ipykernel lives in /opt/venv, which a
# venv made from Debian's Python cannot see).
MAKE_ENV = (
    f"python -m venv {ENV_DIR} && "
    f"{ENV_DIR}/bin/pip install --quiet ipykernel && "
    f"{ENV_DIR}/bin/python -m ipykernel install --user --name {KERNEL} "
    f"--display-name '{DISPLAY_NAME}'"
)

USERS = {"jovyan": None, "random-uid": RANDOM_USER}


def _start(
    containers: TrackedContainers,
    volume: str,
    user: str | None,
    platform_ca: dict[str, dict[str, str]],
) -> TrackedContainer:
    kwargs: dict[str, Any] = {"user": user} if user is not None else {}
    volumes = {volume: {"bind": HOME, "mode": "rw"}, **platform_ca}
    return start_lab(containers, volumes=volumes, **kwargs)


def _start_kernel(container: TrackedContainer, name: str) -> str:
    """Start a kernel through the API as the Lab page does (with its _xsrf cookie)."""
    out = container.exec(
        f"curl -s -o /dev/null -c /tmp/jar {BASE}/lab && "
        "xsrf=$(awk '$6 == \"_xsrf\" {print $7}' /tmp/jar) && "
        "curl -s -w '\\n%{http_code}' -b /tmp/jar -H \"X-XSRFToken: $xsrf\" "
        f"-X POST -H 'Content-Type: application/json' -d '{{\"name\": \"{name}\"}}' "
        f"{BASE}/api/kernels",
    ).stdout
    body, _, status = out.rpartition("\n")
    assert status.strip() == "201", out
    return str(json.loads(body)["id"])


@pytest.mark.parametrize("user", USERS.values(), ids=USERS.keys())
def test_venv_kernel_in_home_survives_restart(
    containers: TrackedContainers,
    home_volume: str,
    user: str | None,
    platform_ca: dict[str, dict[str, str]],
) -> None:
    first = _start(containers, home_volume, user, platform_ca)
    first.exec(["bash", "-lc", MAKE_ENV], timeout=300)  # as in a terminal: a login shell
    first.stop(timeout=10)
    first.raw.remove(v=False)

    second = _start(containers, home_volume, user, platform_ca)
    code, body = http_get(second, f"{BASE}/api/kernelspecs")
    assert code == 200, body
    specs = json.loads(body)["kernelspecs"]
    assert KERNEL in specs, sorted(specs)
    spec = specs[KERNEL]["spec"]
    assert spec["display_name"] == DISPLAY_NAME, spec
    assert spec["argv"][0] == f"{ENV_DIR}/bin/python", spec
    # The kernel of that spec starts and runs code with the venv's interpreter, as this uid.
    kernel_id = _start_kernel(second, KERNEL)
    out = run_in_kernel(
        second, kernel_id, "import os, sys; print(sys.prefix); print(os.getuid())"
    ).split()
    uid = (user or "1000").split(":")[0]
    assert out == [ENV_DIR, uid, "ok"], out
    # The image's own kernel is still there, and still the image's.
    assert specs["python3"]["spec"]["argv"][0] == "/opt/venv/bin/python", specs
