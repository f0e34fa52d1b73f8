"""Outcomes of a build (kfimages.build.report): exit codes, the summary table, skip reasons."""

from __future__ import annotations

import pytest

from kfimages.build.report import (
    EXIT_BLOCKED,
    EXIT_FAILED,
    EXIT_OK,
    BuildReport,
    Result,
    Status,
    format_summary,
    skip_reason,
)


def result(name: str, status: Status, reason: str = "", **kw: object) -> Result:
    return Result(name=name, ref=f"r/{name}:t", status=status, duration=1.5, reason=reason, **kw)  # type: ignore[arg-type]


BLOCKED_REASON = "artifact x: cannot reach http://h"


def test_status_ok_only_for_built_and_reused() -> None:
    assert {s for s in Status if s.ok} == {Status.BUILT, Status.REUSED}


@pytest.mark.parametrize(
    ("statuses", "push_failed", "code"),
    [
        ([], False, EXIT_OK),
        ([Status.BUILT, Status.REUSED], False, EXIT_OK),
        ([Status.BUILT, Status.REUSED], True, EXIT_FAILED),
        ([Status.BUILT, Status.BLOCKED], False, EXIT_BLOCKED),
        ([Status.BUILT, Status.SKIPPED], False, EXIT_BLOCKED),
        ([Status.BLOCKED, Status.FAILED], False, EXIT_FAILED),
        ([Status.FAILED], False, EXIT_FAILED),
        ([Status.BLOCKED], True, EXIT_FAILED),
    ],
)
def test_exit_codes(statuses: list[Status], push_failed: bool, code: int) -> None:
    results = [result(f"i{n}", s) for n, s in enumerate(statuses)]
    assert BuildReport(results=results, push_failed=push_failed).exit_code == code
    assert (EXIT_OK, EXIT_FAILED, EXIT_BLOCKED) == (0, 1, 3)


def test_a_report_that_could_not_be_written_fails_the_build() -> None:
    results = [result("a", Status.BUILT), result("b", Status.BLOCKED)]
    assert BuildReport(results=results, reports_failed=True).exit_code == EXIT_FAILED
    assert BuildReport(results=results).exit_code == EXIT_BLOCKED


def test_summary_table_and_counts() -> None:
    report = BuildReport(
        results=[
            result("a", Status.BUILT),
            result("r", Status.BLOCKED, BLOCKED_REASON),
            result("rr", Status.SKIPPED, f"parent r blocked: {BLOCKED_REASON}"),
            result("f", Status.FAILED, "RUN x failed"),
        ]
    )
    summary = format_summary(report).splitlines()
    assert summary[0].split() == ["IMAGE", "REF", "STATUS", "TIME", "REASON"]
    assert summary[3].split()[:4] == ["rr", "r/rr:t", "skipped", "1.5s"]
    assert summary[3].endswith(f"parent r blocked: {BLOCKED_REASON}")
    assert summary[-1] == "1 built, 0 reused, 1 failed, 1 blocked, 1 skipped; exit code 1"
    assert "planned" not in summary[-1]
    widths = {line.index("r/") for line in summary[1:-1]}
    assert len(widths) == 1, "the REF column is aligned"


def test_summary_shows_pushed_tags() -> None:
    pushed = result("a", Status.BUILT, pushed=["r/a:sha-1", "r/a:latest"])
    lines = format_summary(BuildReport(results=[pushed])).splitlines()
    assert lines[1].endswith("pushed 2 tag(s)")
    assert lines[-1] == "1 built, 0 reused, 0 failed, 0 blocked, 0 skipped; exit code 0"
    failed = result("a", Status.BUILT, "push of r/a:latest failed: denied", pushed=["r/a:sha-1"])
    lines = format_summary(BuildReport(results=[failed], push_failed=True)).splitlines()
    assert lines[1].endswith("push of r/a:latest failed: denied; pushed 1 tag(s)")
    assert lines[-1].endswith("exit code 1")


def test_summary_counts_planned_only_when_present() -> None:
    report = BuildReport(results=[result("a", Status.PLANNED)])
    assert format_summary(report).splitlines()[-1].startswith("0 built, 0 reused")
    assert "1 planned" in format_summary(report).splitlines()[-1]


def test_skip_reason_keeps_the_root_cause() -> None:
    assert skip_reason(result("p", Status.FAILED, "boom")) == "parent p failed"
    blocked = result("p", Status.BLOCKED, "artifact t: cannot reach u")
    assert skip_reason(blocked) == "parent p blocked: artifact t: cannot reach u"
    assert skip_reason(result("p", Status.BLOCKED)) == "parent p blocked"
    skipped = result("c", Status.SKIPPED, "parent p failed")
    assert skip_reason(skipped) == "parent p failed"


def test_result_finished_and_by_name() -> None:
    r = Result(name="a", ref="r/a:t", status=Status.BUILT, duration=2.0, started=100.0)
    assert r.finished == 102.0
    assert BuildReport(results=[r]).by_name() == {"a": r}
