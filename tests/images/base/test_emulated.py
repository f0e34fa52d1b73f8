"""base's contracts on every platform: the subset that also runs under QEMU (`--platform
linux/arm64`, marker `emulated`), and natively like any other test. One container, run the
way OpenShift runs it (random uid in group 0, no capabilities, read-only root), so that a
child image's emulated run stays within two containers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.containers import TrackedContainers
from tests.images.conftest import platform_under_test

pytestmark = pytest.mark.emulated

MACHINES = {"linux/amd64": "x86_64", "linux/arm64": "aarch64"}
"""`uname -m` in a container of each platform."""


def test_platform_and_image_config(
    docker_client: Any, image_ref_under_test: str, pytestconfig: pytest.Config
) -> None:
    attrs = docker_client.images.get(image_ref_under_test).attrs
    assert f"{attrs['Os']}/{attrs['Architecture']}" == platform_under_test(pytestconfig)
    config = attrs["Config"]
    assert (config["Entrypoint"], config["User"]) == (["/init"], "1000")
    env = dict(item.split("=", 1) for item in config["Env"])
    assert (env["NB_USER"], env["NB_UID"], env["HOME"]) == ("jovyan", "1000", "/home/jovyan")


def test_init_user_and_tools_under_a_random_uid(
    containers: TrackedContainers, pytestconfig: pytest.Config
) -> None:
    c = containers.run(
        ["sleep", "infinity"],
        user="123456:0",
        cap_drop=["ALL"],
        read_only=True,
        tmpfs={"/tmp": "", "/run": ""},
    )
    # The command starts once the init has run every cont-init script.
    c.wait_until(
        lambda: c.exec("pgrep -x sleep", check=False).code == 0,
        timeout=300,
        message="the init to run the command",
    )
    out = c.exec(
        "uname -m; id -u; with-contenv sh -c 'whoami; echo ~'; "
        "getent passwd jovyan; kubectl version --client; git --version; "
        "curl -sS --version | head -n 1; locale 2>&1 >/dev/null | (! grep .) && echo locale-ok; "
        "bash -lc 'echo login-shell-ok'",
        timeout=300,
    ).stdout.splitlines()
    machine = MACHINES[platform_under_test(pytestconfig)]
    assert out[:4] == [machine, "123456", "jovyan", "/home/jovyan"], out
    assert "jovyan:x:1000:0::/home/jovyan:/bin/bash" in out, out
    assert any(line.startswith("Client Version: v1.") for line in out), out
    assert any(line.startswith("git version ") for line in out), out
    assert any(line.startswith("curl ") for line in out), out
    # LANG's locale works on this platform (base makes its archive on the build platform).
    assert "locale-ok" in out, out
    assert out[-1] == "login-shell-ok", out
