"""Idle culling and activity: what Kubeflow's probes see of JupyterLab, and kubeflow-activity.

- Notebooks 1's culler: `GET <NB_PREFIX>/api/kernels` (test_jupyter.py keeps that test).
- Notebooks 2's `jupyter` probe: `last_activity` of `GET <prefix>/api/status`, under both
  platforms' prefixes.
- `/usr/local/bin/kubeflow-activity` (for a `podExec` probe): moves when a cell runs (API and
  browser), stays put while nobody works, also with Lab left open in a browser tab; bad
  OUTPUT_JSON_PATH and a server that does not answer fail with one line on stderr.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.harness.activity import ACTIVITY
from tests.harness.activity import kubeflow_activity as activity
from tests.harness.activity import parse_time as parse
from tests.harness.browser import ChromiumPage
from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.harness.http import http_get, wait_for_http
from tests.harness.proxy import GatewayProxy, notebooks_v1
from tests.images.jupyter.lab import PORT, PREFIX, RANDOM_USER, WATCH_HEARTBEAT, start_lab
from tests.images.jupyter.lab_browser import (
    NOTEBOOK,
    LabPage,
    fail_with,
    start_lab_published,
    write_notebook,
)

IDLE_S = 12
"""How long nobody works before kubeflow-activity is read again: the container's clock past
its last value by this much (kubeflow-activity reads whole seconds; the server's kernel
heartbeats and restarter polls run meanwhile)."""
POLL_ROUNDS = 3
"""An untouched Lab tab is left open until Lab polled the kernels this many times through the
gateway (about every 10 s), not for a fixed time."""
POLL_PATH = "/api/kernels"
PREFIXES = {
    "notebooks-v1": "/notebook/ns/nb",
    "notebooks-v2": "/workspace/connect/ns/nb/jupyterlab/",
}
# The probe of a WorkspaceKind (podExec.script), as README.md recommends it.
PROBE_SCRIPT = f"#!/bin/sh\nexec {ACTIVITY}\n"


def status_activity(c: TrackedContainer, prefix: str = PREFIX) -> datetime:
    code, body = http_get(c, f"http://127.0.0.1:{PORT}{prefix.rstrip('/')}/api/status")
    assert code == 200, body
    return parse(json.loads(body)["last_activity"])


def run_in_new_kernel(c: TrackedContainer, code: str) -> str:
    """Start a kernel through the server's API and run `code` in it (jupyter_client on the
    kernel's connection file, as a Lab tab's kernel connection does through the server)."""
    script = f"""
import json, time, urllib.request, http.cookiejar, jupyter_client
base = "http://127.0.0.1:{PORT}{PREFIX}"
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
opener.open(base + "/lab").read()
xsrf = next(c.value for c in jar if c.name == "_xsrf")
request = urllib.request.Request(base + "/api/kernels", data=b'{{"name": "python3"}}',
    headers={{"X-XSRFToken": xsrf, "Content-Type": "application/json"}}, method="POST")
kernel = json.load(opener.open(request))
kc = jupyter_client.BlockingKernelClient(
    connection_file="/tmp/jupyter-runtime/kernel-" + kernel["id"] + ".json")
kc.load_connection_file()
kc.start_channels(hb={WATCH_HEARTBEAT})
kc.wait_for_ready(timeout=60)
reply = kc.execute_interactive({code!r}, timeout=60)
print(reply["content"]["status"])
"""
    return c.exec(["python", "-c", script], timeout=120).stdout


def test_activity_moves_with_a_cell_run_and_stays_put_while_idle(
    containers: TrackedContainers,
) -> None:
    c = start_lab(containers, user=RANDOM_USER)
    first = activity(c)
    code, body = http_get(c, f"http://127.0.0.1:{PORT}{PREFIX}/api/status")
    assert code == 200, body
    started = parse(json.loads(body)["started"])
    print(f"server started {started}, kubeflow-activity {first}")
    assert first == started  # nobody worked yet: the server's start
    c.wait_clock_past(first, by=IDLE_S)
    assert activity(c) == first, "kubeflow-activity moved while nobody worked"

    before_run = datetime.now(UTC)
    out = run_in_new_kernel(c, "print(6 * 7)")
    assert out.split()[-2:] == ["42", "ok"], out
    after_run = c.wait_until(lambda: settled(c), timeout=60, message="the kernel idle")
    print(f"after a cell run: {after_run} (run started {before_run})")
    assert after_run >= before_run

    c.wait_clock_past(after_run, by=IDLE_S)
    assert activity(c) == after_run, "kubeflow-activity moved while the kernel sat idle"


@pytest.mark.parametrize("prefix", PREFIXES.values(), ids=PREFIXES.keys())
def test_status_probe_and_activity_under_both_platforms_prefixes(
    containers: TrackedContainers, prefix: str
) -> None:
    """Notebooks 2's `jupyter` probe reads last_activity of <prefix>/api/status (no token);
    kubeflow-activity reads the same server under the same NB_PREFIX, and writes its JSON to
    OUTPUT_JSON_PATH when it is set (the WorkspaceKind's podExec.script recommended in
    README.md, run as the controller does: a file with a shebang, executed)."""
    c = containers.run(environment={"NB_PREFIX": prefix})
    wait_for_http(c, f"http://127.0.0.1:{PORT}{prefix.rstrip('/')}/api/status", timeout=120)
    print(f"{prefix}api/status last_activity: {status_activity(c, prefix)}")
    c.write_file("/tmp/probe", PROBE_SCRIPT.encode())
    result = c.exec(
        "chmod +x /tmp/probe && OUTPUT_JSON_PATH=/tmp/out.json /tmp/probe && cat /tmp/out.json"
    )
    document = json.loads(result.stdout)
    assert parse(document["last_activity"]) == activity(c), document
    assert result.stderr == "", result.stderr


def test_activity_bad_output_path_and_no_server_fail_with_one_line(
    containers: TrackedContainers,
) -> None:
    c = start_lab(containers)
    bad = c.exec(
        ["sh", ACTIVITY],
        environment={"OUTPUT_JSON_PATH": "/nonexistent/dir/out.json"},
        check=False,
    )
    print(f"unwritable OUTPUT_JSON_PATH: exit {bad.code}, stderr {bad.stderr!r}")
    assert bad.code != 0
    assert bad.stdout == ""
    assert len(bad.stderr.splitlines()) == 1, bad.stderr
    assert "OUTPUT_JSON_PATH=/nonexistent/dir/out.json" in bad.stderr

    # A server that does not answer (another prefix): no time can be given.
    gone = c.exec(["sh", ACTIVITY], environment={"NB_PREFIX": "/elsewhere"}, check=False)
    print(f"no server: exit {gone.code}, stderr {gone.stderr!r}")
    assert gone.code != 0
    assert gone.stdout == ""
    assert len(gone.stderr.splitlines()) == 1, gone.stderr
    assert "kubeflow-activity:" in gone.stderr


def settled(c: TrackedContainer, lab: LabPage | None = None, index: int = 0) -> datetime | None:
    """kubeflow-activity once a cell run's last kernel messages reached the server: every
    kernel idle again as the server saw it (the kernel's status message, which the server
    takes as its last activity; until then kubeflow-activity says "now" for a busy kernel)
    and, in a Lab tab, the cell's prompt numbered (its reply)."""
    code, body = http_get(c, f"http://127.0.0.1:{PORT}{PREFIX}/api/kernels?no_track_activity=1")
    kernels = json.loads(body) if code == 200 else []
    if not kernels or any(k.get("execution_state") != "idle" for k in kernels):
        return None
    if lab is not None and not lab.prompt_numbered(index):
        return None
    return activity(c)


def polls(proxy: GatewayProxy, since: int) -> int:
    """How many times Lab polled POLL_PATH through the proxy after request number `since`."""
    return sum(1 for r in proxy.requests()[since:] if r.uri.split("?")[0].endswith(POLL_PATH))


@pytest.mark.folder_image_only
def test_an_idle_lab_tab_is_not_activity_a_cell_run_in_it_is(
    containers: TrackedContainers, artifacts_dir: Path
) -> None:
    """Lab open in a browser tab (through the gateway) with a running kernel and nobody at the
    keyboard: kubeflow-activity stays put (while /api/status's last_activity, what Notebooks
    2's `jupyter` probe reads, is printed for the README); a cell run in that tab moves it."""
    c, host_port = start_lab_published(containers, PREFIX)
    write_notebook(c, ['print("kfnb-" + "first", 1 + 1)', 'print("kfnb-" + "second", 2 + 2)'])
    screenshot = artifacts_dir / "activity-idle-tab.png"
    with GatewayProxy(notebooks_v1(), host_port) as proxy, ChromiumPage() as page:
        proxy.mark()
        page.goto(proxy.url(f"lab/tree/{NOTEBOOK}"))
        lab = LabPage(page, in_iframe=False)
        try:
            lab.wait_notebook()
            lab.run_cell(0, "kfnb-first 2")
            ran = c.wait_until(
                lambda: settled(c, lab, 0), timeout=60, message="the cell's last kernel messages"
            )
            status_before = status_activity(c)
            since = len(proxy.requests())
            # The timeout (10x the rounds' time) only guards against a hang.
            c.wait_until(
                lambda: polls(proxy, since) >= POLL_ROUNDS,
                timeout=POLL_ROUNDS * 100,
                interval=1,
                message=f"Lab to poll {POLL_PATH} {POLL_ROUNDS} times",
            )
            idle = activity(c)
            status_after = status_activity(c)
            print(
                f"tab idle for {polls(proxy, since)} polls of {POLL_PATH}: kubeflow-activity "
                f"{ran} -> {idle}; /api/status last_activity {status_before} -> {status_after}"
            )
            assert idle == ran, "kubeflow-activity moved while the tab sat untouched"
            # What README.md says of Notebooks 2's `jupyter` probe: Lab's polling of an open
            # tab moves /api/status's last_activity (kubeflow-activity's requests do not).
            assert status_after > status_before
            clicked = datetime.now(UTC)
            lab.run_cell(1, "kfnb-second 4")
            worked = activity(c)
        except AssertionError as exc:
            fail_with(proxy, page, screenshot, exc)
        page.screenshot(screenshot)
    print(f"after a cell run in the tab: {worked}")
    assert worked >= clicked
