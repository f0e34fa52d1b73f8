"""Which files `nox -s lint` checks (through `invoke lint-files`): every Dockerfile of the
image graph with hadolint, and every shell script (by shebang) of the image folders,
`scripts/`, `.ci/` and `tests/` with shellcheck."""

from __future__ import annotations

from pathlib import Path

from kfimages.repo.graph import Graph

SHELL_DIRS = ("scripts", ".ci", "tests")
"""Folders besides the image folders whose shell scripts are checked."""
SKIP_PARTS = frozenset({"__pycache__", ".git", ".venv", ".nox", "node_modules"})


def dockerfiles(graph: Graph) -> list[str]:
    """Every Dockerfile of the graph (repository-relative)."""
    return sorted({i.dockerfile for i in graph.images.values()})


def shell_of(path: Path) -> str | None:
    """`bash` or `sh` from a script's shebang (with-contenv too), None for other files."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(200).decode("utf-8", "replace").strip()
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    words = first[2:].split()
    if any(w.endswith("bash") for w in words):
        return "bash"
    if any(w.endswith(("/sh", "dash")) or w == "sh" for w in words):
        return "sh"
    return None


def shell_scripts(graph: Graph) -> dict[str, list[str]]:
    """Shell scripts under the image folders, scripts/, .ci/ and tests/, grouped by shell
    (execline and other files are skipped)."""
    folders = {i.folder for i in graph.images.values()}
    dirs = [graph.root / d for d in sorted({*SHELL_DIRS, *folders})]
    candidates = {
        p
        for d in dirs
        if d.is_dir()
        for p in d.rglob("*")
        if p.is_file() and not p.is_symlink() and not SKIP_PARTS & set(p.parts)
    }
    scripts: dict[str, list[str]] = {}
    for path in sorted(candidates):
        shell = shell_of(path)
        if shell is not None:
            scripts.setdefault(shell, []).append(path.relative_to(graph.root).as_posix())
    return scripts


def commands(graph: Graph) -> list[tuple[str, list[str]]]:
    """What `invoke lint-files` runs at the repository root: a line saying what, and the
    command (hadolint with .hadolint.yaml, then shellcheck per shell)."""
    files = dockerfiles(graph)
    out = [(f"hadolint: {len(files)} Dockerfile(s)",
            ["hadolint", "--config", ".hadolint.yaml", *files])]  # fmt: skip
    for shell, scripts in shell_scripts(graph).items():
        out.append((f"shellcheck ({shell}): {len(scripts)} script(s)",
                    ["shellcheck", "--shell", shell, "--external-sources", *scripts]))  # fmt: skip
    return out
