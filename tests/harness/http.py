"""HTTP and sockets: requests made inside a container (with its curl), listening sockets,
ports of the host."""

from __future__ import annotations

import shlex
import socket

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
