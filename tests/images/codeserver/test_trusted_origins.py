"""CODE_SERVER_TRUSTED_ORIGINS: which pages may open code-server's WebSocket (README.md,
"Trusted origins"). Unset: any origin (`*`, upstream's default). Set to the dashboard's
origin: a WebSocket from a foreign Origin is refused (403), the dashboard's accepted (101),
as is a same-origin one. Requests are made inside the container (curl), to 127.0.0.1:8888.
"""

from __future__ import annotations

import shlex
import uuid

import pytest

from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.harness.http import wait_for_http

PORT = 8888
DASHBOARD = "https://kubeflow.example.com"
FOREIGN = "https://evil.example.org"
SAME = f"http://127.0.0.1:{PORT}"


def _websocket_status(container: TrackedContainer, origin: str) -> str:
    """The status line code-server answers to a WebSocket upgrade of VS Code's connection,
    sent with `Origin: origin`."""
    url = (
        f"http://127.0.0.1:{PORT}/?reconnectionToken={uuid.uuid4()}&reconnection=false"
        "&skipWebSocketFrames=false"
    )
    out = container.exec(
        "curl -s -i --max-time 5 -H 'Connection: Upgrade' -H 'Upgrade: websocket' "
        "-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "
        f"-H {shlex.quote(f'Origin: {origin}')} {shlex.quote(url)} | head -n1",
    ).stdout
    return out.strip()


def _start(containers: TrackedContainers, trusted: str | None) -> TrackedContainer:
    env = {} if trusted is None else {"CODE_SERVER_TRUSTED_ORIGINS": trusted}
    c = containers.run(environment=env, tmpfs={"/home/jovyan": "uid=1000,gid=0,mode=0775"})
    wait_for_http(c, f"http://127.0.0.1:{PORT}/healthz", timeout=120)
    return c


@pytest.mark.parametrize(
    "trusted",
    [DASHBOARD, f"https://other.example.org, {DASHBOARD}:443/"],
    ids=["dashboard", "list-with-default-port"],
)
def test_set_to_the_dashboard_refuses_a_foreign_origin(
    containers: TrackedContainers, trusted: str
) -> None:
    c = _start(containers, trusted)
    foreign = _websocket_status(c, FOREIGN)
    dashboard = _websocket_status(c, DASHBOARD)
    same = _websocket_status(c, SAME)
    print(f"{trusted!r}: foreign {foreign!r}, dashboard {dashboard!r}, same origin {same!r}")
    assert " 403 " in foreign, foreign
    assert " 101 " in dashboard, dashboard
    assert " 101 " in same, same


def test_unset_accepts_any_origin(containers: TrackedContainers) -> None:
    c = _start(containers, None)
    foreign = _websocket_status(c, FOREIGN)
    assert " 101 " in foreign, foreign
