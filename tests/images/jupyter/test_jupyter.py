"""JupyterLab smoke tests: the Kubeflow contract (prefix, no auth, culler API, runtime dirs),
a notebook run by a real kernel, the group-writable venv, and a real browser.

They also run against every image built FROM jupyter (jupyter-pytorch-full).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.harness.browser import browse
from tests.harness.containers import TrackedContainer, TrackedContainers, loopback
from tests.harness.http import assert_listens_on_all_interfaces, http_get
from tests.harness.images import DerivedImages
from tests.images.base.root_mode import root_mode_image
from tests.images.jupyter.lab import (
    BASE,
    PORT,
    PREFIX,
    RANDOM_USER,
    VENV,
    execute_notebook,
    run_in_kernel,
    start_kernel,
    start_lab,
)

ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"


@pytest.fixture(scope="module")
def lab(module_containers: TrackedContainers) -> TrackedContainer:
    """JupyterLab as the image starts it (under the prefix), shared by the tests that only
    read from it: none of them starts a kernel or a terminal, or writes a file. (Not for a
    test of the home's contents: the running Lab adds ~/.ipython and ~/.local.)"""
    return start_lab(module_containers)


def test_prefix_serves_api_and_lab_without_token(lab: TrackedContainer) -> None:
    c = lab
    code, body = http_get(c, f"{BASE}/api/status")
    assert code == 200, body
    assert "started" in json.loads(body), body
    code, body = http_get(c, f"{BASE}/api/kernels")
    assert code == 200, body
    assert json.loads(body) == [], body

    code, page = http_get(c, f"{BASE}/lab")
    assert code == 200, page[:500]
    assert "<title>JupyterLab</title>" in page
    config = json.loads(
        page.split('id="jupyter-config-data" type="application/json">', 1)[1].split("</script>", 1)[
            0
        ]
    )
    assert config["baseUrl"] == f"{PREFIX}/", config["baseUrl"]
    assert config["appVersion"].startswith("4."), config["appVersion"]
    # The announcements (news fetched from the internet) are off.
    assert ANNOUNCEMENTS in config["disabledExtensions"], config["disabledExtensions"]

    # Outside the prefix there is no Lab.
    for path in ("/", "/lab", "/api/status"):
        code, body = http_get(c, f"http://127.0.0.1:{PORT}{path}")
        assert code != 200, (path, code, body[:300])
        assert "jupyter-config-data" not in body, (path, body[:300])


def test_listens_on_all_interfaces_any_origin_open_metrics(lab: TrackedContainer) -> None:
    c = lab
    assert_listens_on_all_interfaces(c, PORT)
    # The dashboard (another origin) may call the API.
    headers = c.exec(
        f"curl -s -D - -o /dev/null -H 'Origin: https://kubeflow.example.com' {BASE}/api/status"
    ).stdout
    assert "access-control-allow-origin: *" in headers.lower(), headers
    # Prometheus scrapes /metrics without a token.
    code, metrics = http_get(c, f"{BASE}/metrics")
    assert code == 200, metrics[:300]
    # Prometheus' text format with the server's own metrics ("jupyter" alone is on any page).
    types = [line for line in metrics.splitlines() if line.startswith("# TYPE ")]
    assert "# TYPE http_request_duration_seconds histogram" in types, metrics[:300]
    assert "# TYPE kernel_currently_running_total gauge" in types, metrics[:300]


def test_culler_sees_kernel_state_and_activity(containers: TrackedContainers) -> None:
    """The idle culler GETs <prefix>/api/kernels and reads execution_state and last_activity."""
    c = start_lab(containers)
    kernel_id = start_kernel(c)

    def listed(states: tuple[str, ...]) -> dict[str, Any] | None:
        code, listing = http_get(c, f"{BASE}/api/kernels")
        assert code == 200, listing
        for kernel in json.loads(listing):
            if kernel["id"] == kernel_id and kernel["execution_state"] in states:
                return dict(kernel)
        return None

    started = c.wait_until(
        lambda: listed(("starting", "idle", "busy")), timeout=60, message="the kernel listed"
    )
    print(f"kernel as the culler sees it after start: {started}")
    assert started["name"] == "python3"
    first = datetime.fromisoformat(started["last_activity"].replace("Z", "+00:00"))
    # Run code in that kernel as a client would: the server sees the kernel busy, then idle,
    # and moves last_activity (what the culler compares with its idle time).
    out = run_in_kernel(c, kernel_id, "print(6 * 7)")
    assert out.split()[-2:] == ["42", "ok"], out
    idle = c.wait_until(
        lambda: (k := listed(("idle",))) and k["last_activity"] != started["last_activity"] and k,
        timeout=60,
        message="the kernel idle with a new last_activity",
    )
    print(f"kernel as the culler sees it after running code: {idle}")
    assert datetime.fromisoformat(idle["last_activity"].replace("Z", "+00:00")) > first


def test_runtime_dirs_in_tmp_not_in_home(lab: TrackedContainer) -> None:
    c = lab
    out = c.exec("jupyter --runtime-dir; echo $XDG_RUNTIME_DIR; ls /tmp/jupyter-runtime").stdout
    lines = out.split()
    assert lines[0] == "/tmp/jupyter-runtime", out
    assert lines[1] == "/tmp/runtime", out
    assert any(name.startswith("jpserver-") for name in lines[2:]), out
    out = c.exec("test ! -e ~/.local/share/jupyter/runtime && echo no-runtime-in-home").stdout
    assert "no-runtime-in-home" in out, out


IMPORTS_AT_START = (
    "import sys, jupyter_server.serverapp, jupyterlab.labapp; "
    "from jsonschema import Draft7Validator; "
    "print(sorted(m for m in ('lark', 'rfc3987_syntax') if m in sys.modules)); "
    "print(sorted(f for f in ('date-time', 'uri', 'iri') "
    "if f in Draft7Validator.FORMAT_CHECKER.checkers))"
)
"""What the server imports before it answers (and what jsonschema's format checker holds)."""


def test_the_server_builds_no_iri_grammar_at_start(lab: TrackedContainer) -> None:
    """jupyter/python-overrides.txt leaves rfc3987-syntax (and lark) out of the locks: the
    server's imports build no Earley parsers (0.65 s of its 0.98 s import here, a minute under
    QEMU), and jsonschema still checks the formats Jupyter's event schemas use (date-time,
    uri); only `iri`, which none uses, goes unchecked."""
    out = lab.exec(["python", "-c", IMPORTS_AT_START], timeout=120).stdout.splitlines()
    assert out == ["[]", "['date-time', 'uri']"], out


def test_notebook_executes_with_the_venv_kernel(containers: TrackedContainers) -> None:
    c = start_lab(containers)
    outputs = execute_notebook(
        c,
        [
            "import sys, os\nprint(sys.executable)\nprint(os.getcwd())",
            "values = [n * n for n in range(10)]\nprint(sum(values))",
        ],
    )
    print(f"notebook outputs: {outputs}")
    assert outputs[0].split("\n")[0] == f"{VENV}/bin/python", outputs
    assert outputs[1].strip() == "285", outputs


def _wheel(name: str, version: str) -> bytes:
    """A minimal pure-Python wheel, built here, so the pip test needs no network."""
    module = f"{name}.py"
    files = {
        module: b"ANSWER = 42\n",
        f"{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
        ),
        f"{name}-{version}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: kfnb-smoke\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record_lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record_lines.append(f"{path},sha256={digest},{len(data)}")
    record_path = f"{name}-{version}.dist-info/RECORD"
    record_lines.append(f"{record_path},,")
    files[record_path] = ("\n".join(record_lines) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return buffer.getvalue()


def test_pip_install_as_random_uid_and_user_installs_refused(containers: TrackedContainers) -> None:
    """Plain pip works for any uid with gid 0; `--user` (the home PVC) is refused by pip."""
    c = start_lab(containers, user=RANDOM_USER)
    wheel = "/tmp/kfnb_smoke_pkg-1.0-py3-none-any.whl"
    c.write_file(wheel, _wheel("kfnb_smoke_pkg", "1.0"), user=RANDOM_USER)

    refused = c.exec(f"pip install --user --no-index {wheel}", user=RANDOM_USER, check=False)
    print(f"pip install --user: exit {refused.code}: {refused.output.strip()}")
    assert refused.code != 0, refused.output
    assert "Can not perform a '--user' install" in refused.output, refused.output
    clean = c.exec("test ! -e ~/.local/lib && echo clean", user=RANDOM_USER, check=False)
    assert clean.stdout.strip() == "clean", f"--user left files in the home: {clean.output}"

    # Terminals and kernels inherit the server's umask 0002 (from /init): what pip installs
    # there is group-writable, so another uid of group 0 can later upgrade or remove it.
    out = c.exec("grep Umask /proc/$(pgrep -x -n jupyter-lab)/status").stdout
    assert out.split() == ["Umask:", "0002"], out
    c.exec(f"umask 0002 && pip install --no-index {wheel}", user=RANDOM_USER)
    out = c.exec(
        "python -c 'import kfnb_smoke_pkg as m; print(m.ANSWER, m.__file__)'",
        user=RANDOM_USER,
    ).stdout
    answer, path = out.split()
    assert answer == "42", out
    assert path.startswith(f"{VENV}/lib/"), out
    # jovyan (uid 1000, same group 0) can remove what the other uid installed.
    c.exec("pip uninstall -y kfnb_smoke_pkg", user="1000:0")
    # Everything in the venv is group-writable with group 0.
    out = c.exec(
        f"find {VENV} ! -type l \\( ! -perm -g=w -o ! -group 0 \\) -print | head -5"
    ).stdout
    assert not out.strip(), out


def test_browser_shows_the_launcher(containers: TrackedContainers, artifacts_dir: Path) -> None:
    c = start_lab(containers, ports=loopback(PORT))
    screenshot = artifacts_dir / "jupyterlab-launcher.png"
    url = f"http://127.0.0.1:{c.host_port(PORT)}{PREFIX}/lab"

    def launcher() -> str | None:
        dom = browse(url, screenshot=screenshot)
        return dom if "jp-LauncherCard" in dom else None

    dom = c.wait_until(
        launcher,
        timeout=240,
        interval=1,
        message=f"the JupyterLab launcher at {url}",
    )
    print(f"screenshot: {screenshot}")
    assert "jp-LauncherCard" in dom
    assert 'title="Python 3 (ipykernel)"' in dom or "Python 3 (ipykernel)" in dom
    logs = c.logs()
    assert "Address already in use" not in logs, logs[-2000:]


def test_user_site_packages_on_the_home_volume_are_ignored(containers: TrackedContainers) -> None:
    """Packages an older image left in ~/.local (the PVC) cannot shadow the image's own."""
    c = containers.run(["sleep", "infinity"])
    site = "~/.local/lib/python3.13/site-packages"
    out = c.exec(
        f"mkdir -p {site} && echo 'raise SystemExit(\"shadowed\")' > {site}/jupyter_core.py "
        "&& python -c 'import site, jupyter_core; print(site.ENABLE_USER_SITE, "
        "jupyter_core.__file__)'",
    ).stdout
    enabled, path = out.split()
    assert enabled == "False", out
    assert path.startswith(f"{VENV}/lib/"), out


def test_restricted_mode_serves_and_runs_a_kernel(containers: TrackedContainers) -> None:
    """OpenShift-like: random uid with gid 0, no capabilities, read-only root, tmpfs /tmp, /run
    and an empty home: Lab serves under the prefix and a kernel runs."""
    c = start_lab(
        containers,
        user=RANDOM_USER,
        cap_drop=["ALL"],
        read_only=True,
        tmpfs={"/tmp": "", "/run": "", "/home/jovyan": "uid=54321,gid=0,mode=2775"},
    )
    code, body = http_get(c, f"{BASE}/api/kernels")
    assert code == 200, body
    outputs = execute_notebook(c, ["import os\nprint(os.getuid(), os.getgid())"], name="ro")
    assert outputs[0].split() == ["54321", "0"], outputs
    # A kernel of the server knows the random uid by name (base's nss_wrapper), as git,
    # ssh and getpass in a notebook need.
    out = run_in_kernel(
        c, start_kernel(c), "import os, pwd; print(pwd.getpwuid(os.getuid()).pw_name)"
    )
    assert out.split()[-2:] == ["jovyan", "ok"], out


def test_sigterm_stops_lab_and_its_kernels_cleanly(containers: TrackedContainers) -> None:
    """`docker stop` (SIGTERM, as Kubernetes does) with a running kernel: a clean exit 0."""
    c = start_lab(containers)
    start_kernel(c)
    started = time.monotonic()
    c.stop(timeout=30)
    seconds = time.monotonic() - started
    logs = c.logs()
    print(f"docker stop with a running kernel took {seconds:.2f} s")
    assert c.exit_code() == 0, logs[-2000:]
    assert "Shutting down 1 kernel" in logs, logs[-2000:]


@pytest.mark.parametrize("mode", ["user", "root"])
def test_service_belongs_to_jovyan_group_writable_in_user_mode_only(
    containers: TrackedContainers,
    derived_image: DerivedImages,
    image_ref_under_test: str,
    request: pytest.FixtureRequest,
    mode: str,
) -> None:
    """User mode (the image as built): the service folder is jovyan's, group 0 with the owner's
    rights. Root mode (base/README.md's recipe), on purpose: root's, no group or other write
    bit, for the init run as root refuses to run what another uid could change."""
    if mode == "user":  # the image as built, as its user: the shared Lab
        c: TrackedContainer = request.getfixturevalue("lab")
    else:
        image = root_mode_image(derived_image, image_ref_under_test)
        c = containers.run(["sleep", "infinity"], image=image, user="1000")
    paths = "/etc/services.d /etc/services.d/jupyterlab /etc/services.d/jupyterlab/run"
    out = c.exec(f"stat -c '%n %u:%g %A' {paths}").stdout
    for line in out.strip().splitlines():
        name, owner, perms = line.split()
        if mode == "user":
            assert owner == "1000:0", line
            assert perms[1:4] == perms[4:7], f"{name}: group's rights differ from the owner's"
        else:
            assert owner == "0:0", line
            assert "w" not in perms[4:], f"{name}: writable by group or others: {perms}"


def test_no_pip_cache_or_build_leftovers_ship(containers: TrackedContainers) -> None:
    """What the image ships, read in a container without the init: no service runs there to
    add files (a running Lab makes ~/.ipython and ~/.local within seconds of its start)."""
    c = containers.run(["sleep", "infinity"], user="0", entrypoint=["env"])
    out = c.exec(
        "find / -xdev \\( -path /proc -o -path /sys \\) -prune -o -type d "
        "\\( -path '*/.cache/pip' -o -path /tmp/pip-cache \\) -print; "
        "ls -A /tmp /home/jovyan",
        user="0",
    ).stdout
    lines = out.split()
    assert not [line for line in lines if "pip" in line], out
    assert ".ipython" not in lines, out
    assert ".jupyter" not in lines, out
