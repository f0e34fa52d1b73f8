"""Root mode (base/README.md, "Root mode"): the init runs as root, and nothing it or its
supervisors run, source or search is the notebook's user's to change. As that user (uid 1000,
group 0, a `docker exec` standing for a shell in the notebook): replacing a service's `run`,
writing the container environment or a start-up script fails, the service-swap attack (replace
the `run` link, kill the service, root's supervisor restarts it) runs nothing as root, nor does
a program planted in a folder of theirs on the PATH. The services and the start-up scripts that
touch the home run as the user, as in user mode; the ones that must be root's (the CA bundle)
write what the user's shells read. Root refuses s6 folders the user could change, with one line
naming the fix. Run for every image: each one's services are checked in root mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.harness.images import DerivedImages
from tests.images.base.root_mode import RECIPE, SERVICE, USER_BIN, root_mode_image
from tests.images.base.runtime_ca import CA_VARIABLES, RUNTIME_BUNDLE, make_pki

USER = "1000:0"
"""The notebook's user, as a shell in the notebook is."""
ENV_DIR = "/run/s6/container_environment"
SUPERVISION = {"init", "s6-svscan", "s6-supervise"}
"""What may run as root in root mode: the init and s6's supervisors, nothing they start."""
PLANTED_LOG = "/tmp/kfnb-planted.log"
EVIL_OUT = "/tmp/kfnb-evil.out"
FIX = (
    "Give the s6 folders to root in the image (USER 0, then RUN chown -R 0:0 /etc/cont-init.d "
    "/etc/services.d && chmod -R go-w /etc/cont-init.d /etc/services.d"
)


@pytest.fixture(scope="session")
def root_image(derived_image: DerivedImages, image_ref_under_test: str) -> str:
    return root_mode_image(derived_image, image_ref_under_test)


def _start(containers: TrackedContainers, image: str, **kwargs: Any) -> TrackedContainer:
    c = containers.run(image=image, **kwargs)
    c.wait_services_up()
    return c


def _root_processes(c: TrackedContainer) -> list[str]:
    """`pid comm` of the processes running as root, besides the `ps` itself."""
    out = c.exec(["ps", "-eo", "pid=,uid=,comm="], user=USER).stdout
    return [
        f"{pid} {comm}"
        for pid, uid, comm in (line.split(None, 2) for line in out.splitlines())
        if uid == "0" and comm != "ps"
    ]


def _only_supervision_as_root(c: TrackedContainer) -> None:
    others = [p for p in _root_processes(c) if p.split(None, 1)[1] not in SUPERVISION]
    assert others == [], f"running as root besides the init and s6: {others}"


def _supervised(c: TrackedContainer) -> set[int]:
    """The pids of what s6-supervise processes run (found through ps, whatever the user did
    to /run/service)."""
    rows = [line.split() for line in c.exec(["ps", "-eo", "pid=,ppid=,comm="]).stdout.splitlines()]
    supervisors = {pid for pid, _, comm in rows if comm == "s6-supervise"}
    return {int(pid) for pid, ppid, _ in rows if ppid in supervisors}


def _restart_service(c: TrackedContainer, pid: int) -> None:
    """Kill the test service's process `pid` as the user (it runs as the user) and wait until
    its supervisor has started it again."""
    before = _supervised(c)
    c.exec(["kill", "-KILL", str(pid)], user=USER)
    c.wait_until(
        lambda: _supervised(c) - before,
        timeout=60,
        message="the service restarted by its supervisor",
        services=False,
    )


def test_root_refuses_s6_folders_the_user_can_change(containers: TrackedContainers) -> None:
    """The image as built (the s6 folders are jovyan's, group-writable: user mode) run as root:
    one line naming what and the fix, exit 1, nothing run."""
    result = containers.run_to_exit(["echo", "ran"], user="0", check=False)
    fatal = [line for line in result.logs.splitlines() if line.startswith("[init] fatal:")]
    assert result.code == 1, result.logs[-2000:]
    assert len(fatal) == 1, result.logs[-2000:]
    assert "running as root, but /etc/" in fatal[0], fatal
    assert "belongs to uid 1000" in fatal[0] or "writable by group 0" in fatal[0], fatal
    assert FIX in fatal[0], fatal
    assert result.stdout == "", "the command ran"
    assert "cont-init: running" not in result.logs


def test_root_refuses_a_script_added_for_the_user_after_the_recipe(
    containers: TrackedContainers, derived_image: DerivedImages, root_image: str
) -> None:
    """A later layer that adds a start-up script the way user mode does (jovyan's, g=u)."""
    script = "#!/bin/sh\necho 70-late ran as $(id -u)\n"
    dockerfile = (
        "ARG BASE_IMG\nFROM $BASE_IMG\n"
        "COPY --chown=1000:0 70-late /etc/cont-init.d/70-late\n"
        "RUN chmod g=u /etc/cont-init.d/70-late\n"
    )
    image = derived_image(root_image, {"70-late": script}, dockerfile=dockerfile)
    result = containers.run_to_exit(["echo", "ran"], image=image, check=False)
    fatal = [line for line in result.logs.splitlines() if line.startswith("[init] fatal:")]
    assert result.code == 1, result.logs[-2000:]
    assert len(fatal) == 1, result.logs[-2000:]
    assert "/etc/cont-init.d/70-late belongs to uid 1000" in fatal[0], fatal
    assert "70-late ran" not in result.logs


def test_the_user_cannot_change_what_root_runs(
    containers: TrackedContainers, root_image: str
) -> None:
    c = _start(containers, root_image)
    attempts = {
        "replace the service's run link": f"ln -sfn /tmp/x /run/service/{SERVICE}/run",
        "rename the scan directory": "mv /run/service /run/service.old",
        "edit the service's run": f"echo true >>/etc/services.d/{SERVICE}/run",
        "add a start-up script": "printf '#!/bin/sh\\n' >/etc/cont-init.d/99-mine",
        "edit a start-up script": "echo true >>/etc/cont-init.d/01-home-skeleton",
        "write the container environment": f"printf /tmp/x.so >{ENV_DIR}/LD_PRELOAD",
        "add to the container environment": f"printf x >{ENV_DIR}/BASH_ENV",
        "write the start copy": f"printf x >{ENV_DIR}.start/PATH",
        "rename the dump's folder": "mv /run/s6 /run/s6.old",
        "write the exit code": "echo 3 >/run/s6-linux-init-container-results/exitcode",
        "subscribe to the service's events": f"mkfifo /run/service/{SERVICE}/event/ftrig1x",
    }
    done = {
        what: result.output
        for what, command in attempts.items()
        if (result := c.exec(command, user=USER, check=False)).code == 0
    }
    assert done == {}, f"the notebook's user could: {sorted(done)}"
    writable = c.exec(
        "find /run/s6 /run/s6-linux-init-container-results /etc/cont-init.d /etc/services.d "
        "\\( ! -user 0 -o ! -type l -perm /022 \\) -print; "
        "find /run/service -maxdepth 2 \\( ! -user 0 -o ! -type l -perm /022 \\) -print"
    ).stdout
    assert writable == "", f"not root's alone:\n{writable}"


def test_the_service_swap_attack_runs_nothing_as_root(
    containers: TrackedContainers, root_image: str
) -> None:
    """As the user: point the service's `run` at a script of theirs (directly, or through a
    scan directory of their own), kill the service, let root's supervisor restart it."""
    c = _start(containers, root_image)
    pid = c.wait_services_up([SERVICE])[SERVICE].pid
    evil = f"#!/bin/sh\nid -u >>{EVIL_OUT}\nexec sleep infinity\n"
    c.write_file("/tmp/kfnb-evil", evil.encode(), user=USER)
    c.exec(["chmod", "755", "/tmp/kfnb-evil"], user=USER)
    c.exec(f"ln -sfn /tmp/kfnb-evil /run/service/{SERVICE}/run", user=USER, check=False)
    c.exec(
        f"mv /run/service /run/service.old && mkdir -p /run/service/{SERVICE} && "
        f"ln -s /tmp/kfnb-evil /run/service/{SERVICE}/run",
        user=USER,
        check=False,
    )
    _restart_service(c, pid)
    ran = c.exec(f"cat {EVIL_OUT} 2>/dev/null || true").stdout
    assert "0" not in ran.split(), "the user's script ran as root"
    assert ran == "", f"the user's script ran (as {ran.split()})"
    _only_supervision_as_root(c)


def test_root_runs_no_program_planted_on_the_path(
    containers: TrackedContainers, root_image: str
) -> None:
    """A folder of the user's first on the image's PATH (as jupyter's /opt/venv/bin): root's
    `#!/command/with-contenv bash` and its scripts' `id`, `mkdir`, ... are not looked up
    there, neither when the supervisor restarts a service nor after `docker restart`. (Not
    `sh`: the harness's own `docker exec`s as root look it up on the image's PATH, which is
    `docker exec -u 0`'s business, not root mode's; the log is read by full path.)"""
    c = _start(containers, root_image)
    pid = c.wait_services_up([SERVICE])[SERVICE].pid
    for name in ("bash", "id", "mkdir", "cat", "s6-setuidgid", "env", "sleep", "openssl"):
        planted = (
            f'#!/bin/sh\necho "{name} $(/usr/bin/id -u)" >>{PLANTED_LOG}\n'
            f'exec /usr/bin/{name} "$@"\n'
        )
        c.write_file(f"{USER_BIN}/{name}", planted.encode(), user=USER)
        c.exec(["chmod", "755", f"{USER_BIN}/{name}"], user=USER)
    _restart_service(c, pid)
    c.raw.restart(timeout=30)
    c.wait_services_up()
    log = c.exec(["/usr/bin/cat", PLANTED_LOG], check=False).stdout
    print(f"planted programs run:\n{log}")
    as_root = [line for line in log.splitlines() if line.endswith(" 0")]
    assert as_root == [], f"root ran the user's programs: {as_root}"
    _only_supervision_as_root(c)


def test_root_mode_runs_the_services_and_home_as_user_mode(
    containers: TrackedContainers, image_ref_under_test: str, root_image: str, home_volume: str
) -> None:
    """Every service of the image runs as the user, as it does in user mode (Jupyter refused
    root and crash-looped; code-server and RStudio ran as root), and what start-up and the
    services put in an empty home belongs to the user (60-codeserver, 55-r-user-library
    made root's folders there)."""
    volumes = {home_volume: {"bind": "/home/jovyan", "mode": "rw"}}
    c = _start(containers, root_image, volumes=volumes)
    services = c.wait_services_up()
    user_mode = _start(containers, image_ref_under_test)
    expected = user_mode.wait_services_up()

    def program(container: TrackedContainer, pid: int) -> str:
        return container.exec(f"stat -c %u /proc/{pid}; cat /proc/{pid}/comm").stdout

    for name, state in services.items():
        seen = program(c, state.pid).split()
        assert seen[0] == "1000", f"service {name} runs as uid {seen[0]} ({seen[1]})"
        if name in expected:
            assert seen == program(user_mode, expected[name].pid).split(), name
    _only_supervision_as_root(c)
    not_users = c.exec("find /home/jovyan ! -user 1000 -printf '%u %p\\n'").stdout
    assert not_users == "", f"in the home, not the user's:\n{not_users}"
    assert c.exec("stat -c %U /home/jovyan/.bashrc").stdout.strip() == "jovyan"


def test_root_start_up_writes_what_the_users_shells_read(
    containers: TrackedContainers, root_image: str, tmp_path: Path
) -> None:
    """00-ca-certificates runs as root: its bundle and the container environment it changes
    are root's alone, and the user's login shells read them."""
    pki = make_pki(tmp_path / "pki")
    c = _start(containers, root_image, volumes=pki.volumes())
    shell = c.exec(
        ["bash", "-lc", f'echo "$SSL_CERT_FILE $(whoami)"; test -r {RUNTIME_BUNDLE} && echo ok'],
        user=USER,
    ).stdout.split()
    assert shell == [RUNTIME_BUNDLE, "jovyan", "ok"], shell
    for variable in CA_VARIABLES:
        assert c.read_file(f"{ENV_DIR}/{variable}", user=USER) == RUNTIME_BUNDLE
    owners = c.exec(f"stat -c '%U %a %n' /run/kubeflow {RUNTIME_BUNDLE}").stdout.splitlines()
    assert owners == ["root 2755 /run/kubeflow", f"root 644 {RUNTIME_BUNDLE}"], owners
    replaced = c.exec(f"printf x >{RUNTIME_BUNDLE}", user=USER, check=False)
    assert replaced.code != 0, "the user changed root's CA bundle"


def test_a_root_shell_takes_nothing_another_uid_can_change(
    containers: TrackedContainers, root_image: str
) -> None:
    """A root login shell imports the container environment only when root's init wrote all of
    it and only root can change it: one file that is not (here made the user's) and it takes
    nothing."""
    c = _start(containers, root_image, environment={"KFNB_SMOKE_A": "from-the-pod"})
    c.exec(f"printf from-start-up >{ENV_DIR}/KFNB_SMOKE_A")  # as a root start-up script would
    shell = ["bash", "-lc", 'printf %s "${KFNB_SMOKE_A}"']
    assert c.exec(shell).stdout == "from-start-up"  # root's alone: taken
    c.exec(f"printf planted >{ENV_DIR}/KFNB_SMOKE_B && chown 1000 {ENV_DIR}/KFNB_SMOKE_B")
    assert c.exec(shell).stdout == "from-the-pod", "a root shell took a file of another uid"


def test_with_contenv_as_root_takes_no_environment_another_uid_wrote(
    containers: TrackedContainers,
) -> None:
    """User mode (a random uid: 00-user-name puts nss_wrapper's LD_PRELOAD in the container
    environment, which that uid owns): `with-contenv` run as root must not load it."""
    c = containers.run(["sleep", "infinity"], user="4242:0")
    c.wait_until(
        lambda: c.exec(["pgrep", "-x", "sleep"], check=False).code == 0,
        timeout=60,
        message="the command running",
    )
    assert c.exec(["with-contenv", "printenv", "LD_PRELOAD"]).stdout.strip()  # the uid's own
    result = c.exec(["with-contenv", "sh", "-c", 'echo "${LD_PRELOAD:-none}"'], user="0")
    assert result.stdout == "none\n", "root took another uid's LD_PRELOAD"
    assert "not the container environment for root" in result.stderr, result.stderr


def test_the_recipe_is_the_documented_one() -> None:
    """base/README.md shows the recipe the tests use, word for word."""
    readme = (Path(__file__).resolve().parents[3] / "base" / "README.md").read_text()
    assert RECIPE in readme
