"""nox sessions: lint, tests (fast, no Docker), integration, build and smoke (need Docker).

`nox` alone runs lint and tests. The README's test command (`bash scripts/test.sh`)
runs lint, tests, integration and smoke in that order.
Tools come from requirements.txt (pinned); Docker sessions (`python=False`) run in
the interpreter nox itself runs in (the project's .venv).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
REQUIREMENTS = str(ROOT / "requirements.txt")
SHELL_DIRS = ("scripts", ".ci", "tests")
BASE_REF_ENV = "KFIMAGES_BASE_REF"
NO_TESTS_COLLECTED = 5
EXIT_BLOCKED = 3  # kfimages.build.EXIT_BLOCKED (not imported: lint/tests venvs are separate)

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


def _image_files() -> tuple[list[str], list[str]]:
    """Every Dockerfile of the image graph and every image folder (discovery errors fail)."""
    sys.path.insert(0, str(ROOT))
    from kfimages.graph import load_graph  # noqa: PLC0415 (needs ROOT on sys.path)

    images = load_graph(ROOT).images.values()
    return sorted({i.dockerfile for i in images}), sorted({i.folder for i in images})


def _shell_of(path: Path) -> str | None:
    """`bash` or `sh` from a script's shebang (with-contenv too), None for other files."""
    try:
        first = path.read_text(encoding="utf-8", errors="replace").splitlines()[0]
    except (IndexError, OSError):
        return None
    if not first.startswith("#!"):
        return None
    words = first[2:].split()
    if any(w.endswith("bash") for w in words):
        return "bash"
    if any(w.endswith(("/sh", "dash")) or w == "sh" for w in words):
        return "sh"
    return None


def _shell_scripts(folders: list[str]) -> dict[str, list[str]]:
    """Shell scripts (by shebang) under scripts/, .ci/, tests/ and every image folder (so every
    s6 script), grouped by shell; execline and other files are skipped."""
    dirs = [ROOT / d for d in (*SHELL_DIRS, *folders)]
    candidates = {p for d in dirs for p in d.rglob("*") if p.is_file() and not p.is_symlink()}
    scripts: dict[str, list[str]] = {}
    for path in sorted(candidates):
        shell = _shell_of(path)
        if shell is not None:
            scripts.setdefault(shell, []).append(str(path.relative_to(ROOT)))
    return scripts


@nox.session
def lint(session: nox.Session) -> None:
    """hadolint every Dockerfile, shellcheck every shell script, ruff check + format, mypy."""
    session.install("-r", REQUIREMENTS)
    dockerfiles, folders = _image_files()
    session.log(f"hadolint: {len(dockerfiles)} Dockerfile(s)")
    if dockerfiles:
        session.run("hadolint", "--config", ".hadolint.yaml", *dockerfiles)
    for shell, scripts in _shell_scripts(folders).items():
        session.log(f"shellcheck ({shell}): {len(scripts)} script(s)")
        session.run("shellcheck", "--shell", shell, "--external-sources", *scripts)
    session.run("ruff", "check", *session.posargs, ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    session.run("mypy", "--strict", "tasks.py", "noxfile.py")


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests of the build system (throwaway git repos, no Docker), fast."""
    session.install("-r", REQUIREMENTS)
    session.run("pytest", "tests/unit", "-q", *session.posargs)


@nox.session(python=False, default=False)
def integration(session: nox.Session) -> None:
    """Integration tests of `invoke build` with the real Docker Engine (throwaway images)."""
    session.run(sys.executable, "-m", "pytest", "tests/integration", "-q", *session.posargs)


@nox.session(python=False, default=False)
def build(session: nox.Session) -> None:
    """Build images: posargs are `invoke build` arguments (NAMES, --affected --base REF, ...)."""
    if not session.posargs:
        session.error("name the images (comma-separated) or pass --affected --base REF")
    session.run(
        sys.executable,
        "-m",
        "invoke",
        "build",
        *session.posargs,
        success_codes=[0, EXIT_BLOCKED],
    )


def _smoke_selection(session: nox.Session) -> list[str]:
    """Images named in posargs, or affected since `--base REF` / $KFIMAGES_BASE_REF."""
    args = list(session.posargs)
    base = os.environ.get(BASE_REF_ENV, "")
    if "--base" in args:
        index = args.index("--base")
        base = args[index + 1] if index + 1 < len(args) else ""
        del args[index : index + 2]
    names = [n for arg in args for n in arg.replace(",", " ").split()]
    if names:
        return names
    if not base:
        session.skip(f"no images: name them, or pass --base REF, or set ${BASE_REF_ENV}")
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "affected", "--base", base, "--json"],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        session.error(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "affected")
    picked: list[str] = json.loads(done.stdout)["names"]
    session.log(f"affected since {base}: {', '.join(picked) or 'no image'}")
    return picked


@nox.session(python=False, default=False)
def smoke(session: nox.Session) -> None:
    """Build each selected image, then run its smoke tests (`pytest tests/images --image NAME`).

    Selection: image names in posargs, else `--base REF` or $KFIMAGES_BASE_REF (the
    affected set). Builds tag `latest` (what the smoke tests use), with
    $KFIMAGES_JOBS parallel builds (default 1) and the CA of $KFIMAGES_CA_CERT.
    Images blocked by an unreachable artifact (and their descendants)
    are reported and not tested. pytest's exit code 5 (no tests collected) is a
    failure: every image inherits base's contract tests, so an empty run means the
    harness lost the image's tests.
    """
    names = _smoke_selection(session)
    if not names:
        session.log("nothing to smoke-test")
        return
    sys.path.insert(0, str(ROOT))
    from kfimages import build as builder  # noqa: PLC0415 (needs ROOT on sys.path)
    from kfimages.ca import collect_ca_files  # noqa: PLC0415
    from kfimages.graph import load_graph  # noqa: PLC0415

    graph = load_graph(ROOT)
    jobs = int(os.environ.get("KFIMAGES_JOBS", "1"))
    options = builder.BuildOptions(
        tags=("latest",), jobs=jobs, ca_files=tuple(collect_ca_files([]))
    )
    report = builder.build_images(graph, names, options)
    status = {r.name: r for r in report.results}
    outcome: dict[str, str] = {}
    for image in graph.build_order(names):
        result = status[image.name]
        if result.status not in builder.OK_STATUSES:
            outcome[image.name] = f"{result.status.upper()} ({result.reason})"
            continue
        session.log(f"smoke tests of {image.name}")
        command = [sys.executable, "-m", "pytest", "tests/images", "--image", image.name, "-q"]
        code = subprocess.run(command, cwd=ROOT, check=False).returncode
        if code == NO_TESTS_COLLECTED:
            outcome[image.name] = "FAILED (no tests collected)"
        else:
            outcome[image.name] = "passed" if code == 0 else f"FAILED (pytest exit {code})"
    session.log("smoke summary:")
    for name, text in outcome.items():
        session.log(f"  {name:32} {text}")
    failed = [n for n, t in outcome.items() if t.startswith("FAILED")]
    if failed:
        session.error(f"smoke failed for: {shlex.join(failed)}")
    blocked = [n for n, t in outcome.items() if not t.startswith(("passed", "FAILED"))]
    if blocked:
        session.warn(f"not built (blocked or skipped), not tested: {', '.join(blocked)}")
