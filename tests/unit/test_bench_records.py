"""What the bench reads rather than measures, and the sections it writes from it: the CI's
phase records (written by the real scripts/phases.sh here), the smoke suites' junit XML
(written by a real pytest run here), and the native versus emulated builds."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from kfimages.bench import ci, markdown, suites
from kfimages.bench.builds import emulated_images
from kfimages.bench.results import ImageRun, Part, PlatformBuild, Results, Timing
from kfimages.errors import UserError
from kfimages.repo.graph import load_graph
from tests.unit.test_bench import MACHINE

PROJECT = Path(__file__).resolve().parents[2]


def _record(folder: Path, name: str, *, kind: str, fail: bool = False) -> Path:
    """A phase record written by scripts/phases.sh, as .ci/run writes it."""
    path = folder / f"{name}.tsv"
    last = "(exit 4)" if fail else "true"
    script = f"""
        set -euo pipefail
        source scripts/phases.sh
        phases_open {path} head 0123456789abcdef0123
        trap phases_exit EXIT
        phases_begin setup
        true
        phases_note base fedcba9876543210fedc
        phases_note base_kind {kind}
        phases_begin "smoke linux/amd64"
        {last}
        phases_end
    """
    subprocess.run(["bash", "-c", script], cwd=PROJECT, capture_output=True, check=False)
    return path


def test_ci_records_are_read_and_the_latest_of_each_kind_shown(tmp_path: Path) -> None:
    _record(tmp_path, "20261201T000000Z", kind="root")
    _record(tmp_path, "20261202T000000Z", kind="last-green", fail=True)
    _record(tmp_path, "20261203T000000Z", kind="root")
    (tmp_path / "notes.txt").write_text("not a record\n", encoding="utf-8")
    runs = ci.read_runs(tmp_path)
    assert [r.name for r in runs] == [f"2026120{d}T000000Z.tsv" for d in (1, 2, 3)]
    picked = ci.latest(runs)
    assert [r.name for r in picked] == ["20261203T000000Z.tsv", "20261202T000000Z.tsv"]
    every, changed = picked
    assert every.every_image
    assert every.exit_code == 0
    assert [(p.name, p.exit_code) for p in every.phases] == [
        ("setup", 0),
        ("smoke linux/amd64", 0),
    ]
    assert changed.exit_code == 4
    assert changed.phases[-1].exit_code == 4
    assert changed.describe() == "what changed since fedcba987654 (last-green)"
    assert every.describe() == "every image (base: the root commit fedcba987654)"


def test_a_killed_run_and_a_bad_line_are_read_as_far_as_they_go(tmp_path: Path) -> None:
    run = ci.parse_run("x.tsv", "# base_kind\troot\nsetup\t1.5\t0\ngarbage\nqemu\tx\t0\n")
    assert [p.name for p in run.phases] == ["setup"]
    assert run.exit_code is None
    assert ci.read_runs(tmp_path / "missing") == []


def test_the_phase_folder_follows_the_environment(tmp_path: Path) -> None:
    assert ci.phases_dir({}) == ci.DEFAULT_DIR
    assert ci.phases_dir({ci.PHASES_ENV: str(tmp_path)}) == tmp_path


def _results(**fields: object) -> Results:
    return Results(machine=MACHINE, images=("base", "jupyter"), **fields)  # type: ignore[arg-type]


def test_the_ci_section_has_a_table_per_run(tmp_path: Path) -> None:
    _record(tmp_path, "20261203T000000Z", kind="root", fail=True)
    runs = ci.latest(ci.read_runs(tmp_path))
    lines = markdown.format_results(_results(ci_runs=runs, ci_dir=str(tmp_path))).splitlines()
    start = lines.index("## CI phases")
    header = next(line for line in lines[start:] if line.startswith("Run `"))
    assert header.startswith("Run `20261203T000000Z.tsv` (head `0123456789ab`): every image")
    assert ", exit 4, " in header
    assert "| phase | time (s) | exit |" in lines[start:]
    rows = [line for line in lines[start:] if line.startswith("| smoke linux/amd64 |")]
    assert rows, lines[start:]
    assert rows[0].endswith("| 4 |")
    empty = markdown.format_results(_results(ci_dir="/nowhere"))
    assert "No `.ci/run` recorded its phases in `/nowhere` on this host." in empty


def _junit(tmp_path: Path, name: str) -> Path:
    """A real pytest run of two tests (one skipped) writing its junit XML."""
    tests = tmp_path / f"test_{name.replace('.', '_').replace('@', '_')}.py"
    tests.write_text(
        "import pytest\n\ndef test_ok():\n    pass\n\n"
        "@pytest.mark.skip(reason='no')\ndef test_skipped():\n    pass\n",
        encoding="utf-8",
    )
    report = tmp_path / "artifacts" / "smoke" / f"{name}.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", str(tests), "-q", "-p", "no:cacheprovider",
         f"--junitxml={report}", "-o", "junit_family=xunit1", f"--rootdir={tmp_path}"],
        cwd=tmp_path, capture_output=True, check=True,
    )  # fmt: skip
    return report


def test_smoke_reports_are_read_per_image_and_platform(tmp_path: Path) -> None:
    for name in ("jupyter", "jupyter@arm64", "jupyter-pytorch-full.cpu"):
        _junit(tmp_path, name)
    report = suites.read_junit(tmp_path / "artifacts" / "smoke" / "jupyter.xml")
    assert (report.tests, report.failures, report.skipped) == (2, 0, 1)
    assert report.seconds >= 0
    found = suites.recorded(tmp_path, ["jupyter"])
    assert sorted(found) == ["jupyter", "jupyter@arm64"], "not the pytorch image's suite"
    assert found["jupyter"].source.startswith("invoke smoke, ")
    runs = suites.suite_runs(tmp_path, {"jupyter": ("kfnb", "latest")}, log_file=sys.stderr)
    assert [r.name for r in runs] == ["jupyter", "jupyter@arm64"], "read, not run again"


def test_a_broken_report_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<testsuite", encoding="utf-8")
    with pytest.raises(UserError, match=f"^{re.escape(str(bad))} is not a readable junit XML"):
        suites.read_junit(bad)


def test_the_suites_and_platform_sections(tmp_path: Path) -> None:
    _junit(tmp_path, "base")
    measured = suites.recorded(tmp_path, ["base"])["base"]
    results = _results(
        suites=(
            measured,
            suites.SuiteRun(
                name="jupyter", report=None, source="here", reason="pytest exit 4, no report"
            ),
        ),
        foreign_platform="linux/arm64",
        platform_builds=(
            PlatformBuild(name="base", native=20.0, foreign=250.0),
            PlatformBuild(name="jupyter", native=30.0, foreign=None, reason="linux/arm64: failed"),
        ),
    )
    lines = markdown.format_results(results).splitlines()
    assert "## Builds for linux/arm64 (QEMU) next to native ones" in lines
    assert "| base | 20.0 | 250.0 | 12.500x |  |" in lines
    assert "| jupyter | 30.0 | n/a | n/a | linux/arm64: failed |" in lines
    assert "## Smoke suites" in lines
    row = next(line for line in lines if line.startswith("| base |") and "invoke smoke" in line)
    assert row.split(" | ")[2:5] == ["2", "0", "1"]
    missing = "| jupyter | n/a | n/a | n/a | n/a | here | pytest exit 4, no report |"
    assert missing in lines
    none = markdown.format_results(
        _results(parts=(Part.ARM64,), platform_note="no image of this run lists linux/arm64")
    )
    assert "Not measured: no image of this run lists linux/arm64." in none


def test_the_emulated_images_are_those_ci_builds_there() -> None:
    graph = load_graph(PROJECT)
    names = list(graph.images)
    opted = emulated_images(graph, names, platform="linux/arm64")
    assert opted == [n for n in names if "linux/arm64" in graph.get(n).config.emulated_smoke]
    assert "base" in opted
    assert "jupyter-pytorch-full.cuda" not in opted


def test_the_ratio_of_the_start_ups() -> None:
    init = Timing(median=1.3, low=1.2, high=1.4, runs=5)
    bare = Timing(median=1.25, low=1.2, high=1.3, runs=5)
    assert ImageRun(name="j", ref="r", size=1, init=init, bare=bare).ratio == 1.3 / 1.25
    assert ImageRun(name="j", ref="r", size=1, init=init).ratio is None
