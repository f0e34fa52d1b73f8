"""CA certificates mounted at run time (/etc/kubeflow/ca-certificates, a ConfigMap) are trusted
from start-up, for any uid with a read-only root; bad files are skipped with one log line.
Base-level clients: curl and git, against `openssl s_server` in the container (every image
has them). The children's tests add Python, pip (jupyter) and Node (codeserver)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest

from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.images.base.runtime_ca import (
    BAD_FILES,
    CA_VARIABLES,
    GOOD_PORT,
    LEGACY_PORT,
    RUNTIME_BUNDLE,
    SERVER_DIR,
    SYSTEM_BUNDLE,
    Pki,
    make_pki,
)
from tests.images.base.shells import wait_for_command

RANDOM_USER = "4242:0"
LOG_NAME = "00-ca-certificates:"
RESTRICTED: dict[str, Any] = {
    "user": RANDOM_USER,
    "read_only": True,
    "cap_drop": ["ALL"],
    "tmpfs": {"/tmp": "", "/run": ""},
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("runtime-ca"))


def _s_servers() -> list[str]:
    """The container's command: two `openssl s_server -www` (good CA, legacy CA)."""
    serve = (
        "openssl s_server -quiet -www -accept 127.0.0.1:{port} -cert {d}/{n}.crt -key {d}/{n}.key"
    )
    good = serve.format(port=GOOD_PORT, d=SERVER_DIR, n="good")
    legacy = serve.format(port=LEGACY_PORT, d=SERVER_DIR, n="legacy")
    return ["bash", "-c", f"{legacy} </dev/null & exec {good} </dev/null"]


def _wait_listening(c: TrackedContainer, *ports: int) -> None:
    hexports = [f":{port:04X} " for port in ports]

    def probe() -> bool:
        tcp = c.exec("cat /proc/net/tcp", check=False).stdout
        return all(p in tcp for p in hexports)

    c.wait_until(probe, timeout=60, message=f"TLS servers on {ports}")


def test_mounted_ca_is_trusted_by_every_shell_and_service(
    containers: TrackedContainers, docker_client: Any, image_ref_under_test: str, pki: Pki
) -> None:
    c = containers.run(_s_servers(), volumes=pki.volumes(), **RESTRICTED)
    c.wait_services_up()  # the image's own services start despite the bad files
    _wait_listening(c, GOOD_PORT, LEGACY_PORT)

    # The image's ENV keeps the system bundle (derived images' RUN steps).
    config = docker_client.images.get(image_ref_under_test).attrs["Config"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert {v: env.get(v) for v in CA_VARIABLES} == dict.fromkeys(CA_VARIABLES, SYSTEM_BUNDLE)

    # The services' environment (with-contenv) and every shell's point at the run-time bundle.
    show = "; ".join(f'printf "%s\\n" "${v}"' for v in CA_VARIABLES)
    for argv in (["with-contenv", "bash", "-c"], ["bash", "-lc"], ["bash", "-ic"]):
        values = c.exec([*argv, show], user=RANDOM_USER).stdout.split()
        assert values == [RUNTIME_BUNDLE] * len(CA_VARIABLES), (argv, values)
    system, runtime, mode = c.exec(
        f"grep -c 'BEGIN CERTIFICATE' <{SYSTEM_BUNDLE}; grep -c 'BEGIN CERTIFICATE' "
        f"<{RUNTIME_BUNDLE}; stat -c %a {RUNTIME_BUNDLE}"
    ).stdout.split()
    assert int(runtime) == int(system) + 2, (system, runtime)  # + good-ca.crt, legacy-ca.pem
    assert mode == "644", mode

    # curl and git connect to a server of the mounted CA, as the random uid.
    curl = "curl -sS -o /dev/null -w '{name} %{{http_code}}\\n' https://localhost:{port}/; "
    check = (
        curl.format(name="curl-good", port=GOOD_PORT)
        + curl.format(name="curl-legacy", port=LEGACY_PORT)
        + f"git ls-remote https://localhost:{GOOD_PORT}/repo.git 2>&1 | sed 's/^/git: /'; true"
    )
    out = c.exec(["bash", "-lc", check], user=RANDOM_USER).stdout
    print(f"login shell as {RANDOM_USER}:\n{out}")
    assert "curl-good 200" in out, out
    assert "curl-legacy 200" in out, out  # included, with a warning (below)
    # git got an HTTP answer (s_server's status page is no repository) through verified TLS.
    assert "git: " in out, out
    assert "certificate" not in out.lower(), out
    # The control: the system bundle alone does not trust the server.
    control = c.exec(
        [
            "env",
            f"GIT_SSL_CAINFO={SYSTEM_BUNDLE}",
            "git",
            "ls-remote",
            f"https://localhost:{GOOD_PORT}/repo.git",
        ],
        user=RANDOM_USER,
        check=False,
    )
    assert control.code != 0, control.output
    assert "certificate" in control.output.lower(), control.output

    # The log: one line per bad file, a warning for the CA without keyUsage, a summary.
    lines = [line for line in c.logs().splitlines() if line.startswith(LOG_NAME)]
    print("\n".join(lines))
    for name in BAD_FILES:
        named = [line for line in lines if f"/{name}" in line]
        assert len(named) == 1, (name, lines)
        assert "skipped" in named[0], (name, lines)
    warned = [line for line in lines if "legacy-ca.pem" in line and "warning" in line]
    assert len(warned) == 1, lines
    assert "keyUsage" in warned[0], lines
    assert "CA cert does not include key usage extension" in warned[0], lines
    summary = [line for line in lines if "trusting" in line]
    assert len(summary) == 1, lines
    assert "good-ca.crt legacy-ca.pem" in summary[0], lines
    assert not [line for line in lines if "README.txt" in line], lines


def test_only_bad_files_change_nothing_and_the_container_starts(
    containers: TrackedContainers, tmp_path: Path, pki: Pki
) -> None:
    bad = tmp_path / "ca"
    bad.mkdir()
    (bad / "notes.crt").write_text("no certificate here\n")
    bad.chmod(0o755)
    (bad / "notes.crt").chmod(0o644)
    c = containers.run(
        ["sleep", "infinity"],
        volumes={str(bad): {"bind": "/etc/kubeflow/ca-certificates", "mode": "ro"}},
        **RESTRICTED,
    )
    c.wait_services_up()
    wait_for_command(c)
    out = c.exec(["bash", "-lc", 'printf "%s\\n" "$SSL_CERT_FILE" "$GIT_SSL_CAINFO"']).stdout
    assert out.split() == [SYSTEM_BUNDLE, SYSTEM_BUNDLE], out
    assert c.exec(f"test ! -e {shlex.quote(RUNTIME_BUNDLE)}", check=False).code == 0
    lines = [line for line in c.logs().splitlines() if line.startswith(LOG_NAME)]
    assert len(lines) == 1, lines
    assert "notes.crt" in lines[0], lines
    assert "skipped" in lines[0], lines
