"""A reverse proxy in front of a notebook server, configured like Kubeflow's gateway (Istio).

`GatewayProxy` runs Debian's nginx (`nginx -c FILE -g 'daemon off;'`) on 127.0.0.1 with a
config, pid file, logs and temp paths of its own under a temporary directory, and proxies one
`Route` to a server published on 127.0.0.1 (a container's `-p 127.0.0.1::8888`, the port
Docker picked). What it does to a request is what Kubeflow's VirtualService does:

- Notebooks 1 (`notebooks_v1`): `/notebook/<ns>/<name>/`; the path unchanged (JupyterLab,
  serving under `NB_PREFIX`), or rewritten to `/` (annotation
  `notebooks.kubeflow.org/http-rewrite-uri: /`, code-server and RStudio), with request headers
  set (`notebooks.kubeflow.org/http-headers-request-set`, RStudio's `X-RStudio-Root-Path`).
- Notebooks 2 (`notebooks_v2`): `/workspace/connect/<ns>/<name>/<portId>/`; the prefix kept
  or removed (the WorkspaceKind's `httpProxy.removePathPrefix`), `requestHeaders.set`.
- Either with the client's `Host` header passed on (as Envoy does) or replaced (`host=`): a
  proxy that changes the host name (kubeflow/kubeflow#7658).

WebSocket upgrades pass through. Paths outside the route answer 404. `pages` are static files
the proxy itself serves on the same origin (a "dashboard" page holding the app in an iframe).
Every request is logged; `failures()` / `report()` name those that failed (URL, status), for
the message of a failing test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.http import DIRECT, free_port
from tests.harness.waiting import GiveUp, wait_until

HEALTH_PATH = "/_kfnb-proxy/healthz"
PAGES_PATH = "/_kfnb-proxy/pages/"
LOG_SEPARATOR = "\t"


@dataclass(frozen=True)
class Route:
    """One notebook server behind the gateway.

    prefix: the public path prefix (ends with "/"). upstream_prefix: what replaces it on the
    way to the server (None: the path is passed unchanged). headers: request headers set.
    host: the Host header sent to the server (None: the client's, as Istio/Envoy passes it).
    """

    prefix: str
    upstream_prefix: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    host: str | None = None
    name: str = "route"

    def __post_init__(self) -> None:
        for path in (self.prefix, self.upstream_prefix):
            if path is not None and not (path.startswith("/") and path.endswith("/")):
                raise ValueError(f"a route's paths start and end with '/': {path!r}")

    def with_host(self, host: str) -> Route:
        return Route(self.prefix, self.upstream_prefix, self.headers, host, f"{self.name}+host")


def notebooks_v1(
    namespace: str = "ns",
    name: str = "nb",
    *,
    rewrite_uri: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Route:
    """Kubeflow Notebooks 1: `/notebook/<ns>/<name>/`, rewritten to `rewrite_uri` if given
    (the `http-rewrite-uri` annotation), with `headers` set (`http-headers-request-set`)."""
    return Route(
        prefix=f"/notebook/{namespace}/{name}/",
        upstream_prefix=rewrite_uri,
        headers=dict(headers or {}),
        name="notebooks-v1" + ("-rewrite" if rewrite_uri else ""),
    )


def notebooks_v2(
    namespace: str = "ns",
    name: str = "nb",
    port_id: str = "jupyterlab",
    *,
    remove_prefix: bool,
    headers: Mapping[str, str] | None = None,
) -> Route:
    """Kubeflow Notebooks 2 (WorkspaceKinds): `/workspace/connect/<ns>/<name>/<portId>/`,
    removed when `httpProxy.removePathPrefix` is true, with `requestHeaders.set`."""
    return Route(
        prefix=f"/workspace/connect/{namespace}/{name}/{port_id}/",
        upstream_prefix="/" if remove_prefix else None,
        headers=dict(headers or {}),
        name="notebooks-v2" + ("-remove-prefix" if remove_prefix else ""),
    )


def _quote(value: str) -> str:
    if any(c in value for c in '"\\\n\r$'):
        raise ValueError(f"unsupported character in an nginx value: {value!r}")
    return f'"{value}"'


CLIENT_CLOSED = 499
"""nginx's status of a request the client closed before the answer."""


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    uri: str
    status: int
    upstream_status: str

    def __str__(self) -> str:
        return f"{self.method} {self.uri} -> {self.status} (upstream {self.upstream_status})"


class GatewayProxy:
    """nginx on 127.0.0.1:<free port> in front of 127.0.0.1:`upstream_port`, for `route`.

    Use as a context manager; `url(path)` is the public URL of a path under the route's prefix.
    """

    def __init__(
        self,
        route: Route,
        upstream_port: int,
        *,
        pages: Mapping[str, str] | None = None,
        known_missing: Sequence[str] = (),
    ) -> None:
        """`known_missing`: parts of URLs the app asks for and its server answers 404 also
        without a proxy (not failures of the gateway)."""
        self.route = route
        self.known_missing = tuple(known_missing)
        self.upstream_port = upstream_port
        self.pages = dict(pages or {})
        self.port = 0
        self.dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._mark = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "") -> str:
        """The public URL of `path` (relative, no leading "/") under the route's prefix."""
        return f"{self.origin}{self.route.prefix}{path.lstrip('/')}"

    def page_url(self, name: str) -> str:
        """The URL of one of `pages`, served by the proxy on the same origin."""
        return f"{self.origin}{PAGES_PATH}{name}"

    def config(self) -> str:
        if self.dir is None:
            raise AssertionError("GatewayProxy is not started")
        d = self.dir
        route = self.route
        upstream = f"http://127.0.0.1:{self.upstream_port}"
        # With a URI in proxy_pass nginx replaces the matched location prefix by it.
        proxy_pass = upstream + (route.upstream_prefix or "")
        host = _quote(route.host) if route.host is not None else "$http_host"
        headers = "".join(
            f"            proxy_set_header {name} {_quote(value)};\n"
            for name, value in route.headers.items()
        )
        user = "user root root;\n" if os.geteuid() == 0 else ""
        fields = LOG_SEPARATOR.join(
            ["$request_method", "$request_uri", "$status", "$upstream_status"]
        )
        return f"""# written by tests/harness/proxy.py ({route.name})
{user}worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 512; }}
http {{
    log_format kfnb '{fields}';
    access_log {d}/access.log kfnb;
    client_body_temp_path {d}/tmp/client_body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    types {{ text/html html; }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        '' close;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        location = {HEALTH_PATH} {{ return 200 "ok"; }}
        location {PAGES_PATH} {{ alias {d}/pages/; }}
        location {route.prefix} {{
            proxy_pass {proxy_pass};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host {host};
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
{headers}            proxy_buffering off;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
            client_max_body_size 0;
        }}
        location / {{ return 404; }}
    }}
}}
"""

    def __enter__(self) -> GatewayProxy:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise GiveUp("nginx is not installed: apt-get install nginx (see .ci/run)")
        self.dir = Path(tempfile.mkdtemp(prefix="kfnb-proxy-"))
        self.dir.chmod(0o755)
        (self.dir / "tmp").mkdir()
        pages = self.dir / "pages"
        pages.mkdir()
        for name, content in self.pages.items():
            (pages / name).write_text(content)
        self.port = free_port()
        conf = self.dir / "nginx.conf"
        conf.write_text(self.config())
        check = subprocess.run(
            [binary, "-t", "-q", "-c", str(conf), "-p", str(self.dir), "-e", "stderr"],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0:
            raise AssertionError(f"nginx refuses {conf}: {check.stderr}\n{conf.read_text()}")
        self._process = subprocess.Popen(
            [
                binary,
                "-c",
                str(conf),
                "-p",
                str(self.dir),
                "-e",
                str(self.dir / "error.log"),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_until(self._answers, timeout=20, interval=0.1, message=f"nginx on {self.origin}")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _answers(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise GiveUp(f"nginx exited {self._process.returncode}: {self.error_log()[-2000:]}")
        with DIRECT.open(self.origin + HEALTH_PATH, timeout=2) as response:
            return bool(response.status == 200)

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()  # nginx's fast shutdown; its workers follow the master
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._process.pid, 9)
                self._process.wait(timeout=20)
            self._process = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    # --- what went through ----------------------------------------------------------------

    def error_log(self) -> str:
        if self.dir is None or not (self.dir / "error.log").exists():
            return ""
        return (self.dir / "error.log").read_text(errors="replace")

    def requests(self) -> list[LoggedRequest]:
        if self.dir is None or not (self.dir / "access.log").exists():
            return []
        logged = []
        for line in (self.dir / "access.log").read_text(errors="replace").splitlines():
            parts = line.split(LOG_SEPARATOR)
            if len(parts) == 4 and parts[2].isdigit():
                logged.append(LoggedRequest(parts[0], parts[1], int(parts[2]), parts[3]))
        return logged

    def websockets(self, *, timeout: float = 15) -> list[LoggedRequest]:
        """The WebSockets that went through the route (logged with status 101 when they
        close: call this after the browser is gone); waits up to `timeout` for the first."""

        def logged() -> list[LoggedRequest]:
            return [r for r in self.requests()[self._mark :] if r.status == 101]

        try:
            return wait_until(logged, timeout=timeout, interval=0.2, message="a WebSocket")
        except AssertionError:
            return []

    def mark(self) -> None:
        """From now on: `failures()` and `report()` look at later requests only (e.g. once
        the server is up, so that the 502s of waiting for it do not count)."""
        self._mark = len(self.requests())

    def failures(self) -> list[LoggedRequest]:
        """Requests through the route since `mark()` that failed: status 400 and above (502:
        no answer from the server). A WebSocket nginx proxied is logged with 101. Not a
        failure: nginx's 499 with no upstream status, a request the browser itself dropped
        before the server answered (it quit at the end of the test while the Lab was opening
        another kernel channel: seen once in CI, after the cell had run through the proxy)."""
        return [
            r
            for r in self.requests()[self._mark :]
            if r.uri.startswith(self.route.prefix.rstrip("/"))
            and r.status >= 400
            and not (r.status == 404 and any(part in r.uri for part in self.known_missing))
            and not (r.status == CLIENT_CLOSED and r.upstream_status == "-")
        ]

    def report(self) -> str:
        """For a failing test's message: the failed requests, else the last ones."""
        failed = self.failures()
        shown = failed or self.requests()[-15:]
        title = "failed requests" if failed else "no failed request; the last ones"
        lines = "\n".join(f"  {r}" for r in shown[-30:])
        errors = "\n".join(
            f"  {line}" for line in self.error_log().splitlines() if "[error]" in line
        )
        errors = f"\nnginx's errors:\n{errors[-1500:]}" if errors else ""
        return f"through {self.route.name} proxy {self.origin} ({title}):\n{lines}{errors}"

    def get(self, path: str, *, timeout: float = 20) -> tuple[int, str]:
        """GET the public URL of `path` from the host; (status, body)."""
        url = self.url(path)
        try:
            with DIRECT.open(url, timeout=timeout) as response:
                return int(response.status), response.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")
