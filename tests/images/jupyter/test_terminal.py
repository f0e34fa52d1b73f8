"""The Lab's own terminal (opened over the REST API and typed into over its WebSocket, as the
UI does) has the image's environment: JupyterLab starts terminals as login shells (`bash -l`),
and Debian's /etc/profile used to reset PATH there, dropping /opt/venv/bin
(`pip: command not found`). See base/README.md, "Shells".

They also run against every image built FROM jupyter (jupyter-pytorch-full).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.containers import TrackedContainers
from tests.images.jupyter.lab import BASE, RANDOM_USER, VENV, start_lab
from tests.images.jupyter.terminal import env_report_line, report, run_in_lab_terminal

SHELL_REPORT = {
    "pip": "$(command -v pip)",
    "python": "$(command -v python)",
    "jupyter": "$(command -v jupyter)",
    "venv": "${VIRTUAL_ENV-unset}",
    "path": "$PATH",
    "user": "$(whoami 2>&1)",
    "uid": "$(id -u)",
    "login": "$(shopt -q login_shell && echo yes || echo no)",
    "sslcert": "${SSL_CERT_FILE-unset}",
    "umask": "$(umask)",
}


@pytest.mark.parametrize(
    ("user", "restricted"),
    [("1000:0", False), (RANDOM_USER, True)],
    ids=["uid-1000", "random-uid-read-only"],
)
def test_lab_terminal_has_the_venv_first_on_path(
    containers: TrackedContainers, user: str, restricted: bool
) -> None:
    extra: dict[str, Any] = {}
    if restricted:
        extra = {
            "cap_drop": ["ALL"],
            "read_only": True,
            "tmpfs": {"/tmp": "", "/run": "", "/home/jovyan": "uid=54321,gid=0,mode=2775"},
        }
    c = start_lab(containers, user=user, **extra)
    output = run_in_lab_terminal(c, BASE, env_report_line(SHELL_REPORT))
    seen = report(output)
    print(f"Lab terminal as {user}: {seen}")
    assert seen.get("login") == "yes", f"Lab no longer starts login shells?\n{output}"
    assert seen.get("pip") == f"{VENV}/bin/pip", output
    assert seen.get("python") == f"{VENV}/bin/python", output
    assert seen.get("jupyter") == f"{VENV}/bin/jupyter", output
    assert seen.get("venv") == VENV, output
    # The image's PATH, in its order, then nothing the shell should not have added in front.
    image_path = c.exec('printf %s "$PATH"').stdout
    assert seen["path"].endswith(image_path), (seen["path"], image_path)
    assert seen["uid"] == user.split(":", maxsplit=1)[0], output
    assert seen["user"] == "jovyan", output  # a random uid too (base's nss_wrapper)
    assert seen["sslcert"] == "/etc/ssl/certs/ca-certificates.crt", output
    assert seen["umask"] == "0002", output
