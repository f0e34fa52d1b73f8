"""The CI's phases, as `.ci/run` recorded them (scripts/phases.sh): one tab-separated file per
run in $KFIMAGES_CI_PHASES (default /var/lib/kfimages-ci/phases), `# KEY<TAB>VALUE` lines (head,
base, base_kind, exit, ...) and `PHASE<TAB>SECONDS<TAB>EXIT` lines. Read, never measured: the
bench shows the latest run that tested every image (base_kind `root`: a first run) and the
latest that tested what changed since a ref."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

log = logging.getLogger(__name__)

PHASES_ENV = "KFIMAGES_CI_PHASES"
DEFAULT_DIR = Path("/var/lib/kfimages-ci/phases")
BACKGROUND = "background: "
"""The name's start of a phase that ran beside the others (scripts/phases.sh phases_background:
CI's image builds during the integration tests): shown, not added to the total."""
EVERY_IMAGE = "root"
"""base_kind of a run that tested every image (its base ref was the root commit)."""


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    exit_code: int


@dataclass(frozen=True)
class CiRun:
    """One `.ci/run`: its notes and its phases in the order they ran."""

    name: str
    """The file's name (the run's start, UTC)."""
    notes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    phases: tuple[Phase, ...] = ()

    @property
    def total(self) -> float:
        """The run's wall time: its phases, without what ran beside them (BACKGROUND)."""
        return sum(p.seconds for p in self.phases if not p.name.startswith(BACKGROUND))

    @property
    def exit_code(self) -> int | None:
        """The run's exit code (None: the file ends without one, the run was killed)."""
        text = self.notes.get("exit", "")
        return int(text) if text.isdigit() else None

    @property
    def every_image(self) -> bool:
        return self.notes.get("base_kind") == EVERY_IMAGE

    def describe(self) -> str:
        """`every image (base: the root commit ...)` or `what changed since <ref> (<kind>)`."""
        base = self.notes.get("base", "")[:12] or "?"
        if self.every_image:
            return f"every image (base: the root commit {base})"
        return f"what changed since {base} ({self.notes.get('base_kind', '?')})"


def phases_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$KFIMAGES_CI_PHASES, else the default folder."""
    env = os.environ if environ is None else environ
    return Path(env[PHASES_ENV]) if env.get(PHASES_ENV) else DEFAULT_DIR


def parse_run(name: str, text: str) -> CiRun:
    """One record; a line that is neither a note nor a phase is logged and left out."""
    notes: dict[str, str] = {}
    phases: list[Phase] = []
    for number, line in enumerate(text.splitlines(), start=1):
        cells = line.split("\t")
        if line.startswith("# ") and len(cells) == 2:
            notes[cells[0][2:]] = cells[1]
            continue
        try:
            phase, seconds, code = cells
            phases.append(Phase(name=phase, seconds=float(seconds), exit_code=int(code)))
        except ValueError:
            log.warning("%s:%d: not a phase (PHASE<TAB>SECONDS<TAB>EXIT): %r", name, number, line)
    return CiRun(name=name, notes=MappingProxyType(notes), phases=tuple(phases))


def read_runs(folder: Path) -> list[CiRun]:
    """Every record of `folder`, oldest first (none when it does not exist)."""
    if not folder.is_dir():
        return []
    return [
        parse_run(path.name, path.read_text(encoding="utf-8"))
        for path in sorted(folder.glob("*.tsv"))
    ]


def latest(runs: Sequence[CiRun]) -> tuple[CiRun, ...]:
    """The latest run that tested every image and the latest other one (those that exist)."""
    picked = [
        next((r for r in reversed(runs) if r.every_image), None),
        next((r for r in reversed(runs) if not r.every_image), None),
    ]
    return tuple(run for run in picked if run is not None)
