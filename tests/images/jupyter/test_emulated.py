"""JupyterLab on every platform: the subset that also runs under QEMU (`--platform
linux/arm64`, marker `emulated`): one container serves the Lab under a Kubeflow prefix and
runs code in a kernel the server started. Timeouts are for emulation on a 2-core host (the
first answer came after 93 s there, 1.7 s natively)."""

from __future__ import annotations

import json

import pytest

from tests.harness.containers import TrackedContainers
from tests.harness.http import http_get
from tests.images.base.test_emulated import MACHINES
from tests.images.conftest import platform_under_test
from tests.images.jupyter.lab import BASE, PREFIX, run_in_kernel, start_kernel, start_lab

pytestmark = pytest.mark.emulated


def test_serves_under_the_prefix_and_runs_a_kernel(
    containers: TrackedContainers, pytestconfig: pytest.Config
) -> None:
    c = start_lab(containers, timeout=900)
    code, page = http_get(c, f"{BASE}/lab", timeout=300)
    assert code == 200, page[:500]
    config = json.loads(
        page.split('id="jupyter-config-data" type="application/json">', 1)[1].split("</script>")[0]
    )
    assert config["baseUrl"] == f"{PREFIX}/", config["baseUrl"]
    kernel_id = start_kernel(c, timeout=600)
    source = "import platform; print(platform.machine())"
    out = run_in_kernel(c, kernel_id, source, timeout=600)
    assert out.split()[-2:] == [MACHINES[platform_under_test(pytestconfig)], "ok"], out
    # install-python.sh byte-compiled with the build platform's python3.13 through a diversion
    # of /usr/bin/python3.13: none is left, and the interpreter is the package's own.
    assert "python3.13" not in c.exec(["dpkg-divert", "--list"], timeout=120).stdout
    assert "python3.13" not in c.exec(["cat", "/var/lib/dpkg/diversions-old"]).stdout
    sums = c.exec(["dpkg-query", "--control-path", "python3.13-minimal", "md5sums"]).stdout
    check = f"grep ' usr/bin/python3.13$' {sums.strip()} | (cd / && md5sum -c)"
    assert c.exec(["sh", "-c", check], timeout=120).stdout.strip().endswith(": OK")
