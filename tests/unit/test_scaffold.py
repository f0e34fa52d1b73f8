"""`invoke new` (kfimages.author.scaffold): what it writes, and bad input that writes nothing.

The name is hyphenated, as upstream's siblings are (`jupyter-scipy`, `codeserver-python`):
its test folder is then no Python package (pyproject.toml's mypy note), which a name without
`-` would not exercise. tests/integration/test_scaffold.py lints, builds and smoke-tests one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kfimages.author.chart import END, START, check_chart
from kfimages.author.scaffold import plan_scaffold, write_scaffold
from kfimages.errors import UserError
from kfimages.repo.graph import load_graph
from tests.unit.conftest import Repo
from tests.unit.invoke_cli import run_invoke

NAME = "demo-ide"
NEW_FOLDER = [
    "demo-ide/Dockerfile",
    "demo-ide/s6/services.d/demo-ide/run",
    "demo-ide/image.yaml",
    "demo-ide/README.md",
    "tests/images/demo-ide/test_demo_ide.py",
    "README.md",
]
"""What `invoke new demo-ide` writes: no tests/images/demo-ide/__init__.py (mypy refuses a
package named `demo-ide`), so test_demo_ide.py is a top-level module."""
PROJECT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).parent / "ruff"


@pytest.fixture
def repo_with_chart(chain: Repo) -> Repo:
    """The chain repository (base, jupyter, codeserver, pytorch.cpu/.cuda) with chart markers."""
    chain.write("README.md", f"# images\n\n{START}\n{END}\n")
    chain.write("base/image.yaml", "size_budget_mb: 300\n")
    chain.commit("chart markers")
    return chain


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root except .git: content and mode."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mode)
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def test_plan_of_a_new_folder(repo_with_chart: Repo) -> None:
    files = plan_scaffold(repo_with_chart.graph(), name=NAME, parent="base", variant=None)
    assert list(files) == NEW_FOLDER
    assert files["demo-ide/s6/services.d/demo-ide/run"].mode == 0o755
    assert files["demo-ide/Dockerfile"].mode == 0o644
    dockerfile = files["demo-ide/Dockerfile"].text
    assert "ARG BASE_IMG=base\nFROM $BASE_IMG\n" in dockerfile
    assert 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]' in dockerfile
    assert "org.opencontainers.image.description=" in dockerfile
    assert "image.title" not in dockerfile, "the build sets the title (--label)"
    assert "COPY --chown=1000:0 s6/ /etc/" in dockerfile
    assert dockerfile.endswith("USER 1000\n")
    assert files["demo-ide/image.yaml"].text.count("\nsize_budget_mb: 300\n") == 1
    run = files["demo-ide/s6/services.d/demo-ide/run"].text
    assert run.startswith("#!/command/with-contenv bash\n")
    assert run.endswith("exec sleep infinity\n")
    assert 'SERVICE = "demo-ide"' in files["tests/images/demo-ide/test_demo_ide.py"].text
    assert '["demo-ide"]' in files["README.md"].text
    assert not (repo_with_chart.root / NAME).exists(), "planning writes nothing"


@pytest.mark.parametrize(
    ("name", "package"),
    [("myide", True), ("my_ide", True), ("1ide", False), ("class", False), ("a-b", False)],
)
def test_a_test_folder_is_a_package_only_when_python_can_import_it(
    repo_with_chart: Repo, name: str, package: bool
) -> None:
    files = plan_scaffold(repo_with_chart.graph(), name=name, parent="base")
    module = f"tests/images/{name}/test_{name.replace('-', '_')}.py"
    assert module in files
    assert (f"tests/images/{name}/__init__.py" in files) is package


def test_the_written_test_module_is_ruff_clean(repo_with_chart: Repo) -> None:
    """With this project's ruff settings (mypy --strict over it, which needs the harness, runs
    in tests/integration/test_scaffold.py)."""
    write_scaffold(repo_with_chart.graph(), name=NAME, parent="jupyter", variant="gpu")
    config = str(PROJECT / "pyproject.toml")
    tests = repo_with_chart.root / "tests/images" / NAME
    for argv in (["check"], ["format", "--check"]):
        done = subprocess.run(
            [str(RUFF), *argv, "--config", config, "--no-cache", str(tests)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_write_makes_an_image_that_only_it_affects(repo_with_chart: Repo) -> None:
    written = write_scaffold(repo_with_chart.graph(), name=NAME, parent="jupyter")
    assert written == NEW_FOLDER
    graph = load_graph(repo_with_chart.root)
    image = graph.get(NAME)
    assert (image.parent, image.dockerfile, image.config.size_budget_mb) == (
        "jupyter",
        "demo-ide/Dockerfile",
        None,
    )
    assert os.access(repo_with_chart.root / "demo-ide/s6/services.d/demo-ide/run", os.X_OK)
    assert not (repo_with_chart.root / "tests/images/demo-ide/__init__.py").exists()
    assert check_chart(repo_with_chart.root) is None
    assert repo_with_chart.affected("HEAD") == [NAME]  # the new files are untracked


def test_variant_in_a_new_folder(repo_with_chart: Repo) -> None:
    written = write_scaffold(repo_with_chart.graph(), name=NAME, parent="base", variant="gpu")
    assert written == ["demo-ide/gpu.Dockerfile", *NEW_FOLDER[1:]]
    image = load_graph(repo_with_chart.root).get("demo-ide.gpu")
    assert (image.parent, image.repository) == ("base", "demo-ide-gpu")
    text = (repo_with_chart.root / "demo-ide/gpu.Dockerfile").read_text(encoding="utf-8")
    assert "Kubeflow notebook server image: demo-ide.gpu on base" in text
    assert "image.title" not in text
    module = (repo_with_chart.root / "tests/images/demo-ide/test_demo_ide.py").read_text()
    assert "pytest tests/images --image demo-ide.gpu" in module


@pytest.mark.parametrize("has_s6", [True, False], ids=["with-s6", "without-s6"])
def test_variant_added_to_an_existing_folder(repo_with_chart: Repo, has_s6: bool) -> None:
    if has_s6:
        repo_with_chart.write("pytorch/s6/services.d/x/run", "#!/bin/sh\nexec sleep 1\n")
    written = write_scaffold(
        repo_with_chart.graph(), name="pytorch", parent="jupyter", variant="rocm"
    )
    assert written == ["pytorch/rocm.Dockerfile", "README.md"], "shared files are not touched"
    assert load_graph(repo_with_chart.root).get("pytorch.rocm").parent == "jupyter"
    text = (repo_with_chart.root / "pytorch/rocm.Dockerfile").read_text(encoding="utf-8")
    assert ("COPY --chown=1000:0 s6/ /etc/" in text) is has_s6


ALL_NAMES = "base, codeserver, jupyter, pytorch.cpu, pytorch.cuda"
BAD_INPUT = {
    "no-name": ("", "base", None, "name the new image: invoke new NAME --parent PARENT"),
    "upper-case": ("MyIDE", "base", None, "'MyIDE' is not a valid image name; use lower-case"),
    "dot": ("my.ide", "base", None, "for a variant write: invoke new my --variant ide --parent"),
    "pseudo-name": ("all", "base", None, "'all' is a pseudo-name of `invoke build`"),
    "pseudo-name-2": ("affected", "base", None, "'affected' is a pseudo-name of `invoke build`"),
    "existing-image": ("jupyter", "base", None, "image folder 'jupyter/' already exists; choose"),
    "existing-other": ("docs", "base", None, "'docs' already exists and is not an image folder"),
    "no-parent": ("myide", "", None, f"--parent is required; choose one of: {ALL_NAMES}"),
    "unknown-parent": ("myide", "nope", None, "unknown parent 'nope'; choose one of: base, "),
    "external-parent": ("myide", "debian:trixie-slim", None, "unknown parent 'debian:trixie"),
    "bad-variant": ("myide", "base", "GPU", "'GPU' is not a valid variant name"),
    "existing-variant": ("pytorch", "base", "cpu", "image 'pytorch.cpu' already exists"),
    "same-repository": ("pytorch-cpu", "base", None, "repository 'pytorch-cpu', which 'pytorch"),
    "left-over-tests": ("leftover", "base", None, "tests/images/leftover/ already exists; remove"),
    "same-test-module": (
        "left-over",
        "base",
        "gpu",
        "tests/images/leftover/test_left_over.py already exists, and tests/images/left-over/ (no",
    ),
}


@pytest.mark.parametrize(
    ("name", "parent", "variant", "message"), BAD_INPUT.values(), ids=BAD_INPUT
)
def test_bad_input_is_one_line_and_writes_nothing(
    repo_with_chart: Repo, name: str, parent: str, variant: str | None, message: str
) -> None:
    repo_with_chart.write("tests/images/leftover/test_left_over.py", "")
    before = _tree(repo_with_chart.root)
    with pytest.raises(UserError) as caught:
        write_scaffold(repo_with_chart.graph(), name=name, parent=parent, variant=variant)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert _tree(repo_with_chart.root) == before


def test_readme_without_chart_markers_writes_nothing(chain: Repo) -> None:
    before = _tree(chain.root)
    with pytest.raises(UserError, match="no \\(or more than one\\) image chart markers"):
        write_scaffold(chain.graph(), name=NAME, parent="base")
    assert _tree(chain.root) == before


def test_cli_writes_and_reports_bad_input_in_one_line(repo_with_chart: Repo) -> None:
    done = run_invoke(repo_with_chart, "new", NAME, "--parent", "base", "--variant", "gpu")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["demo-ide/gpu.Dockerfile", *NEW_FOLDER[1:]]
    before = _tree(repo_with_chart.root)
    again = run_invoke(repo_with_chart, "new", NAME, "--parent", "base")
    assert again.returncode == 2
    assert again.stderr.splitlines() == [
        "error: image folder 'demo-ide/' already exists; choose another name, "
        "or add a variant to it with --variant V"
    ]
    reserved = run_invoke(repo_with_chart, "new", "affected", "--parent", "base")
    assert reserved.returncode == 2
    assert reserved.stderr.splitlines() == [
        "error: 'affected' is a pseudo-name of `invoke build`; choose another name"
    ]
    assert _tree(repo_with_chart.root) == before
