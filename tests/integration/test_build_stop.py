"""`invoke build` under SIGINT/SIGTERM, and two builds on one engine (the build lock).

Each test runs `invoke build` as a subprocess of a throwaway repo and waits on its log
(the RUN step's line), never on time; a generous hang guard (HANG_GUARD) only keeps a broken
build from hanging the suite.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import pytest

from tests.integration.conftest import REPO_ROOT, Repo, docker

HANG_GUARD = 300.0
"""Seconds a build subprocess may take before the test gives up (a hang, not a measure)."""


@contextmanager
def invoke_build(repo: Repo, *args: str) -> Iterator[tuple[subprocess.Popen[str], IO[str]]]:
    """`invoke build ARGS` of `repo` as a subprocess: stdout piped, stderr into a file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KFIMAGES_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "invoke", "-r", str(repo.path), "build", *args],
            stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=repo.path,
        )  # fmt: skip
        try:
            yield proc, err
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()


def read_until(proc: subprocess.Popen[str], needle: str) -> list[str]:
    """stdout lines up to the first that contains `needle` (the build's own progress)."""
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"the build ended before printing {needle!r}:\n{''.join(seen)}")


def image_id(ref: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


def buildx_left(prefix: str) -> list[str]:
    """Running buildx command lines of this test (its unique registry prefix)."""
    found = subprocess.run(
        ["pgrep", "-a", "-f", f"buildx build.*{prefix}/"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.splitlines()


def _two_images(repo: Repo, os_image: str, *, slow: bool) -> None:
    """slow (FROM the OS image) -> after; `slow` sleeps in its RUN step when asked."""
    work = f"echo started-{repo.registry} && sleep 30" if slow else "true"
    repo.image("slow", os_image, f"RUN echo {'new' if slow else 'old'} > /v && {work}")
    repo.image("after", "slow", "RUN cat /v > /after")
    repo.commit("slow" if slow else "old")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_buildx_moves_no_ref_and_prints_the_summary(
    repo: Repo, os_image: str, sig: signal.Signals, code: int
) -> None:
    _two_images(repo, os_image, slow=False)
    old = repo.invoke("build", "after", "--registry", repo.registry, "--tag", "t1")
    assert old.returncode == 0, old.stdout + old.stderr
    refs = [repo.ref("slow"), repo.ref("after")]
    before = {ref: image_id(ref) for ref in refs}
    _two_images(repo, os_image, slow=True)
    with invoke_build(repo, "after", "--registry", repo.registry, "--tag", "t1") as (proc, err):
        read_until(proc, f"started-{repo.registry}")
        assert buildx_left(repo.registry), "the RUN step printed, so buildx runs"
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=HANG_GUARD)
        err.seek(0)
        log = err.read()
    assert proc.returncode == code, out + log
    rows = {
        line.split()[0]: line
        for line in out.splitlines()
        if line.split()[:1] in (["slow"], ["after"])
    }
    assert re.search(r"\binterrupted\b.*interrupted by " + sig.name, rows["slow"]), out
    assert "skipped" in rows["after"], out
    assert f"exit code {code}" in out
    assert {ref: image_id(ref) for ref in refs} == before, "a ref moved after the signal"
    assert not buildx_left(repo.registry), "buildx still runs after the build ended"


def test_a_second_build_waits_for_the_first_or_fails_with_no_wait(
    repo: Repo, os_image: str
) -> None:
    repo.image("a", os_image, f"RUN echo a > /a.txt && echo started-{repo.registry} && sleep 20")
    for child in ("b", "c"):
        repo.image(child, "a", f"RUN cat /a.txt > /{child}.txt && echo {child} >> /{child}.txt")
    repo.commit("chain")
    args = ("--registry", repo.registry, "--tag", "t1")
    with invoke_build(repo, "b", *args) as (first, _):
        read_until(first, f"started-{repo.registry}")
        at_once = repo.invoke("build", "c", *args, "--no-wait")
        assert at_once.returncode == 2, at_once.stdout + at_once.stderr
        error = at_once.stderr.strip().splitlines()[-1]
        assert error.startswith("error: another build runs on the engine"), at_once.stderr
        assert f"pid {first.pid} (started " in error, error
        with invoke_build(repo, "c", *args) as (second, second_err):
            second_out, _ = second.communicate(timeout=HANG_GUARD)
            second_err.seek(0)
            waited = second_err.read()
        first_out, _ = first.communicate(timeout=HANG_GUARD)
    assert first.returncode == 0, first_out
    assert second.returncode == 0, second_out + waited
    assert f"waiting for the build of pid {first.pid} (started " in waited, waited
    assert "--no-wait fails at once" in waited
    assert re.search(r"^a\s.*\breused\b", second_out, re.MULTILINE), second_out
    for child in ("b", "c"):
        got = docker("run", "--rm", "--network", "none", repo.ref(child), "cat", f"/{child}.txt")
        assert got.stdout == f"a\n{child}\n"
