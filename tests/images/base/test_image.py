"""What the base image provides to every image: user, environment, tools, home skeleton, size."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.images.conftest import ImageUnderTest
from tests.images.helpers import exec_in, wait_until

BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CONTRACT_ENV = {
    "NB_USER": "jovyan",
    "NB_UID": "1000",
    "NB_GID": "0",
    "HOME": "/home/jovyan",
    "SHELL": "/bin/bash",
    "HOME_TMP": "/tmp_home/jovyan",
    "SSL_CERT_FILE": BUNDLE,
    "REQUESTS_CA_BUNDLE": BUNDLE,
    "PIP_CERT": BUNDLE,
    "NODE_EXTRA_CA_CERTS": BUNDLE,
}


def _run(containers: Any, script: str, **kwargs: Any) -> str:
    """stdout of `bash -c script` run as the command of a container (through /init)."""
    c = containers.run(["bash", "-c", script], **kwargs)
    status = c.wait(timeout=120)
    assert status["StatusCode"] == 0, c.logs().decode("utf-8", "replace")[-3000:]
    return str(c.logs(stdout=True, stderr=False).decode("utf-8", "replace"))


def test_image_config(docker_client: Any, image_ref_under_test: str) -> None:
    config = docker_client.images.get(image_ref_under_test).attrs["Config"]
    assert config["Entrypoint"] == ["/init"]
    assert config["User"] == "1000"
    assert not config.get("Cmd"), "no CMD: the init starts the services"
    env = dict(item.split("=", 1) for item in config["Env"])
    for key, value in CONTRACT_ENV.items():
        assert env.get(key) == value, key
    assert env.get("NB_PREFIX", "").startswith("/")
    assert env.get("LANG", "").lower().endswith((".utf-8", ".utf8"))
    assert env["S6_BEHAVIOUR_IF_STAGE2_FAILS"] == "2"
    assert int(env["S6_CMD_WAIT_FOR_SERVICES_MAXTIME"]) >= 0


def test_size(
    docker_client: Any,
    image_ref_under_test: str,
    image_under_test: ImageUnderTest,
    record_property: Any,
) -> None:
    size_mb = docker_client.images.get(image_ref_under_test).attrs["Size"] / 1e6
    budget = image_under_test.image.config.size_budget_mb
    print(f"{image_ref_under_test}: {size_mb:.1f} MB uncompressed (budget: {budget} MB)")
    record_property("image_size_mb", round(size_mb, 1))
    if budget is not None:
        assert size_mb <= budget, f"{size_mb:.1f} MB is over the size budget of {budget} MB"


def test_user_jovyan(containers: Any) -> None:
    out = _run(containers, "id -u; id -g; id -Gn; getent passwd jovyan")
    assert "\n1000\n0\n" in f"\n{out}"
    assert "users" in out.split("\n")[2].split()
    assert "jovyan:x:1000:0::/home/jovyan:/bin/bash" in out


def test_random_uid_is_named_for_the_services(containers: Any) -> None:
    """OpenShift's random uid has no passwd entry; what runs through with-contenv (services,
    their terminals) sees it as jovyan, also with a read-only root and no capabilities."""
    script = (
        "whoami >/dev/null 2>&1 && echo named || echo unnamed; "
        'with-contenv sh -c \'whoami; getent passwd "$(id -u)"; env -u HOME bash -c "echo ~"\''
    )
    out = _run(
        containers,
        script,
        user="4242:0",
        read_only=True,
        tmpfs={"/tmp": "", "/run": ""},
        cap_drop=["ALL"],
    )
    lines = out.splitlines()
    assert lines[0] == "unnamed", "the command itself keeps the plain environment"
    assert lines[1] == "jovyan"
    assert lines[2] == "jovyan:x:4242:0:jovyan:/home/jovyan:/bin/bash"
    assert lines[3] == "/home/jovyan", out


def test_named_uid_gets_no_nss_wrapper(containers: Any) -> None:
    out = _run(containers, "with-contenv sh -c 'echo \"preload=${LD_PRELOAD:-}\"; id -un'")
    assert out.split() == ["preload=", "jovyan"]


def test_locale_and_tools(containers: Any) -> None:
    out = _run(
        containers,
        "set -e; locale 2>&1 >/dev/null | (! grep .) && echo locale-ok; "
        "kubectl version --client; "
        "for t in curl git less tmux unzip nano s6-setuidgid s6-svscan s6-svc execlineb "
        "with-contenv /command/with-contenv /command/s6-setuidgid /run/s6/basedir/bin/halt; "
        "do command -v $t >/dev/null || { echo missing $t; exit 1; }; done; echo tools-ok; "
        "test -s $SSL_CERT_FILE && echo bundle-ok",
    )
    assert "locale-ok" in out, "locale warnings: the locale of LANG is not generated"
    assert "Client Version: v1." in out
    assert "tools-ok" in out
    assert "bundle-ok" in out


def test_https_trusts_system_bundle(containers: Any) -> None:
    """curl and git verify HTTPS with the system bundle (which holds the build's extra CAs)."""
    out = _run(
        containers,
        "curl -sS -o /dev/null -w 'curl %{http_code}\\n' https://pypi.org/simple/pip/; "
        "git ls-remote https://pypi.org/simple/pip/ 2>&1 | head -3; true",
    )
    assert "curl 200" in out, out
    assert "certificate" not in out.lower(), out
    # git's answer to an HTTP 404 (the URL is no repository): it got through verified TLS.
    # Any other failure (no connection, proxy) also names pypi.org, so look for this line.
    assert "repository 'https://pypi.org/simple/pip/' not found" in out, (
        f"git did not get an HTTP answer from pypi.org:\n{out}"
    )


@pytest.fixture
def home_volume(docker_client: Any) -> Iterator[str]:
    volume = docker_client.volumes.create(name=f"kfnb-smoke-home-{uuid.uuid4().hex[:12]}")
    try:
        yield str(volume.name)
    finally:  # this test's containers may still hold it: they are removed after this fixture
        for container in docker_client.containers.list(all=True, filters={"volume": volume.name}):
            container.remove(force=True, v=True)
        volume.remove(force=True)


def _home_listing(container: Any) -> tuple[set[str], set[str]]:
    """(top-level names in $HOME_TMP, top-level names in $HOME) inside a running container."""
    _, skel = exec_in(container, 'ls -A "$HOME_TMP"')
    _, home = exec_in(container, 'ls -A "$HOME"')
    return set(skel.split()), set(home.split())


def _wait_home_filled(container: Any) -> set[str]:
    def probe() -> set[str] | None:
        skel, home = _home_listing(container)
        return skel if skel and skel <= home else None

    return wait_until(probe, timeout=120, message="the skeleton copied into $HOME")


def test_empty_home_volume_gets_skeleton(containers: Any, home_volume: str) -> None:
    c = containers.run(volumes={home_volume: {"bind": "/home/jovyan", "mode": "rw"}})
    skel = _wait_home_filled(c)
    print(f"skeleton: {sorted(skel)}")
    assert ".bashrc" in skel
    code, out = exec_in(c, 'touch "$HOME/new-file" && stat -c %g "$HOME/.bashrc"')
    assert (code, out.strip()) == (0, "0")


def test_tmpfs_home_random_uid_gets_skeleton(containers: Any) -> None:
    c = containers.run(user="4242:0", tmpfs={"/home/jovyan": ""})
    _wait_home_filled(c)
    _, out = exec_in(c, 'stat -c "%u %g %A" "$HOME/.bashrc"')
    owner, group, mode = out.split()
    assert (owner, group, mode[4:6]) == ("4242", "0", "rw")


def test_user_files_in_home_are_not_overwritten(containers: Any, home_volume: str) -> None:
    prepare = (
        "echo 'my own bashrc' > /mnt/home/.bashrc && mkdir -p /mnt/home/work && "
        "echo keep > /mnt/home/work/notes.txt && chown -R 1000:0 /mnt/home && chmod 775 /mnt/home"
    )
    code, logs = containers.run_to_exit(
        ["-c", prepare],
        entrypoint=["bash"],
        user="0",
        volumes={home_volume: {"bind": "/mnt/home", "mode": "rw"}},
    )
    assert code == 0, logs
    c = containers.run(volumes={home_volume: {"bind": "/home/jovyan", "mode": "rw"}})
    _wait_home_filled(c)
    _, bashrc = exec_in(c, 'cat "$HOME/.bashrc"')
    assert bashrc.strip() == "my own bashrc"
    _, notes = exec_in(c, 'cat "$HOME/work/notes.txt"')
    assert notes.strip() == "keep"


def test_init_as_root_and_s6_setuidgid(containers: Any) -> None:
    """Images may run the init as root (--user 0) and drop to jovyan with s6-setuidgid."""
    out = _run(
        containers,
        'id -u; s6-setuidgid "$NB_USER" id -u; stat -c %u "$HOME/.bashrc"',
        user="0",
    )
    assert out.split() == ["0", "1000", "1000"]
