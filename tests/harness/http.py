"""HTTP and sockets: requests made inside a container (with its curl), listening sockets,
ports of the host."""

from __future__ import annotations

import shlex
import socket
import urllib.error
import urllib.request

from tests.harness.containers import TrackedContainer

_BODY_FILE = "/tmp/.smoke-http-body"


def http_get(
    container: TrackedContainer,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: int = 20,
) -> tuple[int, str]:
    """GET `url` from inside the container with curl; (status code, body). Status 0 = no answer."""
    header_args = " ".join(f"-H {shlex.quote(f'{k}: {v}')}" for k, v in (headers or {}).items())
    out = container.exec(
        f"curl -s -o {_BODY_FILE} -w '%{{http_code}}' --max-time {timeout} {header_args} "
        f"{shlex.quote(url)}; echo; cat {_BODY_FILE} 2>/dev/null; rm -f {_BODY_FILE}",
        timeout=timeout + 5,
        check=False,
    ).stdout
    status_line, _, body = out.partition("\n")
    try:
        status = int(status_line.strip() or 0)
    except ValueError:
        status = 0
    return status, body


def wait_for_http(
    container: TrackedContainer, url: str, *, timeout: float = 60, status: int = 200
) -> str:
    """Wait until `url` (requested inside the container) answers `status`; the body. Ends at
    once when the container stops or one of its services fails."""

    def probe() -> str | None:
        code, body = http_get(container, url)
        return body or " " if code == status else None

    return container.wait_until(probe, timeout=timeout, message=f"{url} to answer {status}")


DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""No HTTP(S)_PROXY of the environment for requests to 127.0.0.1."""


def wait_for_published(
    container: TrackedContainer, port: int, path: str, *, timeout: float = 60
) -> int:
    """Wait until `path` answers 200 from the host, on the 127.0.0.1 port Docker published for
    the container's `port`; that host port. Ready as the platform sees it: Kubernetes routes
    to a pod once its server answers from outside the container (a readiness probe through
    the pod's network), not when it answers inside. The first request a test sends through
    its gateway proxy got a 502 in CI (3 runs of 4 under two parallel suites) right after the
    server answered inside the container."""
    host_port = container.host_port(port)
    url = f"http://127.0.0.1:{host_port}{path}"

    def probe() -> bool:
        try:
            with DIRECT.open(url, timeout=5) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    container.wait_until(probe, timeout=timeout, message=f"{url} (published) to answer 200")
    return host_port


def assert_listens_on_all_interfaces(container: TrackedContainer, port: int) -> None:
    """A socket of the container LISTENs (state 0A) on 0.0.0.0:port or [::]:port."""
    tcp = container.exec("cat /proc/net/tcp /proc/net/tcp6").stdout
    listening = [line.split()[1] for line in tcp.splitlines()[1:] if line.split()[3:4] == ["0A"]]
    assert any(
        addr.endswith(f":{port:04X}") and set(addr.split(":")[0]) == {"0"} for addr in listening
    ), f"nothing listens on all interfaces on port {port}: {listening}"


def free_port() -> int:
    """A loopback TCP port nobody listens on right now, for a process of the host (nginx, a
    registry). A container's port is published with `containers.loopback` instead, on a port
    Docker picks."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
