"""A reverse proxy in front of the real test registry (tests/harness/registry.py) that answers
HTTP 500 to the requests a `Fault` matches, for push retry tests.

`FaultyProxy` is a ThreadingHTTPServer on a free 127.0.0.1 port (the engine pushes to any
127.0.0.0/8 registry over plain http); every other request goes to the registry as it came:
method, path, headers (Host included, so the registry's upload `Location`s name the proxy),
and the body streamed (a `Content-Length` body in pieces, a chunked one re-chunked), and the
answer streams back the same way. `faults` can change while it runs; `log` holds
`METHOD PATH STATUS` of every request.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.harness.http import free_port

PIECE = 1 << 16
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


@dataclass
class Fault:
    """Answer 500 to `method` requests whose path matches `path` (a regex), `times` times
    (None: always); `hits` counts the answers given."""

    method: str
    path: str
    times: int | None = None
    hits: int = 0

    def takes(self, method: str, path: str) -> bool:
        if method != self.method or not re.search(self.path, path.split("?", 1)[0]):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


class FaultyProxy:
    """Forwards to `upstream` (`host:port`) on 127.0.0.1:`port`, failing what `faults` match."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.log: list[str] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fault(self, method: str, path: str) -> bool:
        with self.lock:
            return any(f.takes(method, path) for f in self.faults)


def _handler(proxy: FaultyProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _forward(self) -> None:
            if proxy.fault(self.command, self.path):
                self._drain()
                body = b'{"errors":[{"code":"UNKNOWN","message":"injected by the test proxy"}]}'
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                proxy.log.append(f"{self.command} {self.path} 500 (injected)")
                return
            upstream = http.client.HTTPConnection(proxy.upstream, timeout=300)
            try:
                upstream.putrequest(self.command, self.path, skip_host=True,
                                    skip_accept_encoding=True)  # fmt: skip
                chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
                for key, value in self.headers.items():
                    if key.lower() not in _HOP_BY_HOP:
                        upstream.putheader(key, value)
                if chunked:
                    upstream.putheader("Transfer-Encoding", "chunked")
                upstream.endheaders()
                for piece in self._body():
                    upstream.send(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
                if chunked:
                    upstream.send(b"0\r\n\r\n")
                answer = upstream.getresponse()
                self._answer(answer)
                proxy.log.append(f"{self.command} {self.path} {answer.status}")
            finally:
                upstream.close()

        def _body(self) -> Iterator[bytes]:
            """The request body, in pieces as they come (decoded when chunked)."""
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    yield self.rfile.read(size)
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            left = int(self.headers.get("Content-Length") or 0)
            while left > 0 and (piece := self.rfile.read(min(PIECE, left))):
                yield piece
                left -= len(piece)

        def _drain(self) -> None:
            for _ in self._body():
                pass

        def _answer(self, answer: http.client.HTTPResponse) -> None:
            self.send_response_only(answer.status, answer.reason)
            length = answer.getheader("Content-Length")
            for key, value in answer.getheaders():
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            no_body = self.command == "HEAD" or answer.status in (204, 304)
            if length is None and not no_body:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if no_body:
                return
            while piece := answer.read1(PIECE):
                self.wfile.write(piece if length else b"%x\r\n%b\r\n" % (len(piece), piece))
            if length is None:
                self.wfile.write(b"0\r\n\r\n")

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward

    return Handler
