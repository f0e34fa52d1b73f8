"""code-server's shells have the image's environment (base/README.md, "Shells"): the integrated
terminal in a real browser, and a login shell (`bash -l`, tmux) started in it, find Node and
s6's /command on PATH, as the random uid named jovyan; Node trusts a CA mounted at run time
(/etc/kubeflow/ca-certificates), in shells and in code-server itself (NODE_EXTRA_CA_CERTS,
read by Node at start: the service gets it from the container environment)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.harness.browser import ChromiumPage
from tests.harness.containers import TrackedContainers, loopback
from tests.harness.http import wait_for_http
from tests.images.base.runtime_ca import (
    GOOD_PORT,
    RUNTIME_BUNDLE,
    SERVER_DIR,
    Pki,
    make_pki,
)
from tests.images.codeserver.workbench import focus_terminal

PORT = 8888
HOME = "/home/jovyan"
RANDOM_UID = "54321"
RANDOM_USER = f"{RANDOM_UID}:0"
REPORT_FILE = "/tmp/kfnb-terminal-env.txt"
_NODE_GET = (
    "require('https').get('https://localhost:{port}/', (r) => {{ console.log('node', "
    "r.statusCode); r.resume(); }}).on('error', (e) => {{ console.log('node-error', e.message); "
    "process.exitCode = 1; }})"
)


def test_browser_terminal_and_login_shells_have_the_image_path(
    containers: TrackedContainers, artifacts_dir: Path, docker_client: Any
) -> None:
    c = containers.run(user=RANDOM_USER, ports=loopback(PORT))
    wait_for_http(c, f"http://127.0.0.1:{PORT}/healthz", timeout=120)
    screenshot = artifacts_dir / "terminal-env.png"
    line = (
        '{ echo "node=$(command -v node)"; '
        'echo "path=$PATH"; echo "user=$(whoami)"; '
        "echo \"login-node=$(bash -lc 'command -v node')\"; "
        'echo "login-path=$(bash -lc \'printf %s "$PATH"\')"; '
        'echo "login-user=$(bash -lc whoami)"; '
        f"}} > {REPORT_FILE}.part && mv {REPORT_FILE}.part {REPORT_FILE}"
    )
    with ChromiumPage() as page:
        page.goto(f"http://127.0.0.1:{c.host_port(PORT)}/?folder={HOME}")
        try:
            page.wait_for("document.querySelector('.monaco-workbench')", timeout=120)
            focus_terminal(page, c)
            page.type_text(line)
            page.press("Enter", code="Enter", key_code=13)
            written = c.wait_until(
                lambda: c.exec(f"cat {REPORT_FILE}", check=False).stdout.strip() or None,
                timeout=60,
                message="the terminal's report",
            )
        finally:
            page.screenshot(screenshot)
    # VS Code's shell integration writes OSC 633 sequences (ending in BEL) to the terminal's
    # stdout, which the first command's redirect catches: keep what follows the last BEL.
    lines = [item.rsplit("\x07", 1)[-1] for item in written.splitlines()]
    seen = dict(item.split("=", 1) for item in lines if "=" in item)
    print(f"code-server terminal as {RANDOM_USER}: {seen} (screenshot: {screenshot})")
    image_path = docker_client.images.get(c.image).attrs["Config"]["Env"]
    image_path = next(e.split("=", 1)[1] for e in image_path if e.startswith("PATH="))
    for shell in ("", "login-"):
        assert seen[f"{shell}node"] == "/opt/node/bin/node", seen
        assert seen[f"{shell}path"].endswith(image_path), (shell, seen, image_path)
        assert seen[f"{shell}user"] == "jovyan", seen
        assert "/command" in seen[f"{shell}path"].split(":"), seen
    # VS Code puts its `code` CLI first for its terminals: the login shell keeps that too.
    assert seen["login-path"] == seen["path"], seen


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("runtime-ca-codeserver"))


def test_node_and_code_server_trust_the_mounted_ca(containers: TrackedContainers, pki: Pki) -> None:
    server = (
        f"exec openssl s_server -quiet -www -accept 127.0.0.1:{GOOD_PORT} "
        f"-cert {SERVER_DIR}/good.crt -key {SERVER_DIR}/good.key </dev/null"
    )
    c = containers.run(
        ["bash", "-c", server],
        user=RANDOM_USER,
        cap_drop=["ALL"],
        read_only=True,
        tmpfs={"/tmp": "", "/run": ""},
        volumes=pki.volumes(),
    )
    wait_for_http(c, f"http://127.0.0.1:{PORT}/healthz", timeout=120)
    node = _NODE_GET.format(port=GOOD_PORT)
    c.wait_until(
        lambda: "node 200" in c.exec(["bash", "-lc", f'node -e "{node}"'], check=False).stdout,
        timeout=30,
        message="node in a login shell to GET the HTTPS server",
    )
    out = c.exec(["bash", "-lc", f'node -e "{node}"'], user=RANDOM_USER).stdout
    assert out.strip() == "node 200", out
    # The control: Node without the mounted CA does not trust the server.
    out = c.exec(
        ["env", "-u", "NODE_EXTRA_CA_CERTS", "node", "-e", node], user=RANDOM_USER, check=False
    ).stdout
    assert out.startswith("node-error"), out
    # code-server (and so its terminals and extension host) got the variables at start.
    environ = c.exec(
        "tr '\\0' '\\n' </proc/$(pgrep -f -o 'code-server/out/node/entry')/environ",
        user=RANDOM_USER,
    ).stdout
    values = dict(item.split("=", 1) for item in environ.splitlines() if "=" in item)
    assert values.get("NODE_EXTRA_CA_CERTS") == RUNTIME_BUNDLE, json.dumps(values)[:2000]
    assert values.get("SSL_CERT_FILE") == RUNTIME_BUNDLE, values
