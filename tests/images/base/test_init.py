"""The /init contract (s6-overlay's, as docs/contract.md, "Start-up hooks" and "Process and
user", spells it out), tested through a derived image with cont-init scripts and a service
(tests/images/base/derived/), as users extend the images."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest

from tests.harness.containers import ContainerDied, TrackedContainer, TrackedContainers
from tests.harness.images import DerivedImages, files_of
from tests.images.base.conftest import (
    FAILING_SCRIPT,
    HERE,
    LATE_SERVICE,
    SERVICE,
    SMOKE_DIR,
    STUBBORN_SERVICE,
)

SERVICE_DIR = f"/run/service/{SERVICE}"
FAILING_SCRIPT_CODE = 3
"""52-kfnb-smoke-maybe-fail's exit code with SMOKE_FAIL=1."""
LONG_GRACE_MS = 20000
"""S6_SERVICES_GRACETIME of the clean-stop test: long enough that a service which does not
exit on SIGTERM is seen as such (the init's "still running after" line), never killed in
time by chance."""
KILLED = "still running after"
NEVER_READY_SERVICE = "kfnb-never-ready"
RANDOM_USER = "4242:0"
OTHER_USER = "4343:0"
"""Another uid of group 0 than the container's (a second `docker exec -u` of OpenShift's)."""
RUN_FATAL = (
    "[init] fatal: cannot write to /run as uid {uid} gid {gid}; mount a tmpfs on /run or keep "
    "it group-writable"
)


@pytest.fixture(scope="session")
def never_ready_image(derived_image: DerivedImages, image_ref_under_test: str) -> str:
    """Ref of an image FROM the image under test with a service that is never ready."""
    return derived_image(image_ref_under_test, files_of(HERE / "never-ready"))


def _wait_service_up(container: TrackedContainer, *, timeout: float = 120) -> int:
    """PID of the smoke service once s6 reports it up."""
    return container.wait_services_up([SERVICE], timeout=timeout)[SERVICE].pid


def _wait_service_records(container: TrackedContainer) -> None:
    """Until the smoke service's run script has written what it saw at its start (its copy of
    the order, the environment's write bits): s6's "up" means spawned, and the script writes
    `starts` after those."""
    container.wait_until(
        lambda: (
            container.exec(["test", "-s", f"{SMOKE_DIR}/starts"], check=False).code == 0 or None
        ),
        timeout=30,
        message="the service's run script past its records of the start",
    )


def test_cont_init_in_order_before_services_with_container_env(
    containers: TrackedContainers, smoke_image: str
) -> None:
    c = containers.run(image=smoke_image, environment={"SMOKE_VAR": "from-docker-run"})
    _wait_service_up(c)
    _wait_service_records(c)
    order = c.read_file(f"{SMOKE_DIR}/order")
    assert order.split("\n")[:3] == [
        "50 from-docker-run",
        "51 from-docker-run",
        "52 from-docker-run",
    ]
    seen = c.read_file(f"{SMOKE_DIR}/order-seen-by-service")
    assert seen == order, "the service started before the cont-init scripts were done"


@pytest.mark.parametrize(("keep_env", "seen"), [("", "added by 50"), ("1", "unset")])
def test_a_cont_init_script_sees_what_an_earlier_one_added_through_with_contenv(
    containers: TrackedContainers, smoke_image: str, keep_env: str, seen: str
) -> None:
    """50 adds SMOKE_ADDED to the container environment; 51 (`#!/command/with-contenv bash`)
    sees it, unless S6_KEEP_ENV=1; 52 (`#!/bin/sh`) has the init's own environment. The init
    starts with-contenv scripts itself in user mode (s6-envdir, then the program): the same."""
    environment = {"S6_KEEP_ENV": keep_env} if keep_env else {}
    c = containers.run(image=smoke_image, environment=environment, user=RANDOM_USER)
    _wait_service_up(c)
    assert c.read_file(f"{SMOKE_DIR}/added-seen-by-51") == f"{seen}\n"
    assert c.read_file(f"{SMOKE_DIR}/added-seen-by-52") == "unset\n"


@pytest.mark.parametrize(
    ("environment", "seen"),
    [
        ({"SMOKE_CHANGED": "from docker run"}, "changed by 50 unset"),
        ({"SMOKE_EMPTY": ""}, "unset unset"),
    ],
    ids=["a-value-an-earlier-one-changed", "an-empty-value-is-unset"],
)
def test_a_with_contenv_cont_init_script_gets_the_environment_as_s6_envdir_gives_it(
    containers: TrackedContainers, smoke_image: str, environment: dict[str, str], seen: str
) -> None:
    """51 (`#!/command/with-contenv bash`) sees a value 50 changed in the container
    environment, and not a variable whose value is empty (s6-envdir unsets those): the init
    starts such a script without s6-envdir only while s6-envdir would change nothing."""
    c = containers.run(image=smoke_image, environment=environment)
    _wait_service_up(c)
    assert c.read_file(f"{SMOKE_DIR}/env-seen-by-51") == f"{seen}\n"


SMOKE_VALUE = "line one\nline two with  spaces "


@pytest.fixture(scope="module")
def with_smoke_var(module_containers: TrackedContainers, smoke_image: str) -> TrackedContainer:
    """The smoke image with SMOKE_VAR=SMOKE_VALUE, its service up; shared by tests that only
    read it."""
    c = module_containers.run(image=smoke_image, environment={"SMOKE_VAR": SMOKE_VALUE})
    _wait_service_up(c)
    return c


@pytest.mark.parametrize("path", ["/usr/bin/with-contenv", "/command/with-contenv"])
def test_with_contenv_restores_container_env(with_smoke_var: TrackedContainer, path: str) -> None:
    c = with_smoke_var
    result = c.exec(["env", "-i", path, "sh", "-c", 'printf %s "$SMOKE_VAR"'])
    assert (result.stdout, result.stderr) == (SMOKE_VALUE, "")
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


def test_a_service_a_cont_init_script_adds_is_supervised_too(
    containers: TrackedContainers, late_service_image: str
) -> None:
    """/etc/services.d is read once the cont-init scripts are done (base/README.md, "The init",
    step 3): a folder one of them adds is supervised with the image's own services."""
    c = containers.run(image=late_service_image)
    c.wait_services_up([SERVICE, LATE_SERVICE], timeout=120)
    c.wait_until(lambda: "kfnb-late: up" in c.logs(), timeout=30, message="kfnb-late's line")


def test_a_service_a_cont_init_script_removes_is_not_supervised(
    containers: TrackedContainers, removed_service_image: str
) -> None:
    """The init links the image's services while the cont-init scripts run (held down until
    they are done); a folder one of them removed is dropped from the scan directory again, and
    the start goes on with the services left (the image's own; the command runs once they are
    up)."""
    result = containers.run_to_exit(["ls", "/run/service"], image=removed_service_image)
    assert SERVICE not in result.stdout.split(), result.stdout + result.stderr


def test_a_held_service_is_normally_up_once_started(with_smoke_var: TrackedContainer) -> None:
    """The init's `down` file, which held the service while the cont-init scripts ran, is gone
    once it started: s6 reports it up and wanted up, not "normally down" (which a restarted
    supervisor would obey)."""
    c = with_smoke_var
    c.wait_until(
        lambda: c.exec(["test", "-e", f"{SERVICE_DIR}/down"], check=False).code != 0 or None,
        timeout=30,
        message="the init's down file removed",
    )
    status = c.exec(["s6-svstat", SERVICE_DIR]).stdout
    assert status.startswith("up "), status
    assert "normally down" not in status, status


def test_a_with_contenv_bash_script_is_sourced_and_sees_what_bash_would(
    with_smoke_var: TrackedContainer,
) -> None:
    """49 (`#!/command/with-contenv bash`, run while the environment is as the init dumped it)
    runs in a subshell of the init, no new bash (base/README.md, "The init", step 3): its $$ is
    the init's, PID 1, its $BASHPID another. Everything else of its shell is what `bash` running
    the same file sees: $0 and no arguments, the flags and `set -o`/`shopt` options, the umask,
    no function, and the same unexported variables (none of the init's own)."""
    c = with_smoke_var
    c.exec(
        "umask 0002 && KFNB_VIEW=/tmp/kfnb-smoke/view-bash exec bash "
        "/etc/cont-init.d/49-kfnb-smoke-view"
    )
    sourced = c.read_file(f"{SMOKE_DIR}/view-init").split("\n")
    by_bash = c.read_file(f"{SMOKE_DIR}/view-bash").split("\n")
    _, pid, bashpid = sourced[0].split()
    assert pid == "1", sourced[0]
    assert bashpid != "1", sourced[0]
    _, pid, bashpid = by_bash[0].split()
    assert pid == bashpid, by_bash[0]
    assert sourced[1:] == by_bash[1:]


def test_container_variables_named_like_the_init_s_own_keep_their_values(
    containers: TrackedContainers, smoke_image: str
) -> None:
    """`state`, `cmd` and `held` are also variables of the init: the container's values still
    reach the dump, the start-up scripts (none sourced then: 49 ran as its own bash) and the
    command."""
    script = 'echo "$state $cmd $held"; cat /run/s6/container_environment/state; echo'
    result = containers.run_to_exit(
        ["sh", "-c", f"{script}; head -n1 {SMOKE_DIR}/view-init"],
        image=smoke_image,
        environment={"state": "s-value", "cmd": "c-value", "held": "h-value"},
    )
    lines = result.stdout.splitlines()
    assert lines[:2] == ["s-value c-value h-value", "s-value"], result.stdout + result.stderr
    _, pid, bashpid = lines[2].split()
    assert pid == bashpid, lines[2]


def test_finish_script_can_halt_container_with_exit_code(
    containers: TrackedContainers, smoke_image: str
) -> None:
    c = containers.run(image=smoke_image, environment={"SMOKE_HALT_CODE": "42"})
    pid = _wait_service_up(c)
    # The container may be gone before exec reports back, or the init's stop may kill the
    # `kill` itself (exit 137): what counts is the container's exit code below.
    with contextlib.suppress(ContainerDied):
        c.exec(["kill", "-TERM", str(pid)], check=False)
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


SUPERVISOR_WITHOUT_STATUS = r"""
set -u
eval "$(sed -n -e '/^log() /p' -e '/^now_ms() /p' -e '/^listening() {/,/^}/p' \
  -e '/^held_by_image() {/,/^}/p' -e '/^wait_for_services() {/,/^}/p' /init)"
SCAN_DIR=/tmp/kfnb-scan WAIT_MS=60000 waiter=""
mkdir -p "$SCAN_DIR/x/supervise"
printf '#!/bin/sh
exec sleep 120
' >"$SCAN_DIR/x/run" && chmod +x "$SCAN_DIR/x/run"
(s6-setlock "$SCAN_DIR/x/supervise/lock" sleep 1; exec s6-supervise "$SCAN_DIR/x") &
until s6-svok "$SCAN_DIR/x"; do sleep 0.01; done
[ ! -e "$SCAN_DIR/x/supervise/status" ] && echo "locked, no status yet"
wait_for_services && echo "waited: $(s6-svstat -o up "$SCAN_DIR/x")"
"""
"""The moment a service's s6-supervise holds its lock (s6-svok says yes) but has not written
its status yet, held for a second (s6-setlock), then the real supervisor; the init's
wait_for_services on it. In CI the init once took that moment for a failure (s6-svwait:
"unable to s6_svstatus_read") and stopped the container."""


def test_waiting_for_services_tolerates_a_supervisor_without_status_yet(
    containers: TrackedContainers,
) -> None:
    result = containers.run_to_exit(["bash", "-c", SUPERVISOR_WITHOUT_STATUS], check=False)
    assert result.stdout.split("\n")[:2] == ["locked, no status yet", "waited: true"], (
        result.stdout + result.stderr
    )


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


@pytest.mark.parametrize(
    ("options", "uid", "gid"),
    [
        ({"read_only": True, "tmpfs": {"/tmp": ""}}, 1000, 0),
        ({"user": "4242:4242"}, 4242, 4242),
    ],
    ids=["read-only-root-without-run-tmpfs", "gid-not-0"],
)
def test_run_not_writable_is_fatal(
    containers: TrackedContainers, options: dict[str, Any], uid: int, gid: int
) -> None:
    """/run is where the init keeps everything: without it, one line and exit 1, nothing run."""
    result = containers.run_to_exit(["echo", "ran"], check=False, **options)
    assert result.code == 1, result.logs[-2000:]
    assert RUN_FATAL.format(uid=uid, gid=gid) in result.logs.splitlines(), result.logs[-2000:]
    assert result.stdout == "", "the command ran"
    assert "cont-init: running" not in result.logs


def test_services_not_ready_in_time_stop_the_container(
    containers: TrackedContainers, never_ready_image: str
) -> None:
    result = containers.run_to_exit(
        ["echo", "ran"],
        image=never_ready_image,
        environment={"S6_CMD_WAIT_FOR_SERVICES_MAXTIME": "1000"},
        check=False,
    )
    lines = result.logs.splitlines()
    assert result.code == 1, result.logs[-2000:]
    assert f"[init] service {NEVER_READY_SERVICE} is not up" in lines, result.logs[-2000:]
    fatal = (
        "[init] fatal: services not up within 1000 ms (S6_CMD_WAIT_FOR_SERVICES_MAXTIME); "
        "stopping the container (S6_BEHAVIOUR_IF_STAGE2_FAILS=2)"
    )
    assert fatal in lines, result.logs[-2000:]
    assert result.stdout == "", "the command ran"


def test_services_not_ready_in_time_tolerated_when_asked(
    containers: TrackedContainers, never_ready_image: str
) -> None:
    result = containers.run_to_exit(
        ["echo", "ran"],
        image=never_ready_image,
        environment={
            "S6_CMD_WAIT_FOR_SERVICES_MAXTIME": "1000",
            "S6_BEHAVIOUR_IF_STAGE2_FAILS": "1",
        },
    )
    warning = "[init] warning: services not up within 1000 ms (S6_CMD_WAIT_FOR_SERVICES_MAXTIME)"
    assert warning in result.logs.splitlines(), result.logs[-2000:]
    assert result.stdout == "ran\n"


def test_docker_restart_starts_afresh(containers: TrackedContainers, smoke_image: str) -> None:
    """The same container started again: /run and /tmp are as the first start left them. The
    init starts from scratch (cont-init scripts again, a new environment dump, the services
    up), and stops cleanly."""
    c = containers.run(image=smoke_image)
    first = _wait_service_up(c)
    c.write_file("/run/s6/container_environment/KFNB_STALE", b"from the first start")
    c.raw.restart(timeout=30)
    second = _wait_service_up(c)
    print(f"service pid {first} before the restart, {second} after")
    order = c.read_file(f"{SMOKE_DIR}/order").split("\n")
    assert order[:6] == ["50 unset", "51 unset", "52 unset"] * 2, order
    stale = c.exec(["with-contenv", "printenv", "KFNB_STALE"], check=False)
    assert stale.code == 1, f"the first start's environment dump was kept: {stale.stdout}"
    assert c.logs().count("[init] cont-init: running /etc/cont-init.d/50-kfnb-smoke-first") == 2
    c.stop(timeout=30)
    assert c.exit_code() == 0, c.log_tail()
    assert KILLED not in c.logs()


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("256", 255),
        ("1000", 255),
        ("99999999999999999999", 255),
        ("08", 8),
        ("abc", 1),
        ("-3", 1),
    ],
    ids=["256", "1000", "20-digits", "leading-zero", "word", "negative"],
)
def test_exit_code_written_by_a_service(
    containers: TrackedContainers, smoke_image: str, written: str, code: int
) -> None:
    """What a finish script writes to .../exitcode: a number above 255 gives 255 (however
    long), one with leading zeros is decimal (bash read `08` as bad octal and exited 1),
    anything else gives 1, with a line saying why."""
    c = containers.run(image=smoke_image, environment={"SMOKE_HALT_CODE": written})
    pid = _wait_service_up(c)
    with contextlib.suppress(ContainerDied):  # as above: the `kill` may die with the container
        c.exec(["kill", "-TERM", str(pid)], check=False)
    assert c.wait_exit(timeout=60) == code, c.log_tail()
    named = [line for line in c.logs().splitlines() if "not an exit code" in line]
    if written.isdigit():
        assert named == [], named
    else:
        results = "/run/s6-linux-init-container-results"
        assert named == [f"[init] {results}/exitcode holds {written}, not an exit code: exiting 1"]


@pytest.mark.parametrize(
    "value",
    [".*", "a:b", "evil\nroot2:x:0:0:root2:/root:/bin/bash", "-jovyan", "x" * 33],
    ids=["pattern", "colon", "newline-passwd-line", "leading-dash", "33-chars"],
)
def test_a_bad_nb_user_is_named_and_jovyan_used(containers: TrackedContainers, value: str) -> None:
    """NB_USER went unchecked into a grep pattern and a passwd line (00-user-name, for a uid
    without a name): `.*` stopped the container without a word, a newline added a uid-0 entry."""
    script = (
        'printf "%s\\n" "$NB_USER"; whoami; getent passwd root2 || echo no-root2; '
        "awk -F: '$3 == 0' \"$NSS_WRAPPER_PASSWD\""
    )
    result = containers.run_to_exit(
        ["with-contenv", "sh", "-c", script],
        user=RANDOM_USER,
        environment={"NB_USER": value},
        check=False,
    )
    assert result.code == 0, result.logs[-2000:]
    assert result.stdout.splitlines() == [
        "jovyan",
        "jovyan",
        "no-root2",
        "root:x:0:0:root:/root:/bin/bash",
    ]
    named = [line for line in result.logs.splitlines() if "NB_USER=" in line]
    assert len(named) == 1, result.logs[-2000:]
    assert named[0].startswith("[init] NB_USER="), named
    assert named[0].endswith(": using jovyan"), named


@pytest.mark.parametrize(
    ("knob", "value", "default"),
    [
        ("S6_CMD_WAIT_FOR_SERVICES_MAXTIME", "3s", "300000"),
        ("S6_CMD_WAIT_FOR_SERVICES_MAXTIME", "PATH[$(touch /tmp/kfnb-ran)0]", "300000"),
    ],
    ids=["unit", "arithmetic-injection"],
)
def test_a_bad_start_knob_is_named_and_the_default_used(
    containers: TrackedContainers, smoke_image: str, knob: str, value: str, default: str
) -> None:
    """Bash arithmetic on the raw S6_CMD_WAIT_FOR_SERVICES_MAXTIME ended the init at start
    (`3s`) and ran command substitutions in it."""
    result = containers.run_to_exit(
        ["sh", "-c", "test -e /tmp/kfnb-ran && echo ran || echo clean"],
        image=smoke_image,
        environment={knob: value},
        check=False,
    )
    assert result.code == 0, result.logs[-2000:]
    assert result.stdout == "clean\n", "the value's command substitution ran"
    named = [line for line in result.logs.splitlines() if f"{knob}=" in line]
    assert len(named) == 1, result.logs[-2000:]
    assert named[0].endswith(f"using {default}"), named


def test_a_bad_stage2_behaviour_is_named_and_stops_as_the_default(
    containers: TrackedContainers, smoke_image: str
) -> None:
    result = containers.run_to_exit(
        None,
        image=smoke_image,
        environment={"SMOKE_FAIL": "1", "S6_BEHAVIOUR_IF_STAGE2_FAILS": "yes"},
        check=False,
    )
    lines = result.logs.splitlines()
    assert result.code == FAILING_SCRIPT_CODE, result.logs[-2000:]
    assert "[init] S6_BEHAVIOUR_IF_STAGE2_FAILS=yes is not 0, 1 or 2: using 2" in lines


def test_environment_dump_is_writable_by_its_owner_alone(
    containers: TrackedContainers, smoke_image: str
) -> None:
    """The container environment (secrets included) and the supervision tree under /run: no
    group or other write bit (written under umask 0002 they were 0664: any uid of group 0 could
    plant an LD_PRELOAD). The services, the shells and other uids still read it."""
    c = containers.run(["sleep", "infinity"], image=smoke_image, user=RANDOM_USER)
    c.wait_services_up([SERVICE])
    # Under /run/service, the folders (supervise/ and .s6-svscan/ are s6's, 0700: nothing in
    # them can be reached by another uid).
    writable = c.exec(
        "find /run/s6 /run/s6-linux-init-container-results ! -type l -perm /022; "
        "find /run/service -maxdepth 2 ! -type l -perm /022"
    ).stdout
    assert writable == "", f"writable by group or others:\n{writable}"
    # Already so when the service started (00-user-name wrote LD_PRELOAD under umask 0002).
    _wait_service_records(c)
    at_start = c.read_file(f"{SMOKE_DIR}/env-writable-seen-by-service")
    assert at_start == "", f"writable by group or others as the service started:\n{at_start}"
    env_dir = "/run/s6/container_environment"
    planted = c.exec(f"printf /tmp/evil.so >{env_dir}/LD_PRELOAD", user=OTHER_USER, check=False)
    assert planted.code != 0, "another uid of group 0 changed the container environment"
    added = c.exec(f"printf x >{env_dir}/KFNB_PLANTED", user=OTHER_USER, check=False)
    assert added.code != 0, "another uid of group 0 added to the container environment"
    # Still read: by the services' with-contenv and shells of the container's uid and others.
    preload = c.exec(["with-contenv", "printenv", "LD_PRELOAD"]).stdout
    assert preload.endswith("libnss_wrapper.so\n"), preload
    shell = c.exec(["bash", "-lc", 'printf "%s %s" "$LD_PRELOAD" "$(whoami)"']).stdout
    assert shell == f"{preload.strip()} jovyan"
    other = c.exec(["with-contenv", "printenv", "NB_USER"], user=OTHER_USER).stdout
    assert other == "jovyan\n"
