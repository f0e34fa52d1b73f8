"""The /init contract (s6-overlay's, as CONTRACTS.md spells it out), tested through a derived
image with cont-init scripts and a service, as users extend the images."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.images.base.conftest import FAILING_SCRIPT, SERVICE, SMOKE_DIR
from tests.images.helpers import exec_in, wait_until

SERVICE_DIR = f"/run/service/{SERVICE}"


def _logs(container: Any) -> str:
    return str(container.logs().decode("utf-8", "replace"))


def _service_pid(container: Any) -> int | None:
    """PID of the smoke service while s6 reports it up, else None."""
    code, out = exec_in(container, ["s6-svstat", "-o", "up,pid", SERVICE_DIR])
    fields = out.split()
    if code != 0 or len(fields) != 2 or fields[0] != "true":
        return None
    return int(fields[1])


def _wait_service_up(container: Any, *, timeout: float = 120) -> int:
    def probe() -> int | None:
        container.reload()
        if container.status != "running":
            raise AssertionError(f"container stopped:\n{_logs(container)[-3000:]}")
        return _service_pid(container)

    return wait_until(probe, timeout=timeout, message=f"service {SERVICE} up")


def _all_services_up(container: Any) -> list[str]:
    """Names of the supervised services, once every one of them is up; [] while one is not."""
    code, out = exec_in(
        container,
        'for d in /run/service/*/; do echo "${d%/} $(s6-svstat -o up "$d")"; done',
    )
    rows = [line.split() for line in out.splitlines() if line.strip()]
    if code != 0 or not rows or any(len(r) != 2 or r[1] != "true" for r in rows):
        return []
    return [r[0].rsplit("/", 1)[-1] for r in rows]


def test_cont_init_in_order_before_services_with_container_env(
    containers: Any, derived_image: str
) -> None:
    c = containers.run(image=derived_image, environment={"SMOKE_VAR": "from-docker-run"})
    _wait_service_up(c)
    # s6's "up" means spawned: the run script writes `starts` after its copy of `order`.
    wait_until(
        lambda: exec_in(c, ["test", "-s", f"{SMOKE_DIR}/starts"])[0] == 0,
        timeout=30,
        message="the service's run script past its copy of the order",
    )
    _, order = exec_in(c, ["cat", f"{SMOKE_DIR}/order"])
    assert order.split("\n")[:3] == [
        "50 from-docker-run",
        "51 from-docker-run",
        "52 from-docker-run",
    ]
    _, seen = exec_in(c, ["cat", f"{SMOKE_DIR}/order-seen-by-service"])
    assert seen == order, "the service started before the cont-init scripts were done"


@pytest.mark.parametrize("path", ["/usr/bin/with-contenv", "/command/with-contenv"])
def test_with_contenv_restores_container_env(
    containers: Any, derived_image: str, path: str
) -> None:
    value = "line one\nline two with  spaces "
    c = containers.run(image=derived_image, environment={"SMOKE_VAR": value})
    _wait_service_up(c)
    code, out = exec_in(c, ["env", "-i", path, "sh", "-c", 'printf %s "$SMOKE_VAR"'])
    assert (code, out) == (0, value)
    code, out = exec_in(c, ["env", "-i", path, "sh", "-c", 'printf %s "$HOME $NB_USER"'])
    assert (code, out) == (0, "/home/jovyan jovyan")


def test_failing_cont_init_stops_container_and_names_script(
    containers: Any, derived_image: str
) -> None:
    code, logs = containers.run_to_exit(
        image=derived_image, environment={"SMOKE_FAIL": "1", "S6_BEHAVIOUR_IF_STAGE2_FAILS": "2"}
    )
    print(f"exit code {code}; log tail:\n{logs[-600:]}")
    assert code != 0
    assert FAILING_SCRIPT in logs
    assert f"{SERVICE}: service started" not in logs


@pytest.mark.parametrize("behaviour", ["0", "1"])
def test_failing_cont_init_tolerated_when_asked(
    containers: Any, derived_image: str, behaviour: str
) -> None:
    # The command succeeds once the service has started (it records its pid): checking the
    # log line instead raced with the shutdown that follows a quick command.
    wait_for_service = (
        f"for _ in $(seq 200); do [ -s {SMOKE_DIR}/starts ] && exit 0; sleep 0.1; done; exit 7"
    )
    code, logs = containers.run_to_exit(
        ["sh", "-c", wait_for_service],
        image=derived_image,
        environment={"SMOKE_FAIL": "1", "S6_BEHAVIOUR_IF_STAGE2_FAILS": behaviour},
    )
    assert code == 0, f"exit {code} (7: the service never started)\n{logs[-2000:]}"
    warned = f"warning: cont-init script /etc/cont-init.d/{FAILING_SCRIPT}" in logs
    assert warned == (behaviour == "1")


def test_dead_service_is_restarted(containers: Any, derived_image: str) -> None:
    c = containers.run(image=derived_image)
    first = _wait_service_up(c)
    assert exec_in(c, ["kill", "-KILL", str(first)])[0] == 0
    second = wait_until(
        lambda: (pid := _service_pid(c)) and pid != first and pid,
        timeout=30,
        message="service restarted",
    )
    # The new run script records its pid just after s6 reports it up: wait for that line.
    starts = wait_until(
        lambda: (out := exec_in(c, ["cat", f"{SMOKE_DIR}/starts"])[1]).count("\n") >= 2 and out,
        timeout=30,
        message="the restarted service's pid in the starts file",
    )
    assert starts.split() == [str(first), str(second)]
    assert f"{SERVICE}: finish 256 9" in _logs(c)


def test_finish_script_can_halt_container_with_exit_code(
    containers: Any, derived_image: str
) -> None:
    c = containers.run(image=derived_image, environment={"SMOKE_HALT_CODE": "42"})
    pid = _wait_service_up(c)
    exec_in(c, ["kill", "-TERM", str(pid)])
    status = c.wait(timeout=60)
    logs = _logs(c)
    assert status["StatusCode"] == 42, logs[-2000:]
    assert f"{SERVICE}: finish 256 15" in logs


def test_docker_stop_is_clean_and_prompt(
    containers: Any, derived_image: str, record_property: Any
) -> None:
    c = containers.run(image=derived_image)
    _wait_service_up(c)
    wait_until(lambda: _all_services_up(c), timeout=120, message="all services up")
    start = time.monotonic()
    c.stop(timeout=30)
    took = time.monotonic() - start
    print(f"docker stop took {took:.2f} s")
    record_property("docker_stop_seconds", round(took, 2))
    c.reload()
    logs = _logs(c)
    assert c.attrs["State"]["ExitCode"] == 0, logs[-2000:]
    assert f"{SERVICE}: finish 256 15" in logs, "the finish script did not run"


@pytest.mark.parametrize(
    ("command", "code", "output"),
    [(["id", "-u"], 0, "1000"), (["false"], 1, None), (["sh", "-c", "exit 7"], 7, None)],
    ids=["id-u", "false", "exit-7"],
)
def test_command_runs_and_its_exit_code_is_the_container_s(
    containers: Any, command: list[str], code: int, output: str | None
) -> None:
    c = containers.run(command)
    status = c.wait(timeout=120)
    stdout = c.logs(stdout=True, stderr=False).decode()
    assert status["StatusCode"] == code, _logs(c)[-2000:]
    if output is not None:
        assert stdout.strip() == output


def test_command_runs_after_services_are_up(containers: Any, derived_image: str) -> None:
    # What /init promises is s6's "up" (the run script spawned), not that the script got as
    # far as writing a file: reading SMOKE_DIR/starts here raced with the service's bash.
    code, logs = containers.run_to_exit(
        ["s6-svstat", "-o", "up,pid", SERVICE_DIR], image=derived_image
    )
    assert code == 0, logs[-2000:]
    states = [line.split() for line in logs.splitlines() if line.startswith(("true ", "false "))]
    assert len(states) == 1, logs[-2000:]
    up, pid = states[0]
    assert up == "true", logs[-2000:]
    assert int(pid) > 0, logs[-2000:]


RESTRICTED = {
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
def test_runs_restricted(containers: Any, derived_image: str, options: dict[str, Any]) -> None:
    c = containers.run(image=derived_image, **options)
    _wait_service_up(c)
    services = wait_until(lambda: _all_services_up(c), timeout=120, message="all services up")
    print(f"services up: {services}")
    _, uid = exec_in(c, f"stat -c %u /proc/{_service_pid(c)}")
    assert uid.strip() == options.get("user", "1000").split(":")[0]


def test_quick_commands_never_hang(containers: Any) -> None:
    """A command that ends at once must not race the start of s6-svscan (a hang seen once)."""
    for _ in range(8):
        code, logs = containers.run_to_exit(["true"], timeout=60)
        assert code == 0, logs[-2000:]
