"""code-server on every platform: the subset that also runs under QEMU (`--platform
linux/arm64`, marker `emulated`). One container, as a random uid on an empty home volume:
the server answers and sends the browser to the workbench (it serves at `/`: Kubeflow's proxy
rewrites `NB_PREFIX` away), the native modules the builder compiled or picked for the target
load in the image's Node, and a terminal (code-server's node-pty) reports the machine.
Timeouts are for emulation on a 2-core host.

Under QEMU code-server may need several starts: its parent process gives the child it spawns
10 s to ask for the handshake (`timeoutInterval` in code-server's out/node/wrapper.js), and
the child's module loading alone took 7 to 23 s emulated on the loaded 2-core host (0.5 s
natively), so a start can end in "error timed out" and s6 starts it again (8 restarts, first
answer after 6 min, once). There, and only there, the wait tolerates those restarts; natively
a failed start fails the test at once."""

from __future__ import annotations

import json

import pytest

from tests.harness.containers import TrackedContainers
from tests.harness.http import http_get
from tests.images.base.test_emulated import MACHINES
from tests.images.codeserver.test_codeserver import HOME, NODE_PTY, PORT, RANDOM_UID, RANDOM_USER
from tests.images.conftest import emulated, platform_under_test

pytestmark = pytest.mark.emulated

CODE_SERVER = "/opt/code-server/lib/node_modules/code-server"
NATIVE_MODULES = (
    f"{CODE_SERVER}/node_modules/argon2",
    f"{CODE_SERVER}/lib/vscode/node_modules/@vscode/sqlite3",
    f"{CODE_SERVER}/lib/vscode/node_modules/@vscode/spdlog",
    f"{CODE_SERVER}/lib/vscode/node_modules/@vscode/native-watchdog",
    f"{CODE_SERVER}/lib/vscode/node_modules/@parcel/watcher",
    f"{CODE_SERVER}/lib/vscode/node_modules/kerberos",
    NODE_PTY,
)
"""Packages with a native module that VS Code's server loads on Linux (built from source or a
prebuilt of the target's)."""


def test_serves_loads_native_modules_and_a_terminal_reports_the_machine(
    containers: TrackedContainers, home_volume: str, pytestconfig: pytest.Config
) -> None:
    c = containers.run(user=RANDOM_USER, volumes={home_volume: {"bind": HOME, "mode": "rw"}})
    healthz = f"http://127.0.0.1:{PORT}/healthz"
    c.wait_until(
        lambda: http_get(c, healthz)[0] == 200 or None,
        timeout=1200,
        interval=5,
        message=f"{healthz} to answer 200",
        services=not emulated(pytestconfig),
    )
    out = c.exec(
        f"curl -s -o /dev/null -w '%{{http_code}} %{{redirect_url}}' http://127.0.0.1:{PORT}/",
        timeout=300,
    ).stdout
    status, _, location = out.strip().partition(" ")
    assert status == "302", out
    assert f"folder={HOME}" in location, out
    code, page = http_get(c, f"http://127.0.0.1:{PORT}/?folder={HOME}", timeout=300)
    assert code == 200, page[:500]
    assert "workbench" in page, page[:500]

    load = (
        f"const mods = {json.dumps(NATIVE_MODULES)};"
        "const failed = [];"
        "for (const m of mods) { try { require(m); } catch (e) { failed.push(m + ': ' + e); } }"
        "console.log(JSON.stringify(failed));"
    )
    failed = json.loads(c.exec(["node", "-e", load], timeout=300).stdout.strip().splitlines()[-1])
    assert failed == [], failed

    script = (
        f"const pty = require({json.dumps(NODE_PTY)});"
        "const p = pty.spawn('bash', ['-c', 'echo pty-ok $(id -u) $(uname -m)'],"
        " {name: 'xterm-256color', cols: 80, rows: 24, cwd: process.env.HOME, env: process.env});"
        "let out = ''; p.onData((d) => { out += d; });"
        "p.onExit((e) => { console.log(JSON.stringify({out, code: e.exitCode})); });"
    )
    result = json.loads(c.exec(["node", "-e", script], timeout=300).stdout.strip().splitlines()[-1])
    assert result["code"] == 0, result
    machine = MACHINES[platform_under_test(pytestconfig)]
    assert result["out"].split() == ["pty-ok", RANDOM_UID, machine], result
