"""A CA mounted at run time (/etc/kubeflow/ca-certificates) is trusted by what users run in
JupyterLab: curl, git, Python's urllib and requests, and pip in the Lab's terminal, and the
kernels get the same variables; as a random uid with a read-only root. The HTTPS servers are
Python's, in the container, with certificates of the test's CAs (tests/images/base/runtime_ca.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.containers import TrackedContainers
from tests.images.base.runtime_ca import (
    CA_VARIABLES,
    GOOD_PORT,
    LEGACY_PORT,
    RUNTIME_BUNDLE,
    SERVER_DIR,
    Pki,
    make_pki,
)
from tests.images.jupyter.lab import BASE, RANDOM_USER, start_lab
from tests.images.jupyter.terminal import env_report_line, report, run_in_lab_terminal

PACKAGE = "kfnb-smoke-pkg"
_SERVERS = f"""
import functools, http.server, ssl, threading
def serve(port, name):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(f"{SERVER_DIR}/{{name}}.crt", f"{SERVER_DIR}/{{name}}.key")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory="/tmp/www")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
threading.Thread(target=serve, args=({LEGACY_PORT}, "legacy"), daemon=True).start()
serve({GOOD_PORT}, "good")
"""
# A PEP 503 index with one wheel link: `pip index versions` reads it without downloading.
_COMMAND = [
    "bash",
    "-c",
    f"mkdir -p /tmp/www/simple/{PACKAGE} && printf '%s' "
    f"'<a href=\"kfnb_smoke_pkg-1.0-py3-none-any.whl\">kfnb_smoke_pkg-1.0-py3-none-any.whl</a>' "
    f'> /tmp/www/simple/{PACKAGE}/index.html && exec python3 -c "$1"',
    "kfnb-https",
    _SERVERS,
]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("runtime-ca-jupyter"))


def _py(code: str) -> str:
    return f"$(python -c '{code}' 2>&1 | tail -n1)"


def test_lab_terminal_and_kernels_trust_the_mounted_ca(
    containers: TrackedContainers, pki: Pki
) -> None:
    restricted: dict[str, Any] = {
        "user": RANDOM_USER,
        "cap_drop": ["ALL"],
        "read_only": True,
        "tmpfs": {"/tmp": "", "/run": "", "/home/jovyan": "uid=54321,gid=0,mode=2775"},
    }
    c = start_lab(containers, command=_COMMAND, volumes=pki.volumes(), **restricted)
    good = f"https://localhost:{GOOD_PORT}"
    legacy = f"https://localhost:{LEGACY_PORT}"
    c.wait_until(
        lambda: "200" in c.exec(f"curl -sk -o /dev/null -w '%{{http_code}}' {good}/simple/").stdout,
        timeout=60,
        message="the HTTPS server (-k: only whether it is up)",
    )
    checks = {
        "curl": f"$(curl -sS -o /dev/null -w '%{{http_code}}' {good}/simple/ 2>&1)",
        "urllib": _py(f'import urllib.request as u; print(u.urlopen("{good}/simple/").status)'),
        "requests": _py(f'import requests; print(requests.get("{good}/simple/").status_code)'),
        "pip": f"$(pip index versions {PACKAGE} --index-url {good}/simple/ 2>&1 | head -n1)",
        "git": f"$(git ls-remote {good}/repo.git 2>&1 | tail -n1)",
        "legacy-curl": f"$(curl -sS -o /dev/null -w '%{{http_code}}' {legacy}/ 2>&1)",
        "legacy-urllib": _py(f'import urllib.request as u; print(u.urlopen("{legacy}/").status)'),
        "cert": "$SSL_CERT_FILE",
    }
    output = run_in_lab_terminal(c, BASE, env_report_line(checks), timeout=120)
    seen = report(output)
    print(f"Lab terminal as {RANDOM_USER}: {seen}")
    assert seen.get("cert") == RUNTIME_BUNDLE, output
    assert seen.get("curl") == "200", output
    assert seen.get("urllib") == "200", output
    assert seen.get("requests") == "200", output
    assert seen.get("pip") == f"{PACKAGE} (1.0)", output
    # git's answer to the server's 404: it got an HTTP answer through verified TLS.
    assert seen.get("git") == f"fatal: repository '{good}/repo.git/' not found", output
    # The CA without keyUsage: in the bundle (curl, OpenSSL's default checks, trusts it), but
    # Python 3.13's strict verification refuses it, as the start-up warning says.
    assert seen.get("legacy-curl") == "200", output
    assert "CA cert does not include key usage extension" in seen.get("legacy-urllib", ""), output
    assert "CA cert does not include key usage extension" in c.logs()

    # A kernel started by the server (as the Lab does) has the same variables.
    started = c.exec(
        f"curl -s -o /dev/null -c /tmp/jar {BASE}/lab && "
        "xsrf=$(awk '$6 == \"_xsrf\" {print $7}' /tmp/jar) && "
        "curl -s -o /dev/null -w '%{http_code}' -b /tmp/jar -H \"X-XSRFToken: $xsrf\" "
        f"-X POST -H 'Content-Type: application/json' -d '{{\"name\": \"python3\"}}' "
        f"{BASE}/api/kernels",
        user=RANDOM_USER,
    ).stdout
    assert started.strip() == "201", started
    kernel_env = c.wait_until(
        lambda: (
            c.exec(
                'pid=$(pgrep -f ipykernel_launcher | head -n1) && [ -n "$pid" ] && '
                "tr '\\0' '\\n' </proc/$pid/environ",
                user=RANDOM_USER,
                check=False,
            ).stdout
        ),
        timeout=60,
        message="a kernel process",
    )
    values = dict(item.split("=", 1) for item in kernel_env.splitlines() if "=" in item)
    assert {v: values.get(v) for v in CA_VARIABLES} == dict.fromkeys(
        CA_VARIABLES, RUNTIME_BUNDLE
    ), values
