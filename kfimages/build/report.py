"""Outcomes of a build: a status per image, the summary table and the exit code."""

from __future__ import annotations

import collections
import enum
import signal
from dataclasses import dataclass, field

from kfimages.tables import text_table

EXIT_OK = 0
"""Everything requested was built or reused (and pushed, with --push)."""
EXIT_FAILED = 1
"""At least one image failed to build, or a push failed."""
EXIT_USAGE = 2
"""Bad input or a missing prerequisite (a one-line `error: ...`)."""
EXIT_BLOCKED = 3
"""Nothing failed, but some images were blocked by an unreachable artifact (and their
descendants skipped): CI tells "cannot download here" from a failure."""
EXIT_SIGNAL_BASE = 128
"""An interrupted build exits 128 + the signal's number: 130 (SIGINT), 143 (SIGTERM)."""


class Status(enum.StrEnum):
    """What happened to one image of the plan."""

    BUILT = "built"
    REUSED = "reused"
    FAILED = "failed"
    BLOCKED = "blocked"
    """An artifact URL cannot be fetched: not built."""
    SKIPPED = "skipped"
    """A parent failed or was blocked."""
    INTERRUPTED = "interrupted"
    """Stopped by SIGINT or SIGTERM while it ran (kfimages.build.stop): no tag moved after."""
    PLANNED = "planned"
    """Dry run: would be built."""

    @property
    def ok(self) -> bool:
        """Whether children may build on it."""
        return self in (Status.BUILT, Status.REUSED)


@dataclass
class Result:
    """The outcome of one step."""

    name: str
    ref: str
    status: Status
    duration: float = 0.0
    reason: str = ""
    pushed: list[str] = field(default_factory=list)
    started: float = 0.0
    """Wall-clock start (time.time()); 0 for a skipped image."""
    blocked_by: str = ""
    """For a blocked image its own name, for one skipped below it the blocked ancestor's."""
    content_refs: list[str] = field(default_factory=list)
    """Refs with the image's content tags (kfimages.build.taggers), pushed with the moving tags."""

    @property
    def finished(self) -> float:
        return self.started + self.duration


@dataclass
class BuildReport:
    """Results in plan order, plus the exit code they mean."""

    results: list[Result]
    push_failed: bool = False
    notes: list[str] = field(default_factory=list)
    """Lines shown above the summary table (the OS images' age and origin)."""
    signal: int = 0
    """The signal that interrupted the build (kfimages.build.stop), 0 when none did."""
    push_problems: list[str] = field(default_factory=list)
    """Lines shown above the table (whose last line stays the exit code) when a push failed:
    the failure, the moving tags that moved and those that did not (kfimages.ship.push)."""
    reports_failed: bool = False
    """An image's SBOM or manifest could not be written (kfimages.ship.reports): exit 1."""

    @property
    def exit_code(self) -> int:
        if self.signal:
            return EXIT_SIGNAL_BASE + self.signal
        statuses = {r.status for r in self.results}
        if Status.FAILED in statuses or self.push_failed or self.reports_failed:
            return EXIT_FAILED
        if any(not s.ok for s in statuses):
            return EXIT_BLOCKED
        return EXIT_OK

    def by_name(self) -> dict[str, Result]:
        return {r.name: r for r in self.results}


def skipped_below(parent: Result, *, name: str, ref: str) -> Result:
    """The result of an image whose parent did not succeed."""
    blocked_by = parent.blocked_by or (parent.name if parent.status == Status.BLOCKED else "")
    return Result(
        name=name, ref=ref, status=Status.SKIPPED, reason=skip_reason(parent), blocked_by=blocked_by
    )


def skip_reason(parent: Result) -> str:
    """Why a child of `parent` is skipped: the parent's status (and a blocked one's URL)."""
    if parent.status == Status.SKIPPED:
        return parent.reason
    detail = f": {parent.reason}" if parent.status == Status.BLOCKED and parent.reason else ""
    return f"parent {parent.name} {parent.status}{detail}"


def format_summary(report: BuildReport) -> str:
    """The table printed at the end of a build, with the counts and the exit code."""
    rows = []
    for r in report.results:
        reason = r.reason
        if r.content_refs:
            tags = ", ".join(ref.rsplit(":", 1)[1] for ref in r.content_refs)
            reason = f"{reason}; content tags {tags}".lstrip("; ")
        if r.pushed:
            reason = f"{reason}; pushed {len(r.pushed)} tag(s)".lstrip("; ")
        rows.append((r.name, r.ref, str(r.status), f"{r.duration:.1f}s", reason))
    lines = text_table(("IMAGE", "REF", "STATUS", "TIME", "REASON"), rows)
    counts = collections.Counter(r.status for r in report.results)
    shown = [s for s in Status if s not in (Status.PLANNED, Status.INTERRUPTED) or counts[s]]
    if report.signal:
        lines.append(
            f"interrupted by {signal.Signals(report.signal).name}: buildx stopped, no step "
            "started and no tag moved after it, nothing pushed"
        )
    lines.append(f"{', '.join(f'{counts[s]} {s}' for s in shown)}; exit code {report.exit_code}")
    return "\n".join([*report.notes, *report.push_problems, *lines])
