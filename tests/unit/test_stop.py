"""Stopping a build (kfimages.build.stop) and the engine's build lock (kfimages.build.enginelock),
with real process groups, real lock files and the real scheduler (a stub runner only)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from kfimages import engine
from kfimages.build import enginelock
from kfimages.build.report import BuildReport, Result, Status, format_summary
from kfimages.build.schedule import schedule
from kfimages.build.stop import Interrupted, Stop, on_signals
from kfimages.errors import UserError
from kfimages.waiting import poll_until


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_stop_ends_the_whole_process_group_and_later_starts_are_stopped_at_once() -> None:
    stop = Stop()
    proc = engine.stream(["sh", "-c", "sleep 300 & sleep 300; wait"])
    with proc, stop.tracking(proc):
        assert os.getpgid(proc.pid) == proc.pid, "engine.stream leads its own process group"
        stop.request(signal.SIGTERM)
        proc.wait(timeout=60)  # hang guard
    # the group's background sleep, reparented, ends (a zombie until reaped): hang guard 30 s
    poll_until(lambda: not _group_alive(proc.pid), timeout=30, what="the group's end")
    late = engine.stream(["sleep", "300"])
    with late, stop.tracking(late):
        assert late.wait(timeout=60) == -signal.SIGTERM
    with pytest.raises(Interrupted, match="interrupted by SIGTERM: no tag"):
        stop.check("no tag")


def test_on_signals_turns_sigint_into_a_stop_request_and_restores_the_handler() -> None:
    before = signal.getsignal(signal.SIGINT)
    with on_signals(Stop()) as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested
        assert stop.signum == signal.SIGINT
    assert signal.getsignal(signal.SIGINT) is before


def test_the_scheduler_starts_no_step_after_a_stop() -> None:
    stopped = threading.Event()
    started: list[str] = []

    def run(name: str) -> Result:
        started.append(name)
        stopped.set()  # the signal arrives while the first step runs
        return Result(name=name, ref=name, status=Status.INTERRUPTED, reason="stopped")

    results = schedule(
        ["a", "b", "c"], parents={"b": "a"}, refs={n: n for n in "abc"}, run=run, jobs=1,
        stopped=stopped.is_set,
    )  # fmt: skip
    assert started == ["a"]
    assert [r.status for r in results] == [Status.INTERRUPTED, Status.SKIPPED, Status.SKIPPED]
    assert results[2].reason == "not started: the build was interrupted"
    report = BuildReport(results=results, signal=signal.SIGTERM)
    assert report.exit_code == 143
    summary = format_summary(report)
    assert "interrupted by SIGTERM" in summary
    assert summary.endswith(
        "0 built, 0 reused, 0 failed, 0 blocked, 2 skipped, 1 interrupted; exit code 143"
    )


def test_a_second_build_fails_at_once_with_no_wait_naming_the_first(tmp_path: Path) -> None:
    env = {"DOCKER_HOST": "unix:///tmp/some.sock"}
    engine_ = r"another build runs on the engine unix:///tmp/some\.sock under kfnb"
    kfnb = functools.partial(enginelock.exclusive, registry="kfnb", environ=env, directory=tmp_path)
    with kfnb(["a", "b"]) as path:
        assert path.parent == tmp_path
        with (
            pytest.raises(
                UserError,
                match=rf"{engine_}: pid {os.getpid()} \(started \d\d:\d\d:\d\d, a, b\); ",
            ),
            kfnb(["c"], wait=False),
        ):
            pass
        other = {"DOCKER_HOST": "tcp://127.0.0.1:2375"}
        with enginelock.exclusive(["c"], wait=False, registry="kfnb", environ=other,
                                  directory=tmp_path):  # fmt: skip
            pass  # another engine: another lock
        with enginelock.exclusive(["c"], wait=False, registry="kfit-1234", environ=env,
                                  directory=tmp_path):  # fmt: skip
            pass  # another registry prefix: no tag in common, another lock
    with kfnb(["c"], wait=False):
        pass  # released


def test_the_build_lock_is_keyed_by_the_prefix_as_refs_spell_it() -> None:
    key = enginelock.build_key
    assert key("unix:///s", "kfnb") == key("unix:///s", "kfnb/") == "unix:///s kfnb"
    assert key("unix:///s", "docker.io/kfnb") == key("unix:///s", "kfnb")
    assert key("unix:///s", "localhost:5000/team") != key("unix:///s", "team")
    assert key("unix:///s", "kfnb") != key("tcp://h:2375", "kfnb")


def _holder(lock: str, *, path: Path) -> subprocess.Popen[str]:
    """Another process inside `with <lock>:` (Python, kfimages.build.enginelock imported, Path
    too) until its stdin closes; once it says so, the lock file at `path` names it."""
    code = (
        "import sys; from pathlib import Path; from kfimages.build import enginelock\n"
        f"with {lock}:\n"
        "    print('held', flush=True); sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        ["python3", "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )  # fmt: skip
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    assert enginelock.holder(path).startswith(f"pid {holder.pid} (started ")
    return holder


def test_builds_of_two_prefixes_wait_for_each_other_only_on_their_os_image(
    tmp_path: Path,
) -> None:
    env = {"DOCKER_HOST": "unix:///tmp/os.sock"}
    key = enginelock.os_image_key(enginelock.engine_key(env), "debian:trixie-slim")
    holder = _holder(
        f"enginelock.os_image_lock('debian:trixie-slim', environ={env!r}, "
        f"directory=Path({str(tmp_path)!r}))",
        path=enginelock.lock_path(key, directory=tmp_path),
    )
    with enginelock.os_image_lock("debian:trixie-slim-arm64", environ=env, directory=tmp_path):
        pass  # another OS image: not held
    got = threading.Event()

    def take() -> None:
        with enginelock.os_image_lock("debian:trixie-slim", environ=env, directory=tmp_path):
            got.set()

    taker = threading.Thread(target=take)
    taker.start()
    assert not got.wait(timeout=1), "the OS image's lock was taken while another process held it"
    assert holder.stdin is not None
    holder.stdin.close()  # the holder leaves its block and ends
    taker.join(timeout=60)
    assert got.is_set()
    assert holder.wait(timeout=60) == 0


def test_a_waiting_build_goes_on_when_the_holder_ends(tmp_path: Path) -> None:
    env = {"DOCKER_HOST": "unix:///tmp/x.sock"}
    key = enginelock.build_key(enginelock.engine_key(env), "kfnb")
    holder = _holder(
        f"enginelock.exclusive(['held'], registry='kfnb', environ={env!r}, "
        f"directory=Path({str(tmp_path)!r}))",
        path=enginelock.lock_path(key, directory=tmp_path),
    )
    assert holder.stdin is not None
    holder.stdin.close()  # the holder leaves its block and ends
    with enginelock.exclusive(["next"], registry="kfnb", environ=env, directory=tmp_path):
        assert holder.wait(timeout=60) == 0  # hang guard
