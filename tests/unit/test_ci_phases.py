"""The timed phases of `.ci/run` and scripts/test.sh (scripts/phases.sh), with real bash: the
table at the end, also when a phase fails, and the file `invoke bench` reads."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from kfimages.bench import ci

PROJECT = Path(__file__).resolve().parents[2]


def _run(script: str, *, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "run.sh"
    path.write_text(f"set -euo pipefail\nsource scripts/phases.sh\n{script}\n", encoding="utf-8")
    return subprocess.run(["bash", str(path)], cwd=PROJECT, capture_output=True, text=True,
                          check=False, env={"PATH": "/usr/bin:/bin"})  # fmt: skip


def _rows(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines]


def test_a_failing_phase_is_recorded_with_its_exit_code_and_the_table_printed(
    tmp_path: Path,
) -> None:
    record = tmp_path / "phases" / "run.tsv"
    done = _run(
        f"""
        phases_open {record} head abc123
        phases_trap
        phases_begin setup
        true
        phases_begin "unit tests"
        (exit 3)
        phases_begin never
        """,
        tmp_path=tmp_path,
    )
    assert done.returncode == 3, done.stderr
    rows = _rows(record)
    assert rows[0] == ["# head", "abc123"]
    assert [(r[0], r[2]) for r in rows[1:3]] == [("setup", "0"), ("unit tests", "3")]
    assert all(float(r[1]) >= 0 for r in rows[1:3])
    assert rows[3] == ["# exit", "3"]
    assert len(rows) == 4, "the phase after the failure never began"
    table = done.stderr.splitlines()
    assert table[0] == f"phases ({record}):"
    assert table[1].split() == ["PHASE", "SECONDS", "EXIT"]
    assert table[2].split()[::2] == ["setup", "0"]
    assert table[3].split()[:2] == ["unit", "tests"]
    assert table[3].split()[-1] == "3"
    assert table[4].split()[0] == "total"


def test_ci_run_s_exit_trap_prints_the_table_when_a_phase_fails(tmp_path: Path) -> None:
    """.ci/run's own EXIT trap (on_exit, read from the file), after a failing test.sh: under
    `set -e` it once ran `(exit "$code")` before the table, which ended the trap there: a failed
    run printed no table and recorded no `# exit`."""
    ci = (PROJECT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    start = ci.index("on_exit() {")
    on_exit = "\n".join(ci[start : ci.index("}", start) + 1])
    record = tmp_path / "run.tsv"
    done = _run(
        f"""
        phases_open {record}
        policy_pending=""
        {on_exit}
        phases_trap on_exit
        phases_begin setup
        phases_end
        bash -c 'source scripts/phases.sh; phases_trap; phases_begin "smoke linux/amd64"; exit 1'
        """,
        tmp_path=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    rows = _rows(record)
    assert [r[0] for r in rows] == ["setup", "smoke linux/amd64", "# exit"], rows
    assert rows[-1] == ["# exit", "1"]
    table = done.stderr.splitlines()
    assert table[-4].split() == ["PHASE", "SECONDS", "EXIT"], done.stderr
    assert table[-1].split()[0] == "total", done.stderr


def test_a_script_run_from_a_phase_file_owner_appends_and_prints_nothing(tmp_path: Path) -> None:
    """scripts/test.sh under .ci/run: its phases go to .ci/run's file, and only .ci/run prints
    the table (once, at its end)."""
    record = tmp_path / "run.tsv"
    child = tmp_path / "child.sh"
    child.write_text(
        "set -euo pipefail\nsource scripts/phases.sh\ntrap phases_exit EXIT\n"
        "phases_begin lint\ntrue\nphases_begin integration\ntrue\nphases_end\n",
        encoding="utf-8",
    )
    done = _run(
        f"""
        phases_open {record}
        trap phases_exit EXIT
        phases_begin setup
        phases_end
        bash {child}
        phases_note base 0123abc
        """,
        tmp_path=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    rows = _rows(record)
    assert [r[0] for r in rows] == ["setup", "lint", "integration", "# base", "# exit"]
    assert rows[-1] == ["# exit", "0"]
    assert done.stderr.count("PHASE") == 1


def test_ci_run_and_test_sh_time_every_phase() -> None:
    """The phases, in the order they run; the arm64 leg is its own phase (smoke per platform)."""
    ci = (PROJECT / ".ci" / "run").read_text(encoding="utf-8")
    began = [line.split(maxsplit=1)[1] for line in ci.splitlines() if line.startswith("phases_beg")]
    # the disk phase after the base ref: how much room a run wants depends on what it rebuilds
    assert began == ["setup", "qemu", "packages", '"base ref"', "disk"]
    assert '(.venv/bin/invoke affected --base "$KFIMAGES_BASE_REF" --json)' in ci
    assert 'bash scripts/free-disk.sh --reset-when-low "${every_image[@]}"' in ci
    assert "phases_trap on_exit" in ci
    test = (PROJECT / "scripts" / "test.sh").read_text(encoding="utf-8")
    began = [line.split(maxsplit=1)[1] for line in test.splitlines() if "phases_begin" in line]
    assert began == ["lint", '"unit tests"', "integration", '"smoke $platform"']
    assert '-s smoke "$@" -- affected --platform "$platform"' in test
    # every platform's images are built in the background during the integration tests; each
    # smoke phase waits for its platform's builds
    assert test.index("setsid bash scripts/smoke-builds.sh") < test.index("-s integration")
    assert 'wait_for_builds "$platform"' in test
    builds = (PROJECT / "scripts" / "smoke-builds.sh").read_text(encoding="utf-8")
    assert '-s smoke "$@" -- affected --platform "$platform" --build-only' in builds
    assert 'phases_background "builds $platform"' in builds
    # free-disk between two platforms' builds, when .ci/run asks for it
    assert 'if [ "${KFIMAGES_FREE_DISK:-}" = 1 ] && [ -z "$first" ]; then' in builds
    # ... of the project's repositories only: the integration tests' images are other kfnb*
    assert "KFIMAGES_CI_REPOS='^kfnb/' bash scripts/free-disk.sh --between-legs" in builds
    assert "export KFIMAGES_FREE_DISK=1" in ci


def test_work_beside_the_phases_is_shown_and_left_out_of_the_total(tmp_path: Path) -> None:
    record = tmp_path / "run.tsv"
    done = _run(
        f"""
        phases_open {record}
        phases_trap
        start=$(_phases_now_us)
        phases_begin integration
        sleep 0.3
        phases_background "builds linux/arm64" "$start" 4
        phases_end
        """,
        tmp_path=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    rows = _rows(record)
    assert [(r[0], r[2]) for r in rows[:2]] == [("background: builds linux/arm64", "4"),
                                                ("integration", "0")]  # fmt: skip
    assert float(rows[0][1]) >= 0.3
    table = {line.split()[0]: line.split() for line in done.stderr.splitlines()[1:]}
    assert table["total"][1] == table["integration"][1], "the background row is not added"
    run = ci.parse_run("run.tsv", record.read_text(encoding="utf-8"))
    assert run.total == float(rows[1][1])


def test_a_stopped_run_records_the_signal_after_the_phases_of_the_script_it_ran(
    tmp_path: Path,
) -> None:
    """SIGTERM to the whole run (as a CI runner stops a job): the child script records its
    open phase with 143 first, then the owner its own end (`# exit 143`) and the table."""
    record = tmp_path / "run.tsv"
    child = tmp_path / "child.sh"
    started = tmp_path / "started"
    child.write_text(
        "set -euo pipefail\nsource scripts/phases.sh\nphases_trap\n"
        f"phases_begin 'unit tests'\ntouch {started}\nsleep 300\n",
        encoding="utf-8",
    )
    script = tmp_path / "run.sh"
    script.write_text(
        f"set -euo pipefail\nsource scripts/phases.sh\nphases_open {record}\n"
        f"phases_trap\nphases_begin setup\nphases_end\nbash {child}\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(["bash", str(script)], cwd=PROJECT, start_new_session=True,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        for _ in range(600):  # a hang guard of 60 s, not a measure: waits for the child's phase
            if started.exists():
                break
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 143, err
    rows = _rows(record)
    assert [r[0] for r in rows] == ["setup", "unit tests", "# exit"]
    assert rows[1][2] == "143"
    assert rows[2] == ["# exit", "143"]
    assert "unit tests" in err
