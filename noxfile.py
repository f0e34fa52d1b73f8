"""nox sessions: lint and tests run by default; integration, build and smoke need Docker.

The README's test command (`bash scripts/test.sh`) runs lint, tests, integration and smoke
in that order. Every session passes `session.posargs` through. Tools come from
requirements.txt (pinned); Docker sessions (`python=False`) run in the interpreter nox
itself runs in (the project's .venv). The logic lives in `kfimages` (`lintfiles`, `smoke`,
`chart`, `lock`); these sessions only wire it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
REQUIREMENTS = str(ROOT / "requirements.txt")

nox.options.reuse_existing_virtualenvs = True


def _invoke(session: nox.Session, *args: str, success_codes: list[int] | None = None) -> None:
    """Run an invoke task of tasks.py with nox's interpreter."""
    session.run(sys.executable, "-m", "invoke", *args, success_codes=success_codes or [0])


@nox.session
def lint(session: nox.Session) -> None:
    """hadolint, shellcheck, the README chart, the lock files, the CI workflow (generated,
    actionlint), ruff check + format, mypy (posargs: ruff)."""
    session.install("-r", REQUIREMENTS)
    sys.path.insert(0, str(ROOT))
    from kfimages.author import chart, lintfiles, lock  # noqa: PLC0415 (ROOT on sys.path)
    from kfimages.repo.graph import load_graph  # noqa: PLC0415
    from kfimages.ship import workflow  # noqa: PLC0415

    graph = load_graph(ROOT)
    dockerfiles = lintfiles.dockerfiles(graph)
    session.log(f"hadolint: {len(dockerfiles)} Dockerfile(s)")
    session.run("hadolint", "--config", ".hadolint.yaml", *dockerfiles)
    for shell, scripts in lintfiles.shell_scripts(graph).items():
        session.log(f"shellcheck ({shell}): {len(scripts)} script(s)")
        session.run("shellcheck", "--shell", shell, "--external-sources", *scripts)
    if problem := chart.check_chart(ROOT):
        session.error(problem)
    if problems := lock.check_locks(ROOT, graph):  # offline: each lock against its inputs
        session.error("\n".join(problems))
    if problem := workflow.check(graph):  # the CI workflow is generated: never edited by hand
        session.error(problem)
    session.run("actionlint", str(workflow.WORKFLOW))  # runs shellcheck on its `run:` scripts
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
    """Integration tests of the build system with the real Docker Engine (tiny images)."""
    session.run(sys.executable, "-m", "pytest", "tests/integration", "-q", *session.posargs)


@nox.session(python=False, default=False)
def build(session: nox.Session) -> None:
    """Build images: posargs are `invoke build` arguments (NAMES, --affected --base REF)."""
    if not session.posargs:
        session.error("name the images (comma-separated) or pass --affected --base REF")
    _invoke(session, "build", *session.posargs, success_codes=[0, 3])


@nox.session(python=False, default=False)
def smoke(session: nox.Session) -> None:
    """Build and smoke-test images: posargs are `invoke smoke` arguments (NAMES, --base)."""
    # Names come first; without them, the images affected since --base or $KFIMAGES_BASE_REF,
    # natively, then on each other platform the affected images that list it in image.yaml
    # `emulated_smoke` (their `emulated` subset, under QEMU).
    args = list(session.posargs)
    if (not args or args[0].startswith("-")) and "--affected" not in args:
        args.append("--affected")
    _invoke(session, "smoke", *args)
    if "--affected" in args and "--platform" not in args:
        sys.path.insert(0, str(ROOT))
        from kfimages import platforms  # noqa: PLC0415 (ROOT on sys.path)

        for platform in platforms.SUPPORTED:
            if platforms.is_foreign(platform):
                _invoke(session, "smoke", *args, "--platform", platform)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmark the images with real builds (not CI): `invoke bench` (posargs are its own)."""
    session.install("-r", REQUIREMENTS, "matplotlib==3.11.2")  # matplotlib: only the chart
    args = list(session.posargs)
    if not args or args[0].startswith("-"):  # options only: every image
        args.insert(0, "all")
    session.run("invoke", "bench", *args)  # the session's invoke, which has matplotlib
