"""kfimages.engine, the one gateway to the Docker CLI: nothing else in the package names the
CLI or imports the SDK; a missing CLI or daemon is one line naming the fix (real CLI, an
address where no daemon listens)."""

from __future__ import annotations

import ast
import http.server
import json
import shutil
import socketserver
import threading
from pathlib import Path

import pytest

from kfimages import engine, engine_api
from kfimages.bench.memory import parse_mem_usage
from kfimages.errors import UserError

PACKAGE = Path(engine.__file__).resolve().parent


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p != Path(engine.__file__).resolve())


def docker_uses(source: str, *, name: str) -> list[str]:
    """Each `"docker"` string (an argv word) and `import docker` of a module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and node.value == "docker":
            found.append(f"{name}:{node.lineno}: 'docker'")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            imported = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            if any(module.split(".")[0] == "docker" for module in imported):
                found.append(f"{name}:{node.lineno}: import docker")
    return found


def test_only_the_gateway_names_the_docker_cli() -> None:
    """A second way to the engine (the CLI run by hand, the SDK) outside engine.py."""
    modules = _modules()
    assert len(modules) > 20, "the scan looks in the wrong place"
    found = [
        use
        for path in modules
        for use in docker_uses(
            path.read_text(encoding="utf-8"), name=str(path.relative_to(PACKAGE))
        )
    ]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        'import subprocess\nsubprocess.run(["docker", "ps"], check=False)\n',
        "import docker\n",
        "from docker.errors import NotFound\n",
    ],
)
def test_the_scan_finds_a_second_way(source: str) -> None:
    assert docker_uses(source, name="m.py")


def test_command_names_the_cli_once() -> None:
    assert engine.command("buildx", "build", ".") == ["docker", "buildx", "build", "."]


@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker CLI (no daemon)")
def test_no_daemon_is_one_line_naming_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real CLI against an address where no daemon listens: every query says so, instead
    of reading "no such image"."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/kfimages-test.sock")
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    with pytest.raises(UserError, match=r"daemon is not running; run: bash scripts/install"):
        engine.inspect_image("kfimages-test/none:never")
    with pytest.raises(UserError, match="daemon is not running"):
        engine.run("ps")


def test_no_cli_is_one_line_naming_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match=r"docker CLI is not installed; run: bash scripts/"):
        engine.image_labels("any/image:tag")
    with pytest.raises(UserError, match="docker CLI is not installed"):
        engine.stream(engine.command("buildx", "build", "."))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("73.4MiB / 23.54GiB", round(73.4 * 2**20)),
        ("512KiB / 1GiB", 512 * 1024),
        ("1.5GiB / 2GiB", round(1.5 * 2**30)),
        ("0B / 0B", 0),
        ("12MB / 1GB", 12_000_000),
    ],
)
def test_parse_mem_usage(text: str, expected: int) -> None:
    assert parse_mem_usage(text) == expected


@pytest.mark.parametrize("text", ["", "--", "12 parsecs / 1GiB"])
def test_parse_mem_usage_refuses_other_text(text: str) -> None:
    with pytest.raises(ValueError, match="MemUsage"):
        parse_mem_usage(text)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, engine_api.DEFAULT_SOCKET),
        ({"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}, "/run/user/1000/docker.sock"),
        ({"DOCKER_HOST": "tcp://127.0.0.1:2375"}, None),
        ({"DOCKER_HOST": "ssh://builder"}, None),
        ({"DOCKER_CONTEXT": "remote"}, None),
    ],
)
def test_the_api_socket_is_the_cli_s_only_where_that_is_plain(
    environ: dict[str, str], expected: str | None
) -> None:
    assert engine_api.engine_socket(environ) == expected


class _FakeEngine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """A real HTTP server on a unix socket that answers inspect as the engine does."""

    daemon_threads = True


def _serve_engine(path: Path, answers: dict[str, tuple[int, object]]) -> _FakeEngine:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = answers.get(self.path, (404, {"message": "No such container"}))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def address_string(self) -> str:  # a unix socket has no host
            return "unix"

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = _FakeEngine(str(path), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_published_port_comes_from_one_api_request_without_a_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bench asks for the port while the start it measures runs: one request on the
    engine's socket, no `docker` process (the CLI is made unusable here to show it)."""
    sock = tmp_path / "engine.sock"
    ports = {"8888/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49321"}]}
    server = _serve_engine(
        sock, {"/containers/kfnb-bench-x/json": (200, {"NetworkSettings": {"Ports": ports}})}
    )
    try:
        monkeypatch.setenv("DOCKER_HOST", f"unix://{sock}")
        monkeypatch.setattr(engine, "DOCKER", str(tmp_path / "no-docker-cli"))
        assert engine.published_port("kfnb-bench-x", 8888) == 49321
        # Anything but a 200 with that port is not an answer: the CLI is asked (and is missing).
        for name in ("kfnb-bench-gone", "kfnb-bench-x"):
            port = 8888 if name.endswith("gone") else 9999
            with pytest.raises(UserError, match="docker CLI is not installed"):
                engine.published_port(name, port)
    finally:
        server.shutdown()
        server.server_close()


def test_no_engine_on_the_socket_means_no_answer(tmp_path: Path) -> None:
    assert engine_api.api_get("/containers/x/json", sock=str(tmp_path / "none.sock")) is None
    assert engine_api.api_get("/containers/x/json", sock=None) is None
