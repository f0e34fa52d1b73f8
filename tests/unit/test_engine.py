"""kfimages.engine, the one gateway to the Docker CLI: nothing else in the package names the
CLI or imports the SDK; a missing CLI or daemon is one line naming the fix (real CLI, an
address where no daemon listens)."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from kfimages import engine
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
