"""nox sessions: lint and tests run by default; integration, build and smoke need Docker.

The README's test command (`bash scripts/test.sh`) runs lint, tests, integration and smoke
in that order. Every session passes `session.posargs` through. Tools come from
requirements.txt (pinned); Docker sessions (`python=False`) run in the interpreter nox
itself runs in (the project's .venv). These sessions only wire: the logic lives in
`kfimages`, reached through the invoke tasks of tasks.py.
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
    session.run("invoke", "lint-files")  # hadolint and shellcheck on what the graph holds
    session.run("invoke", "chart", "--check")
    session.run("invoke", "lock", "--check")  # offline: each lock against its inputs
    session.run("invoke", "workflow", "--check")  # generated: never edited by hand
    session.run("actionlint")  # the workflows; runs shellcheck on their `run:` scripts
    session.run("ruff", "check", *session.posargs, ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    session.run("mypy", "--strict", "tasks.py", "noxfile.py")


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests of the build system (throwaway git repos, no Docker), fast."""
    session.install("-r", REQUIREMENTS)
    # Two pytest-xdist processes (as `invoke smoke` spreads a suite): 941 tests in 29 s on the
    # 2-core machines instead of 57-72 s; `nox -s tests -- -n 0` runs them in one.
    session.run("pytest", "tests/unit", "-q", "-n", "2", *session.posargs)


@nox.session(python=False, default=False)
def integration(session: nox.Session) -> None:
    """Integration tests of the build system, real engine, tiny images: `invoke integration`
    (those the changes since $KFIMAGES_BASE_REF can affect; posargs: its arguments)."""
    _invoke(session, "integration", *session.posargs)


@nox.session(python=False, default=False)
def build(session: nox.Session) -> None:
    """Build images: posargs are `invoke build` arguments (NAMES [--base REF] ...)."""
    _invoke(session, "build", *session.posargs, success_codes=[0, 3])


@nox.session(python=False, default=False)
def smoke(session: nox.Session) -> None:
    """Build and smoke-test images: `invoke smoke` (posargs: its arguments; default NAMES
    `affected`, since $KFIMAGES_BASE_REF, on every platform the images opt into)."""
    names = [] if session.posargs and not session.posargs[0].startswith("-") else ["affected"]
    _invoke(session, "smoke", *names, *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmark the images with real builds (not CI): `invoke bench` (posargs are its own)."""
    session.install("-r", REQUIREMENTS, "matplotlib==3.11.2")  # matplotlib: only the chart
    args = list(session.posargs)
    if not args or args[0].startswith("-"):  # options only: every image
        args.insert(0, "all")
    session.run("invoke", "bench", *args)  # the session's invoke, which has matplotlib
