"""The smoke suites' durations: per image, how long `pytest tests/images --image NAME` ran and
what it found (tests, failures, skipped), from its junit XML.

`invoke smoke` writes each suite's junit XML to artifacts/smoke/<image>.xml (another platform:
<image>@<arch>.xml); the bench reads those that exist. An image without one is measured here:
its suite is run against the image the bench measures (`--junitxml` into artifacts/bench/suites/).
"""

from __future__ import annotations

import logging
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from kfimages.errors import UserError
from kfimages.verify.suites import pytest_command as smoke_pytest_command

log = logging.getLogger(__name__)

SMOKE_REPORTS = Path("artifacts") / "smoke"
"""Under the repository: invoke smoke's junit XML of each suite."""
BENCH_REPORTS = Path("artifacts") / "bench" / "suites"
"""Under the repository: the junit XML of the suites the bench ran itself."""


@dataclass(frozen=True)
class Report:
    """What a junit XML says of one suite."""

    seconds: float
    tests: int
    failures: int
    skipped: int


@dataclass(frozen=True)
class SuiteRun:
    """One image's smoke suite: its report and where it comes from."""

    name: str
    """The suite: the image's name, `<name>@<arch>` on another platform."""
    report: Report | None
    source: str
    """`invoke smoke, <date>` or `this bench run`."""
    reason: str = ""

    @property
    def seconds(self) -> float | None:
        return None if self.report is None else self.report.seconds


def read_junit(path: Path) -> Report:
    """The totals of a junit XML (a <testsuites> of <testsuite>s, or one <testsuite>)."""
    try:
        root = ET.parse(path).getroot()  # pytest's own XML, written on this host
    except (OSError, ET.ParseError) as exc:
        raise UserError(f"{path} is not a readable junit XML ({exc}); run it again") from None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")

    def total(attribute: str) -> float:
        return sum(float(suite.get(attribute, "0") or 0) for suite in suites)

    return Report(
        seconds=total("time"),
        tests=int(total("tests")),
        failures=int(total("failures") + total("errors")),
        skipped=int(total("skipped")),
    )


def recorded(root: Path, names: Sequence[str]) -> dict[str, SuiteRun]:
    """The suites invoke smoke left reports of, for these images (any platform)."""
    found: dict[str, SuiteRun] = {}
    for name in names:
        for path in sorted((root / SMOKE_REPORTS).glob(f"{name}*.xml")):
            suite = path.stem
            if suite != name and not suite.startswith(f"{name}@"):
                continue  # another image's suite (jupyter-pytorch-full.cpu for jupyter)
            when = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).strftime("%Y-%m-%d %H:%M")
            found[suite] = SuiteRun(
                name=suite, report=read_junit(path), source=f"invoke smoke, {when} UTC"
            )
    return found


def pytest_command(name: str, *, registry: str, tag: str, junit: Path) -> list[str]:
    """The suite as `invoke smoke` runs it (its default pytest processes), against the ref."""
    extra = ["--registry", registry, "--tag", tag, "-p", "no:cacheprovider"]
    return smoke_pytest_command(name, extra=extra, junit=junit)


def measure(root: Path, name: str, *, registry: str, tag: str, log_file: TextIO) -> SuiteRun:
    """Run one image's smoke suite against `<registry>/...:<tag>` and read its report."""
    junit = root / BENCH_REPORTS / f"{name}.xml"
    junit.parent.mkdir(parents=True, exist_ok=True)
    junit.unlink(missing_ok=True)
    command = pytest_command(name, registry=registry, tag=tag, junit=junit)
    log.info("smoke suite of %s (output: %s)", name, log_file.name)
    log_file.write(f"\n===== {' '.join(command)}\n")
    log_file.flush()
    started = time.monotonic()
    done = subprocess.run(command, cwd=root, stdout=log_file, stderr=subprocess.STDOUT, check=False)
    wall = time.monotonic() - started
    if not junit.exists():
        return SuiteRun(name=name, report=None, source="this bench run",
                        reason=f"pytest exit {done.returncode}, no report")  # fmt: skip
    report = read_junit(junit)
    log.info("  %s: %.1f s (wall %.1f s), pytest exit %d", name, report.seconds, wall,
             done.returncode)  # fmt: skip
    reason = f"pytest exit {done.returncode}" if done.returncode else ""
    return SuiteRun(name=name, report=report, source="this bench run", reason=reason)


def suite_runs(
    root: Path, refs: dict[str, tuple[str, str]], *, log_file: TextIO
) -> tuple[SuiteRun, ...]:
    """Per image (name -> (registry, tag) of the image measured): the suites invoke smoke
    recorded, else the suite run here."""
    found = recorded(root, list(refs))
    out: list[SuiteRun] = []
    for name, (registry, tag) in refs.items():
        mine = sorted(suite for suite in found if suite == name or suite.startswith(f"{name}@"))
        if mine:
            out += [found[suite] for suite in mine]
        else:
            out.append(measure(root, name, registry=registry, tag=tag, log_file=log_file))
    return tuple(out)
