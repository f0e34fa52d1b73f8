"""The Docker engine's API on its unix socket, for the one query that must start no program:
the port the engine published for a container (kfimages.engine.published_port), which the bench
reads while the start it measures runs. A `docker port` started then took 9 ms of a container's
first 30 ms, all of /init's start (measured: bench/README.md). Everything else goes through the
CLI (kfimages.engine)."""

from __future__ import annotations

import http.client
import json
import os
import socket
from collections.abc import Mapping
from typing import Any

DEFAULT_SOCKET = "/var/run/docker.sock"
API_TIMEOUT_S = 5.0


def engine_socket(environ: Mapping[str, str] = os.environ) -> str | None:
    """The unix socket of the engine the CLI talks to, where that is plain: DOCKER_HOST
    `unix://PATH`, or neither DOCKER_HOST nor DOCKER_CONTEXT set (the default socket). None
    for a TCP or SSH host or a named context: only the CLI knows where those lead."""
    host = environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        return host.removeprefix("unix://")
    if host or environ.get("DOCKER_CONTEXT"):
        return None
    return DEFAULT_SOCKET


class _UnixConnection(http.client.HTTPConnection):
    """HTTP to the engine's API on a unix socket."""

    def __init__(self, path: str, *, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def api_get(path: str, *, sock: str | None) -> Any:
    """GET `path` of the engine's API on the unix socket `sock`, decoded; None when there is no
    socket, no answer, or not a 200 (the caller then asks the CLI)."""
    if sock is None:
        return None
    connection = _UnixConnection(sock, timeout=API_TIMEOUT_S)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    if response.status != 200:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def published_port(container: str, port: int, *, sock: str | None) -> int | None:
    """The first host port of the container's tcp `port` in the engine's answer, if any."""
    inspected = api_get(f"/containers/{container}/json", sock=sock)
    try:
        bindings = inspected["NetworkSettings"]["Ports"][f"{port}/tcp"] or []
        return int(bindings[0]["HostPort"])
    except (TypeError, KeyError, IndexError, ValueError):
        return None
