"""The package's layout (kfimages/__init__.py): stages import only downward, modules stay small.

A module imports from its own stage, from an earlier stage, or from the shared modules at
the top of the package; a shared module imports no stage. Read from the source with `ast`,
so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "kfimages"
STAGES = ("repo", "build", "ship", "verify", "author", "bench")
"""The subpackages, earlier first (the order of kfimages/__init__.py's docstring)."""
MAX_LINES = 350


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _stage_of(path: Path) -> str | None:
    """The stage of a module of the package, None for a shared (top-level) module."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else None


def _imported_stages(path: Path) -> set[str]:
    """The stages a module imports from (`from kfimages.build... import`, `from kfimages
    import build`, `import kfimages.build...`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "kfimages":
                names = [f"kfimages.{alias.name}" for alias in node.names]
            else:
                names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "kfimages" and len(parts) > 1 and parts[1] in STAGES:
                found.add(parts[1])
    return found


def test_every_subpackage_is_a_known_stage() -> None:
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    unknown = subpackages - set(STAGES)
    assert not unknown, f"add {sorted(unknown)} to STAGES here and to kfimages/__init__.py"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_downward_only(path: Path) -> None:
    stage = _stage_of(path)
    allowed = set(STAGES[: STAGES.index(stage) + 1]) if stage else set()
    upward = _imported_stages(path) - allowed
    where = f"stage {stage}" if stage else "a shared module"
    assert not upward, f"{where} imports from later stage(s) {sorted(upward)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{lines} lines: split it by job (at most {MAX_LINES})"


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The import reader itself: an upward import in any spelling is found."""
    module = tmp_path / "m.py"
    module.write_text(
        "from kfimages import ship\n"
        "def f():\n    from kfimages.verify.smoke import x\n"
        "import kfimages.author.chart\n",
        encoding="utf-8",
    )
    assert _imported_stages(module) == {"ship", "verify", "author"}
