"""How /init stops (base/README.md, "The init", step 7), beyond the services: processes it
adopted as PID 1 (a `nohup`'d or setsid'd job whose parent is gone) get SIGTERM, then the
grace time, then SIGKILL, like the services; a second container in the same PID namespace
(`--pid=container:`, Kubernetes' shareProcessNamespace) stops at once, its init waiting for
its own supervision tree only; a bad S6_SERVICES_GRACETIME neither breaks the stop nor runs
anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.images.base.conftest import SERVICE

OUT = "/kfnb-out"
"""A host folder every uid may write to, mounted in the container: what a process wrote there
is still there after the container stopped."""
LONG_GRACE_MS = 20000
"""A grace time no clean stop needs: a process left waiting is seen (the init's line)."""
STOP_TIMEOUT_S = LONG_GRACE_MS // 1000 + 20
"""docker stop's own limit: past the grace time, so the init always speaks first."""
KILLED = "still running after"
ORPHAN = (
    'setsid nohup sh -c \'echo $$ >{out}/orphan.pid; trap "{on_term}" TERM; '
    "while :; do sleep 0.1; done' >/dev/null 2>&1 &"
)
"""A background job that outlives the shell that started it: PID 1 (the init) adopts it."""


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    folder.chmod(0o777)
    return folder


def _volumes(folder: Path) -> dict[str, dict[str, str]]:
    return {str(folder): {"bind": OUT, "mode": "rw"}}


def _start_orphan(c: TrackedContainer, out_dir: Path, *, on_term: str) -> int:
    """Start ORPHAN in `c`; its pid once PID 1 has adopted it."""
    c.exec(ORPHAN.format(out=OUT, on_term=on_term))
    pid_file = out_dir / "orphan.pid"

    def adopted() -> int | None:
        if not pid_file.exists() or not pid_file.read_text().strip():
            return None
        pid = int(pid_file.read_text())
        ppid = c.exec(["ps", "-o", "ppid=", "-p", str(pid)], check=False).stdout.strip()
        return pid if ppid == "1" else None

    return c.wait_until(adopted, timeout=30, message="the job adopted by PID 1")


def test_an_adopted_process_gets_sigterm_before_the_init_exits(
    containers: TrackedContainers, smoke_image: str, out_dir: Path
) -> None:
    c = containers.run(
        image=smoke_image,
        volumes=_volumes(out_dir),
        environment={"S6_SERVICES_GRACETIME": str(LONG_GRACE_MS)},
    )
    c.wait_services_up([SERVICE])
    _start_orphan(c, out_dir, on_term=f"echo TERM >{OUT}/termed; exit 0")
    c.stop(timeout=STOP_TIMEOUT_S)
    logs = c.logs()
    termed = out_dir / "termed"
    assert termed.exists(), f"the adopted job never got SIGTERM:\n{logs[-2000:]}"
    assert termed.read_text() == "TERM\n"
    assert KILLED not in logs, logs[-2000:]
    assert c.exit_code() == 0, logs[-2000:]


def test_an_adopted_process_ignoring_sigterm_is_killed_after_the_grace_time(
    containers: TrackedContainers, smoke_image: str, out_dir: Path
) -> None:
    """The init waits for it the grace time, says so, kills it, and still exits 0."""
    grace_ms = 2000
    c = containers.run(
        image=smoke_image,
        volumes=_volumes(out_dir),
        environment={"S6_SERVICES_GRACETIME": str(grace_ms)},
    )
    c.wait_services_up([SERVICE])
    _start_orphan(c, out_dir, on_term="")  # trap '' TERM: ignored
    c.stop(timeout=60)
    logs = c.logs()
    line = f"[init] {KILLED} {grace_ms} ms (S6_SERVICES_GRACETIME): killing what is left"
    assert line in logs.splitlines(), f"the init did not wait for the job:\n{logs[-2000:]}"
    assert c.exit_code() == 0, logs[-2000:]


def test_a_container_sharing_the_pid_namespace_waits_for_its_own_services_only(
    containers: TrackedContainers, smoke_image: str
) -> None:
    """With `--pid=container:<first>` the second init sees the first one's s6-supervise
    processes in /proc; they are not its own, and its stop must not wait for them."""
    first = containers.run(image=smoke_image)
    first.wait_services_up([SERVICE])
    second = containers.run(
        image=smoke_image,
        pid_mode=f"container:{first.id}",
        environment={"S6_SERVICES_GRACETIME": str(LONG_GRACE_MS)},
    )
    second.wait_services_up([SERVICE])
    second.stop(timeout=STOP_TIMEOUT_S)
    logs = second.logs()
    assert KILLED not in logs, f"the second init waited for the first one's tree:\n{logs[-2000:]}"
    assert second.exit_code() == 0, logs[-2000:]
    assert f"{SERVICE}: finish 256 15" in logs, "its own service was not stopped"
    assert first.is_running(), first.log_tail()
    first.wait_services_up([SERVICE])


@pytest.mark.parametrize(
    "value",
    ["3s", f"PATH[$(echo ran >{OUT}/ran)0]", "-1", "1e3", "99999999999999999999"],
    ids=["unit", "arithmetic-injection", "negative", "exponent", "too-big"],
)
def test_a_bad_grace_time_is_named_and_the_default_used(
    containers: TrackedContainers, smoke_image: str, out_dir: Path, value: str
) -> None:
    """Bash arithmetic on the raw value ended the init's own stop (`3s`: the services were
    never stopped, exit 1) and ran command substitutions in it."""
    c = containers.run(
        image=smoke_image,
        volumes=_volumes(out_dir),
        environment={"S6_SERVICES_GRACETIME": value},
    )
    c.wait_services_up([SERVICE])
    c.stop(timeout=60)
    logs = c.logs()
    assert c.exit_code() == 0, logs[-2000:]
    assert f"{SERVICE}: finish 256 15" in logs, f"the service was not stopped:\n{logs[-2000:]}"
    assert not (out_dir / "ran").exists(), "the value's command substitution ran"
    named = [line for line in logs.splitlines() if "S6_SERVICES_GRACETIME=" in line]
    assert len(named) == 1, logs[-2000:]
    assert "using 3000" in named[0], named
