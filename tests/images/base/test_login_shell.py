"""Every shell has the image's environment (base/README.md, "Shells"): `docker exec` /
`kubectl exec` shells, login (`bash -l`, as Jupyter's and RStudio's terminals and tmux start
them) or interactive (`bash -i`), get the image's PATH (Debian's /etc/profile used to reset it)
and what the start-up scripts put into the container environment (nss_wrapper's name for a
random uid, a run-time CA bundle, ...), as the services do.

Run for every image: the image's own PATH (and VIRTUAL_ENV, where it has one) is the one
checked, from its config.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.images.base.shells import wait_for_command

RANDOM_USER = "4242:0"
ENV_DIR = "/run/s6/container_environment"
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
REPORT = (
    "printf 'path=%s\\n' \"$PATH\"; printf 'venv=%s\\n' \"${VIRTUAL_ENV-unset}\"; "
    "printf 'user=%s\\n' \"$(whoami 2>&1)\"; printf 'sslcert=%s\\n' \"${SSL_CERT_FILE-unset}\"; "
    "printf 'a=%s\\n' \"${KFNB_SMOKE_A-unset}\"; printf 'b=%s\\n' \"${KFNB_SMOKE_B-unset}\""
)


def _report(container: TrackedContainer, argv: list[str], **kwargs: Any) -> dict[str, str]:
    out = container.exec([*argv, REPORT], **kwargs).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _image_env(docker_client: Any, ref: str) -> dict[str, str]:
    config = docker_client.images.get(ref).attrs["Config"]
    return dict(item.split("=", 1) for item in config["Env"])


@pytest.mark.parametrize(
    ("user", "restricted"),
    [("1000:0", False), (RANDOM_USER, True)],
    ids=["uid-1000", "random-uid-read-only"],
)
def test_exec_shells_have_the_image_environment(
    containers: TrackedContainers,
    docker_client: Any,
    image_ref_under_test: str,
    user: str,
    restricted: bool,
) -> None:
    extra: dict[str, Any] = {}
    if restricted:
        extra = {"cap_drop": ["ALL"], "read_only": True, "tmpfs": {"/tmp": "", "/run": ""}}
    c = containers.run(["sleep", "infinity"], user=user, **extra)
    wait_for_command(c)
    image_env = _image_env(docker_client, image_ref_under_test)
    shells = {
        "bash -l (docker exec, kubectl exec, Jupyter's terminal)": ["bash", "-lc"],
        "bash -i (kubectl exec -it -- bash)": ["bash", "-ic"],
        "sh -l": ["sh", "-lc"],
    }
    for what, argv in shells.items():
        seen = _report(c, argv, user=user)
        print(f"{what} as {user}: {seen}")
        assert seen["path"] == image_env["PATH"], (what, seen["path"], image_env["PATH"])
        assert seen["venv"] == image_env.get("VIRTUAL_ENV", "unset"), (what, seen)
        # A random uid has no passwd entry: the services' nss_wrapper names it, shells too.
        assert seen["user"] == "jovyan", (what, seen)
        assert seen["sslcert"] == SYSTEM_BUNDLE, (what, seen)  # no CA mounted: the system's


def test_login_shells_take_start_up_changes_and_keep_their_own(
    containers: TrackedContainers, docker_client: Any, image_ref_under_test: str
) -> None:
    """What a start-up script changed in the container environment reaches `docker exec`
    login shells (which Docker starts with the pod's environment); what a shell's parent set
    itself (a venv it activated, a PATH it extended, a variable it chose) is kept."""
    c = containers.run(["sleep", "infinity"], environment={"KFNB_SMOKE_A": "from-the-pod"})
    wait_for_command(c)
    image_path = _image_env(docker_client, image_ref_under_test)["PATH"]
    # As a cont-init script would: change one variable, add one, extend PATH.
    c.exec(
        f"printf %s from-start-up > {ENV_DIR}/KFNB_SMOKE_A && "
        f"printf %s added > {ENV_DIR}/KFNB_SMOKE_B && "
        f'printf %s "/opt/kfnb-extra/bin:$PATH" > {ENV_DIR}/PATH'
    )
    for argv in (["bash", "-lc"], ["sh", "-lc"], ["bash", "-ic"]):
        seen = _report(c, argv)
        assert (seen["a"], seen["b"]) == ("from-start-up", "added"), (argv, seen)
        assert seen["path"] == f"/opt/kfnb-extra/bin:{image_path}", (argv, seen)
    seen = _report(
        c,
        ["env", "KFNB_SMOKE_A=mine", f"PATH=/mine/bin:{image_path}", "bash", "-lc"],
    )
    assert (seen["a"], seen["b"]) == ("mine", "added"), seen
    assert seen["path"] == f"/mine/bin:{image_path}", seen
    # root does not take variables (LD_PRELOAD, PATH, ...) from a folder another uid wrote.
    seen = _report(c, ["bash", "-lc"], user="0")
    assert (seen["a"], seen["b"]) == ("from-the-pod", "unset"), seen
    assert seen["path"] == image_path, seen
