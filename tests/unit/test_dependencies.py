"""Each dependency is declared where it is used: the package talks to Docker through the CLI
(kfimages.engine), never the docker SDK; the tests use the SDK through one fixture."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDK_FIXTURE = "tests/images/conftest.py"
CALLS = ("docker.from_env(", "DockerClient(")
"""Ways to make a docker SDK client."""


def _imports(path: Path) -> set[str]:
    """Top-level names of the modules a Python file imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_package_does_not_import_the_docker_sdk() -> None:
    users = [
        str(p.relative_to(ROOT)) for p in sorted((ROOT / "kfimages").rglob("*.py"))
        if "docker" in _imports(p)
    ]  # fmt: skip
    assert users == [], "the package calls the Docker CLI through kfimages.engine"


def test_the_docker_sdk_is_a_test_dependency_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "docker" not in project["dependencies"]
    assert "docker" in project["optional-dependencies"]["test"]


def test_tests_get_their_sdk_client_from_the_fixture() -> None:
    callers = [
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "tests").rglob("*.py"))
        if p != Path(__file__) and any(call in p.read_text(encoding="utf-8") for call in CALLS)
    ]
    assert callers == [SDK_FIXTURE], "take the `docker_client` fixture instead"
