"""kfimages.repo.artifacts.check_url against a tiny HTTP server of the test on 127.0.0.1: a file
that is there, a 404, a server that refuses HEAD (then a one-byte GET decides), a server
that refuses both, a closed port, and file:// URLs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from kfimages.repo.artifacts import check_url
from tests.harness.http import free_port

PAYLOAD = b"0123456789"


class _Handler(BaseHTTPRequestHandler):
    """/file: 200 to HEAD, 206 to a ranged GET; /no-head: 405 to HEAD, 206 to GET;
    /refused: 403 to both; anything else: 404. Every request is recorded."""

    seen: ClassVar[list[tuple[str, str, str]]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, method: str) -> None:
        self.seen.append((method, self.path, self.headers.get("Range", "")))
        if self.path == "/refused" or (self.path == "/no-head" and method == "HEAD"):
            self.send_error(403 if self.path == "/refused" else 405)
            return
        if self.path not in ("/file", "/no-head"):
            self.send_error(404)
            return
        ranged = method == "GET" and self.headers.get("Range") == "bytes=0-0"
        self.send_response(206 if ranged else 200)
        body = PAYLOAD[:1] if ranged else PAYLOAD
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method == "GET":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self._answer("HEAD")

    def do_GET(self) -> None:
        self._answer("GET")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """http://127.0.0.1:<port> of a server in a thread; proxies bypassed for loopback."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    _Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_file_that_is_there_needs_only_head(server: str) -> None:
    assert check_url(f"{server}/file", timeout=5) is None
    assert _Handler.seen == [("HEAD", "/file", "")]


def test_404_is_reported_with_the_url(server: str) -> None:
    assert check_url(f"{server}/missing.deb", timeout=5) == (
        f"cannot fetch {server}/missing.deb: HTTP 404"
    )
    # HEAD said 404, and a one-byte GET was tried before giving up
    assert [m for m, _, _ in _Handler.seen] == ["HEAD", "GET"]


def test_head_refused_then_a_one_byte_get_decides(server: str) -> None:
    assert check_url(f"{server}/no-head", timeout=5) is None
    assert _Handler.seen == [("HEAD", "/no-head", ""), ("GET", "/no-head", "bytes=0-0")]


def test_refused_both_ways_reports_the_last_status(server: str) -> None:
    assert check_url(f"{server}/refused", timeout=5) == f"cannot fetch {server}/refused: HTTP 403"


def test_closed_port_cannot_be_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    url = f"http://127.0.0.1:{free_port()}/x.deb"
    problem = check_url(url, timeout=5)
    assert problem is not None
    assert problem.startswith(f"cannot reach {url}: ")


def test_file_urls_and_other_schemes(tmp_path: Path) -> None:
    there = tmp_path / "x.deb"
    there.write_bytes(PAYLOAD)
    assert check_url(there.as_uri()) is None
    assert check_url((tmp_path / "nope.deb").as_uri()) == f"{tmp_path / 'nope.deb'} does not exist"
    assert (
        check_url("ftp://example.invalid/x") == "unsupported URL scheme in ftp://example.invalid/x"
    )
