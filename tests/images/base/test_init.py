"""The /init contract (s6-overlay's, as docs/contract.md, "Start-up hooks" and "Process and
user", spells it out), tested through a derived image with cont-init scripts and a service
(tests/images/base/derived/), as users extend the images."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest

from tests.harness.containers import ContainerDied, TrackedContainer, TrackedContainers
from tests.images.base.conftest import FAILING_SCRIPT, SERVICE, SMOKE_DIR, STUBBORN_SERVICE

SERVICE_DIR = f"/run/service/{SERVICE}"
FAILING_SCRIPT_CODE = 3
"""52-kfnb-smoke-maybe-fail's exit code with SMOKE_FAIL=1."""
LONG_GRACE_MS = 20000
"""S6_SERVICES_GRACETIME of the clean-stop test: long enough that a service which does not
exit on SIGTERM is seen as such (the init's "still running after" line), never killed in
time by chance."""
KILLED = "still running after"


def _wait_service_up(container: TrackedContainer, *, timeout: float = 120) -> int:
    """PID of the smoke service once s6 reports it up."""
    return container.wait_services_up([SERVICE], timeout=timeout)[SERVICE].pid


def test_cont_init_in_order_before_services_with_container_env(
    containers: TrackedContainers, smoke_image: str
) -> None:
    c = containers.run(image=smoke_image, environment={"SMOKE_VAR": "from-docker-run"})
    _wait_service_up(c)
    # s6's "up" means spawned: the run script writes `starts` after its copy of `order`.
    c.wait_until(
        lambda: c.exec(["test", "-s", f"{SMOKE_DIR}/starts"], check=False).code == 0,
        timeout=30,
        message="the service's run script past its copy of the order",
    )
    order = c.read_file(f"{SMOKE_DIR}/order")
    assert order.split("\n")[:3] == [
        "50 from-docker-run",
        "51 from-docker-run",
        "52 from-docker-run",
    ]
    seen = c.read_file(f"{SMOKE_DIR}/order-seen-by-service")
    assert seen == order, "the service started before the cont-init scripts were done"


@pytest.mark.parametrize("path", ["/usr/bin/with-contenv", "/command/with-contenv"])
def test_with_contenv_restores_container_env(
    containers: TrackedContainers, smoke_image: str, path: str
) -> None:
    value = "line one\nline two with  spaces "
    c = containers.run(image=smoke_image, environment={"SMOKE_VAR": value})
    _wait_service_up(c)
    result = c.exec(["env", "-i", path, "sh", "-c", 'printf %s "$SMOKE_VAR"'])
    assert (result.stdout, result.stderr) == (value, "")
    result = c.exec(["env", "-i", path, "sh", "-c", 'printf %s "$HOME $NB_USER"'])
    assert (result.stdout, result.stderr) == ("/home/jovyan jovyan", "")


def test_failing_cont_init_stops_container_and_names_script(
    containers: TrackedContainers, smoke_image: str
) -> None:
    result = containers.run_to_exit(
        None,
        image=smoke_image,
        environment={"SMOKE_FAIL": "1", "S6_BEHAVIOUR_IF_STAGE2_FAILS": "2"},
        check=False,
    )
    print(f"exit code {result.code}; log tail:\n{result.logs[-600:]}")
    # The script's own code (52-kfnb-smoke-maybe-fail exits 3), and the init's own line: the
    # script's echo also names it, so only the `fatal:` line proves the init said why.
    assert result.code == FAILING_SCRIPT_CODE, result.logs[-2000:]
    fatal = (
        f"[init] fatal: cont-init script /etc/cont-init.d/{FAILING_SCRIPT} exited "
        f"{FAILING_SCRIPT_CODE}; stopping the container (S6_BEHAVIOUR_IF_STAGE2_FAILS=2)"
    )
    assert fatal in result.logs.splitlines(), result.logs[-2000:]
    assert f"{SERVICE}: service started" not in result.logs


@pytest.mark.parametrize("behaviour", ["0", "1"])
def test_failing_cont_init_tolerated_when_asked(
    containers: TrackedContainers, smoke_image: str, behaviour: str
) -> None:
    # The command succeeds once the service has started (it records its pid): checking the
    # log line instead raced with the shutdown that follows a quick command. Exit 7: the
    # service never started.
    wait_for_service = (
        f"for _ in $(seq 200); do [ -s {SMOKE_DIR}/starts ] && exit 0; sleep 0.1; done; exit 7"
    )
    result = containers.run_to_exit(
        ["sh", "-c", wait_for_service],
        image=smoke_image,
        environment={"SMOKE_FAIL": "1", "S6_BEHAVIOUR_IF_STAGE2_FAILS": behaviour},
    )
    warned = f"warning: cont-init script /etc/cont-init.d/{FAILING_SCRIPT}" in result.logs
    assert warned == (behaviour == "1"), result.logs[-2000:]


def test_dead_service_is_restarted(containers: TrackedContainers, smoke_image: str) -> None:
    c = containers.run(image=smoke_image)
    first = _wait_service_up(c)
    c.exec(["kill", "-KILL", str(first)])

    def restarted() -> int | None:
        state = c.service(SERVICE)
        return state.pid if state is not None and state.up and state.pid != first else None

    # The service is down on purpose for a moment: services=False.
    second = c.wait_until(restarted, timeout=30, message="service restarted", services=False)

    # The new run script records its pid just after s6 reports it up: wait for that line.
    def two_starts() -> str | None:
        out = c.read_file(f"{SMOKE_DIR}/starts")
        return out if out.count("\n") >= 2 else None

    starts = c.wait_until(
        two_starts,
        timeout=30,
        message="the restarted service's pid in the starts file",
        services=False,
    )
    assert starts.split() == [str(first), str(second)]
    assert f"{SERVICE}: finish 256 9" in c.logs()


def test_finish_script_can_halt_container_with_exit_code(
    containers: TrackedContainers, smoke_image: str
) -> None:
    c = containers.run(image=smoke_image, environment={"SMOKE_HALT_CODE": "42"})
    pid = _wait_service_up(c)
    with contextlib.suppress(ContainerDied):  # it may be gone before exec reports back
        c.exec(["kill", "-TERM", str(pid)])
    code = c.wait_exit(timeout=60)
    logs = c.logs()
    assert code == 42, logs[-2000:]
    assert f"{SERVICE}: finish 256 15" in logs


def test_docker_stop_is_clean_and_prompt(
    containers: TrackedContainers, smoke_image: str, record_property: Any
) -> None:
    """Every service of the image (its own and the smoke service) exits on SIGTERM: with a
    long grace time the init never has to kill anything (its "still running after" line
    would say so), and the container exits 0 before docker's own SIGKILL (137). How long the
    stop takes is recorded (docker_stop_seconds), not judged: speed belongs to the bench
    (docs/contract.md, "Process and user": the aim is under 5 s)."""
    c = containers.run(image=smoke_image, environment={"S6_SERVICES_GRACETIME": str(LONG_GRACE_MS)})
    services = c.wait_services_up()
    assert SERVICE in services
    start = time.monotonic()
    c.stop(timeout=LONG_GRACE_MS // 1000 + 10)
    took = time.monotonic() - start
    print(f"docker stop of {sorted(services)} took {took:.2f} s")
    record_property("docker_stop_seconds", round(took, 2))
    logs = c.logs()
    assert KILLED not in logs, f"a service did not exit on SIGTERM:\n{logs[-2000:]}"
    assert c.exit_code() == 0, logs[-2000:]
    assert f"{SERVICE}: finish 256 15" in logs, "the finish script did not run"


def test_a_service_ignoring_sigterm_is_killed_after_the_grace_time(
    containers: TrackedContainers, stubborn_image: str
) -> None:
    """The forced path: the init waits S6_SERVICES_GRACETIME, says so, kills what is left,
    and exits 0 (a stop, not a failure) long before docker's own SIGKILL."""
    grace_ms = 2000
    c = containers.run(image=stubborn_image, environment={"S6_SERVICES_GRACETIME": str(grace_ms)})
    c.wait_services_up([STUBBORN_SERVICE])
    start = time.monotonic()
    c.stop(timeout=60)
    took = time.monotonic() - start
    logs = c.logs()
    print(f"docker stop took {took:.2f} s; log tail:\n{logs[-800:]}")
    line = f"[init] {KILLED} {grace_ms} ms (S6_SERVICES_GRACETIME): killing what is left"
    assert line in logs.splitlines(), logs[-2000:]
    # A lower bound only (load cannot make a stop faster): the init waited the grace time.
    # That the init, not docker's SIGKILL after 60 s, ended it: its line above and exit 0.
    assert took >= grace_ms / 1000, "killed before the grace time was over"
    assert c.exit_code() == 0, logs[-2000:]


@pytest.mark.parametrize(
    ("command", "code", "output"),
    [(["id", "-u"], 0, "1000"), (["false"], 1, None), (["sh", "-c", "exit 7"], 7, None)],
    ids=["id-u", "false", "exit-7"],
)
def test_command_runs_and_its_exit_code_is_the_container_s(
    containers: TrackedContainers, command: list[str], code: int, output: str | None
) -> None:
    # The contract itself: the command's stdout reaches `docker logs` and its exit code is the
    # container's. The image's own services may log to stdout as well: look for the line.
    c = containers.run(command)
    status = c.wait_exit(timeout=120)
    assert status == code, c.log_tail()
    if output is not None:
        assert output in c.logs(stderr=False).splitlines(), c.log_tail()


def test_command_runs_after_services_are_up(
    containers: TrackedContainers, smoke_image: str
) -> None:
    # What /init promises is s6's "up" (the run script spawned), not that the script got as
    # far as writing a file: reading SMOKE_DIR/starts here raced with the service's bash.
    result = containers.run_to_exit(["s6-svstat", "-o", "up,pid", SERVICE_DIR], image=smoke_image)
    up, pid = result.stdout.split()
    assert up == "true", result.stdout
    assert int(pid) > 0, result.stdout


RESTRICTED: dict[str, dict[str, Any]] = {
    "random-uid-gid-0": {"user": "123456:0"},
    "cap-drop-all": {"cap_drop": ["ALL"]},
    "read-only-root": {"read_only": True, "tmpfs": {"/tmp": "", "/run": ""}},
    "all-at-once": {
        "user": "123456:0",
        "cap_drop": ["ALL"],
        "read_only": True,
        "tmpfs": {"/tmp": "", "/run": ""},
    },
}


@pytest.mark.parametrize("options", list(RESTRICTED.values()), ids=list(RESTRICTED))
def test_runs_restricted(
    containers: TrackedContainers, smoke_image: str, options: dict[str, Any]
) -> None:
    c = containers.run(image=smoke_image, **options)
    services = c.wait_services_up()
    print(f"services up: {sorted(services)}")
    uid = c.exec(f"stat -c %u /proc/{services[SERVICE].pid}").stdout
    assert uid.strip() == str(options.get("user", "1000")).split(":")[0]


def test_quick_commands_never_hang(containers: TrackedContainers) -> None:
    """A command that ends at once must not race the start of s6-svscan (a hang seen once)."""
    for _ in range(8):
        containers.run_to_exit(["true"], timeout=60)
