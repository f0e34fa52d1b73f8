"""JUPYTER_ALLOW_ORIGIN: which pages may call JupyterLab's API and open its kernel WebSockets
cross-origin (jupyter/README.md, "Allowed origins"). Unset: any origin (`*`, as before). Set
to the dashboard's origin: a foreign Origin is refused (API 404, WebSocket 403), the
dashboard's accepted with its own Access-Control-Allow-Origin, as is a same-origin request. A
value that is not a list of origins stops the container at start (exit 2, one line naming
it); where S6_BEHAVIOUR_IF_STAGE2_FAILS lets it start anyway, no cross-origin request is
allowed. Requests are made inside the container (curl) to 127.0.0.1:8888 under the prefix.
"""

from __future__ import annotations

import json
import shlex

import pytest

from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.images.jupyter.lab import BASE, PORT, start_lab

DASHBOARD = "https://kubeflow.example.com"
FOREIGN = "https://evil.example.org"
SAME = f"http://127.0.0.1:{PORT}"
CHECK = "/etc/cont-init.d/50-jupyter-allow-origin"
HOME_TMPFS = {"/home/jovyan": "uid=1000,gid=0,mode=0775"}


def _api(container: TrackedContainer, origin: str) -> tuple[int, str]:
    """GET <prefix>/api/status with `Origin: origin`: the status code and the
    Access-Control-Allow-Origin header ("" when absent)."""
    out = container.exec(
        f"curl -s -o /dev/null -D - --max-time 10 -H {shlex.quote(f'Origin: {origin}')} "
        f"{BASE}/api/status"
    ).stdout
    lines = out.splitlines()
    code = int(lines[0].split()[1]) if lines else 0
    allowed = [
        line.split(":", 1)[1].strip()
        for line in lines
        if line.lower().startswith("access-control-allow-origin:")
    ]
    return code, allowed[0] if allowed else ""


def _start_kernel(container: TrackedContainer, origin: str) -> tuple[int, str]:
    """POST <prefix>/api/kernels as a page of `origin` would (the _xsrf cookie and header of
    the Lab page, `Origin: origin`): the status code and the body."""
    script = (
        f"curl -s -o /dev/null -c /tmp/jar {BASE}/lab && "
        "xsrf=$(awk '$6 == \"_xsrf\" {print $7}' /tmp/jar) && "
        "curl -s -w '\\n%{http_code}' -b /tmp/jar -H \"X-XSRFToken: $xsrf\" "
        f"-H {shlex.quote(f'Origin: {origin}')} "
        "-X POST -H 'Content-Type: application/json' -d '{\"name\": \"python3\"}' "
        f"{BASE}/api/kernels"
    )
    body, _, status = container.exec(script).stdout.rpartition("\n")
    return int(status.strip()), body


def _kernel_websocket(container: TrackedContainer, kernel_id: str, origin: str) -> str:
    """The status line of a WebSocket upgrade of the kernel's channels, with `Origin: origin`."""
    url = f"{BASE}/api/kernels/{kernel_id}/channels"
    out = container.exec(
        "curl -s -i --max-time 5 -H 'Connection: Upgrade' -H 'Upgrade: websocket' "
        "-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "
        f"-H {shlex.quote(f'Origin: {origin}')} {shlex.quote(url)} | head -n1",
    ).stdout
    return out.strip()


@pytest.mark.parametrize(
    ("allowed", "pattern"),
    [
        (DASHBOARD, False),
        ("https://other.example.org, HTTPS://Kubeflow.Example.com:443/", True),
    ],
    ids=["dashboard", "list-with-default-port"],
)
def test_set_to_the_dashboard_refuses_a_foreign_origin(
    containers: TrackedContainers, allowed: str, pattern: bool
) -> None:
    c = start_lab(containers, environment={"JUPYTER_ALLOW_ORIGIN": allowed}, tmpfs=HOME_TMPFS)
    foreign, foreign_cors = _api(c, FOREIGN)
    dashboard, dashboard_cors = _api(c, DASHBOARD)
    same, _ = _api(c, SAME)
    print(f"{allowed!r}: API foreign {foreign}, dashboard {dashboard}, same origin {same}")
    assert (foreign, foreign_cors in ("", DASHBOARD)) == (404, True), (foreign, foreign_cors)
    assert (dashboard, dashboard_cors) == (200, DASHBOARD)
    assert same == 200, same

    refused, body = _start_kernel(c, FOREIGN)
    assert refused == 404, (refused, body)
    started, body = _start_kernel(c, DASHBOARD)
    assert started == 201, (started, body)
    kernel_id = json.loads(body)["id"]
    foreign_ws = _kernel_websocket(c, kernel_id, FOREIGN)
    dashboard_ws = _kernel_websocket(c, kernel_id, DASHBOARD)
    print(
        f"kernel POST foreign {refused}; kernel WebSocket foreign {foreign_ws!r}, "
        f"dashboard {dashboard_ws!r}"
    )
    assert " 403 " in foreign_ws, foreign_ws
    assert " 101 " in dashboard_ws, dashboard_ws
    # One origin is Jupyter's allow_origin, several its allow_origin_pat.
    option = "allow_origin_pat" if pattern else f"allow_origin={DASHBOARD}"
    assert f"--ServerApp.{option}" in c.exec("pgrep -a -f ServerApp.base_url").stdout


def test_unset_allows_any_origin(containers: TrackedContainers) -> None:
    c = start_lab(containers, tmpfs=HOME_TMPFS)
    code, cors = _api(c, FOREIGN)
    assert (code, cors) == (200, "*")
    started, body = _start_kernel(c, FOREIGN)
    assert started == 201, (started, body)
    foreign_ws = _kernel_websocket(c, json.loads(body)["id"], FOREIGN)
    assert " 101 " in foreign_ws, foreign_ws


@pytest.mark.parametrize("bad", ["kubeflow.example.com", "https://kubeflow.example.com/hub"])
def test_a_bad_value_stops_the_container_naming_it(containers: TrackedContainers, bad: str) -> None:
    result = containers.run_to_exit(
        None,
        environment={"JUPYTER_ALLOW_ORIGIN": bad},
        tmpfs=HOME_TMPFS,
        expect_code=2,
        timeout=120,  # a hang guard: it stops within seconds
    )
    lines = [line for line in result.logs.splitlines() if "JUPYTER_ALLOW_ORIGIN=" in line]
    print("\n".join(lines))
    assert len(lines) == 1, result.logs
    assert lines[0].startswith(f"[jupyterlab] JUPYTER_ALLOW_ORIGIN={bad}: "), lines
    assert "https://kubeflow.example.com" in lines[0].split(":", 2)[2], lines  # the fix
    assert f"[init] fatal: cont-init script {CHECK} exited 2" in result.logs, result.logs
    assert "Jupyter Server" not in result.logs, result.logs  # Lab never started


def test_a_tolerated_bad_value_allows_no_cross_origin_request(
    containers: TrackedContainers,
) -> None:
    """With S6_BEHAVIOUR_IF_STAGE2_FAILS=1 the container starts despite the bad value: Lab
    then allows the same origin only, never `*`."""
    c = start_lab(
        containers,
        environment={
            "JUPYTER_ALLOW_ORIGIN": "kubeflow.example.com",
            "S6_BEHAVIOUR_IF_STAGE2_FAILS": "1",
        },
        tmpfs=HOME_TMPFS,
    )
    assert "warning: cont-init script " + CHECK in c.logs()
    assert _api(c, FOREIGN)[0] == 404
    assert _api(c, DASHBOARD)[0] == 404
    assert _api(c, SAME)[0] == 200
