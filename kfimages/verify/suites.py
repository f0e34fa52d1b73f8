"""Running smoke suites (`pytest tests/images --image NAME`), one or several at once, for
`invoke smoke` (kfimages.verify.smoke): their command lines, the runner, where their reports go."""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from kfimages import platforms
from kfimages.build.plan import step_name
from kfimages.repo.graph import TESTS_DIR

log = logging.getLogger(__name__)

REPORTS_DIR = Path("artifacts") / "smoke"
"""Under the repository root: each smoke suite's junit XML (`<image>.xml`, `<image>@<arch>.xml`
for another platform: every test's duration, the suite's, and what tests record with
`record_property`, e.g. image_size_mb) and, when suites run at once, its output (`.log`)."""

WORKERS = 2
"""Default of `invoke smoke --workers`: pytest-xdist processes per suite. A suite's tests mostly
wait (a server starting in its container, a browser, a kernel): on the 2-core machines,
jupyter's suite alone took 390 s with one process, 217 s with 4, 182 s with 3; codeserver's
and jupyter's at once (`--jobs 2`) 351 s with 2 each against 470 s with one each. 8 processes
on one suite gave no gain and a kernel that timed out starting. `--dist worksteal`: an idle
process takes tests from a busy one's queue (a suite's tests take from 0.1 s to 75 s).
Alone, on 2026-12-05: codeserver's suite 173 s with 2, 134 s with 3, 125 s with 4; jupyter's
156 s with 2, 131 s with 3. Starting the 75 s test first (it waits for code-server's heartbeat)
gave nothing (138 s with 3): the tests' sum, about 350 s, sets the time, not the longest test."""


def workers_args(workers: int) -> list[str]:
    """pytest's arguments to spread a suite over `workers` pytest-xdist processes (none: 1)."""
    return ["-n", str(workers), "--dist", "worksteal"] if workers > 1 else []


PytestRunner = Callable[[Sequence[str], Path | None], int]
"""Runs a pytest command line at the repository root and gives its exit code; its output goes
to the file given, else to the terminal."""


@dataclass(frozen=True)
class Suite:
    """One image's pytest run: the image's step name (`jupyter`, `jupyter@arm64`) and the
    command line."""

    name: str
    command: tuple[str, ...]


@dataclass(frozen=True)
class SuiteRun:
    """How a suite ended: pytest's exit code and how long it ran."""

    code: int
    seconds: float


def suite_name(name: str, platform: str) -> str:
    """The name of an image's suite on `platform` (the build step's: `jupyter@arm64`)."""
    return step_name(name, platform or platforms.host_platform(), host=platforms.host_platform())


def pytest_command(
    name: str,
    *,
    extra: Sequence[str],
    platform: str = "",
    workers: int = WORKERS,
    junit: Path | None = None,
) -> list[str]:
    """pytest of the image's smoke tests over `workers` processes (one for another platform's
    emulated tests), its junit XML (xunit1: it keeps the properties the tests record) at
    `junit`, by default in REPORTS_DIR."""
    foreign = ["--platform", platform] if platform and platforms.is_foreign(platform) else []
    # Under QEMU the tests do not wait, they compute (a server answers ~50x later): one process.
    spread = workers_args(workers) if not foreign else []
    junit = junit or REPORTS_DIR / f"{suite_name(name, platform)}.xml"
    return [
        sys.executable, "-m", "pytest", TESTS_DIR, "--image", name, "-q",
        f"--junitxml={junit}", "-o", "junit_family=xunit1", *spread, *foreign, *extra,
    ]  # fmt: skip


def run_pytest_in(root: Path) -> PytestRunner:
    """The real runner: pytest in a child process at the repository root, its output to the
    terminal or (stdout and stderr) to the file given."""

    def run(command: Sequence[str], output: Path | None) -> int:
        if output is None:
            return subprocess.run(list(command), cwd=root, check=False).returncode
        with output.open("w", encoding="utf-8") as out:
            done = subprocess.run(
                list(command), cwd=root, stdout=out, stderr=subprocess.STDOUT, check=False
            )
        return done.returncode

    return run


def run_suites(
    suites: Sequence[Suite],
    *,
    jobs: int,
    run_pytest: PytestRunner,
    logs: Path,
    stream: TextIO,
) -> dict[str, SuiteRun]:
    """Run the suites (every image is built: none waits for another), up to `jobs` at once;
    how each ended, by name. One at a time, a suite's output goes to the terminal as it
    comes; several at once, each one's goes to `logs/<name>.log`, printed whole between two
    marker lines when it ends. An interrupt (Ctrl+C reaches the running pytest processes
    too) starts no further suite."""
    lock = threading.Lock()
    together = min(jobs, len(suites)) > 1
    if together:
        logs.mkdir(parents=True, exist_ok=True)

    def run(suite: Suite) -> SuiteRun:
        log.info("smoke tests of %s", suite.name)
        output = logs / f"{suite.name}.log" if together else None
        started = time.monotonic()
        code = run_pytest(suite.command, output)
        ran = SuiteRun(code=code, seconds=time.monotonic() - started)
        if output is not None:
            text = output.read_text(encoding="utf-8", errors="replace") if output.exists() else ""
            with lock:
                stream.write(f"===== smoke tests of {suite.name}: {shlex.join(suite.command)}\n")
                stream.write(text if text.endswith("\n") or not text else text + "\n")
                stream.write(
                    f"===== end of {suite.name}: pytest exit {code} after {ran.seconds:.0f}s "
                    f"(output kept in {output})\n"
                )
                stream.flush()
        return ran

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = {suite.name: pool.submit(run, suite) for suite in suites}
        return {name: future.result() for name, future in futures.items()}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
