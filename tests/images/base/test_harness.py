"""The harness itself, on the image under test: exec raises unless asked for the code, waits
end at once when the container died or a service crash-loops (with that service's error),
and a command's output is its own, whatever the services print.

The crash-loop case is what a new contributor met: a sibling image whose service `run`
execs a program the image lacks made unrelated tests time out one after the other, and a
test that split the container log by lines read the service's error instead of `id -Gn`.
"""

from __future__ import annotations

import time

import pytest

from tests.harness.containers import (
    ContainerDied,
    ExecError,
    ServiceFailed,
    TrackedContainer,
    TrackedContainers,
)
from tests.harness.http import wait_for_http
from tests.images.base.conftest import CRASHING_SERVICE

WAIT_S = 120
"""The waits' timeout. "At once" is told by the exception, not by a clock: a wait that ran
out of time raises a plain AssertionError ("timed out after ..."), which pytest.raises of
ServiceFailed / ContainerDied does not accept; these come from the check run after every
poll. The time taken is printed only."""


@pytest.fixture(scope="module")
def crashing(module_containers: TrackedContainers, crashing_image: str) -> TrackedContainer:
    """A container whose service crash-loops, shared by the tests that only wait on it."""
    return module_containers.run(image=crashing_image)


@pytest.fixture(scope="module")
def sleeping(module_containers: TrackedContainers) -> TrackedContainer:
    """A container of the image under test running `sleep infinity`, shared by the tests that
    only exec read-only commands in it."""
    return module_containers.run(["sleep", "infinity"])


def test_crashing_service_fails_the_wait_at_once_with_its_own_error(
    crashing: TrackedContainer,
) -> None:
    c = crashing
    started = time.monotonic()
    with pytest.raises(ServiceFailed) as failure:
        c.wait_services_up(timeout=WAIT_S)
    took = time.monotonic() - started
    message = str(failure.value)
    print(f"failed after {took:.1f} s:\n{message}")
    assert CRASHING_SERVICE in message
    assert "exited 127" in message  # the shell's "command not found"
    # The service's own error line, from the container log.
    assert "/nonexistent-program: not found" in message


def test_crashing_service_ends_any_wait_at_once(crashing: TrackedContainer) -> None:
    """A wait for something else (a server that never answers) ends too, naming the service."""
    with pytest.raises(ServiceFailed, match=CRASHING_SERVICE):
        wait_for_http(crashing, "http://127.0.0.1:9/", timeout=WAIT_S)


def test_command_output_is_its_own_while_a_service_crash_loops(
    containers: TrackedContainers, crashing_image: str
) -> None:
    result = containers.run_to_exit(["id", "-Gn"], image=crashing_image)
    assert len(result.stdout.splitlines()) == 1, result.stdout
    assert "users" in result.stdout.split(), result.stdout
    assert "nonexistent-program" not in result.stdout + result.stderr
    assert "/nonexistent-program: not found" in result.logs, "the service did not even fail"


def test_wait_ends_at_once_when_the_container_died(containers: TrackedContainers) -> None:
    c = containers.run(["sh", "-c", "echo bye-from-the-command; exit 5"])
    with pytest.raises(ContainerDied) as failure:
        c.wait_until(lambda: None, timeout=WAIT_S, message="something that never comes")
    assert "exit code 5" in str(failure.value)
    assert "bye-from-the-command" in str(failure.value)


def test_exec_raises_unless_the_code_is_asked_for(sleeping: TrackedContainer) -> None:
    c = sleeping
    assert c.exec("echo out; echo err >&2").stdout == "out\n"
    with pytest.raises(ExecError) as failure:
        c.exec("echo the-output; exit 3")
    assert failure.value.result.code == 3
    assert "exit 3" in str(failure.value)
    assert "exited 3" in str(failure.value)
    assert "the-output" in str(failure.value)
    assert c.exec("exit 3", expect_code=3).code == 3
    assert c.exec("exit 4", check=False).code == 4
    with pytest.raises(ExecError, match="exited 0, expected 3"):
        c.exec("true", expect_code=3)


def test_exec_raises_on_a_timeout(sleeping: TrackedContainer) -> None:
    c = sleeping
    with pytest.raises(ExecError, match="timed out after 1s") as failure:
        c.exec(["sleep", "30"], timeout=1, check=False)
    assert failure.value.result.code == 124, "ended by `timeout`, not by sleep's own exit"


def test_run_to_exit_raises_with_the_command_s_output(containers: TrackedContainers) -> None:
    with pytest.raises(ExecError) as failure:
        containers.run_to_exit(["sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 9"])
    assert failure.value.result.code == 9
    assert (failure.value.result.stdout, failure.value.result.stderr) == (
        "to-stdout\n",
        "to-stderr\n",
    )
    result = containers.run_to_exit(["sh", "-c", "exit 9"], expect_code=9)
    assert result.code == 9
