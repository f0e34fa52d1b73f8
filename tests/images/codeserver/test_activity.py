"""Idle culling and activity for code-server: /usr/local/bin/kubeflow-activity.

Kubeflow Notebooks 2 offers only a `podExec` probe for code-server. kubeflow-activity reports
when the user last worked: typing in the editor (the image's built-in extension touches
/tmp/kubeflow-activity/code-server) or in a terminal (the terminal's access time); an open
workbench that nobody touches is not activity, although it keeps code-server's own heartbeat
beating (both shown here, through the gateway proxy, in Chromium).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.harness.activity import ACTIVITY, container_start
from tests.harness.activity import kubeflow_activity as activity
from tests.harness.browser import ChromiumPage
from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.harness.proxy import GatewayProxy, notebooks_v1
from tests.images.codeserver.test_gateway import KNOWN_MISSING
from tests.images.codeserver.workbench import (
    HOME,
    RANDOM_USER,
    Workbench,
    marker_name,
    start_published,
)

HEARTBEAT = "/tmp/code-server/xdg-data/code-server/heartbeat"
HEARTBEAT_S = 60
"""code-server re-beats its heartbeat every 60 s while a connection is open."""
PTY_GRANULARITY_S = 8
"""The kernel updates a terminal's access time only when it is 8 s or more behind."""
START_ROUNDING = timedelta(seconds=2)
"""kubeflow-activity's start is boot time plus PID 1's start in clock ticks, both truncated
to whole seconds: it reads up to 2 s before the true start (never after). Arithmetic, not
load: no bound here depends on how long anything took."""


def moved(c: TrackedContainer, since: datetime, *, strict: bool = False) -> datetime | None:
    """kubeflow-activity's time if it is at `since` or later (`strict`: later), else None."""
    value = activity(c)
    return value if value > since or (value == since and not strict) else None


def mtime(c: TrackedContainer, path: str) -> int:
    return int(c.exec(["stat", "-c", "%Y", path]).stdout)


def test_activity_reports_the_start_writes_the_file_and_fails_with_one_line(
    containers: TrackedContainers,
) -> None:
    before_run = datetime.now(UTC)
    c = containers.run(user=RANDOM_USER)
    c.wait_services_up()
    started = container_start(c)
    first = activity(c)
    read = datetime.now(UTC)
    print(f"container started {started}, kubeflow-activity {first} (read at {read})")
    assert first == started  # nobody worked yet: the container's start,
    assert before_run - START_ROUNDING < first <= read  # between `docker run` and now
    c.wait_clock_past(read)  # a time read now would differ: the start is not "now"
    assert activity(c) == first, "kubeflow-activity moved while nobody worked"

    out = c.exec(
        "OUTPUT_JSON_PATH=/tmp/out.json sh -c 'exec kubeflow-activity' && cat /tmp/out.json"
    )
    assert json.loads(out.stdout) == {"last_activity": first.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert out.stderr == ""

    bad = c.exec(
        ["sh", ACTIVITY], environment={"OUTPUT_JSON_PATH": "/proc/nope/out.json"}, check=False
    )
    print(f"unwritable OUTPUT_JSON_PATH: exit {bad.code}, stderr {bad.stderr!r}")
    assert bad.code != 0
    assert bad.stdout == ""
    assert len(bad.stderr.splitlines()) == 1, bad.stderr
    assert "OUTPUT_JSON_PATH=/proc/nope/out.json" in bad.stderr


@pytest.mark.folder_image_only
def test_an_idle_tab_is_not_activity_typing_in_editor_and_terminal_is(
    containers: TrackedContainers, home_volume: str, artifacts_dir: Path
) -> None:
    marker = marker_name()
    c, host_port = start_published(containers, home_volume, {marker: "hello\n"})
    screenshot = artifacts_dir / "activity.png"
    with (
        GatewayProxy(
            notebooks_v1(rewrite_uri="/"), host_port, known_missing=KNOWN_MISSING
        ) as proxy,
        ChromiumPage() as page,
    ):
        proxy.mark()
        page.goto(proxy.url(f"?folder={HOME}"))
        wb = Workbench(page, c)
        try:
            wb.wait_explorer_shows(marker)
            opened = activity(c)
            beat = mtime(c, HEARTBEAT)

            # Untouched until code-server beats its heartbeat for the open tab (the timeout,
            # three beats, only guards against a hang).
            def beaten() -> int | None:
                later = mtime(c, HEARTBEAT)
                return later if later > beat else None

            beat_later = c.wait_until(
                beaten,
                timeout=3 * HEARTBEAT_S,
                interval=1,
                message="code-server's heartbeat to beat for the open tab",
            )
            wb.assert_connected()
            idle = activity(c)
            print(
                f"workbench open, untouched: kubeflow-activity {opened} -> {idle}; "
                f"code-server's heartbeat file {beat} -> {beat_later}"
            )
            assert idle == opened, "kubeflow-activity moved while the tab sat untouched"

            wb.open_file(marker)
            typed = datetime.now(UTC).replace(microsecond=0)
            wb.type_in_editor("kfnb typed this ")
            after_editor = c.wait_until(
                lambda: moved(c, typed),
                timeout=30,
                message="kubeflow-activity to move after typing in the editor",
            )
            print(f"typed in the editor at {typed}: kubeflow-activity {after_editor}")

            wb.open_terminal()
            c.wait_until(
                lambda: c.exec("ls /dev/pts | grep -qx '[0-9]*'", check=False).code == 0,
                timeout=60,
                message="the terminal's pty",
            )
            opened_terminal = datetime.now(UTC)
            # Idle until keystrokes would move the terminal's access time (set when it was
            # created, before now): the clock past it by the kernel's granularity.
            c.wait_clock_past(opened_terminal, by=PTY_GRANULARITY_S)
            before_terminal = activity(c)
            assert before_terminal <= opened_terminal, "an idle terminal moved the activity"
            keyed = datetime.now(UTC).replace(microsecond=0)
            page.type_text("echo kfnb")  # keystrokes, no Enter
            after_terminal = c.wait_until(
                lambda: moved(
                    c,
                    max(keyed - timedelta(seconds=PTY_GRANULARITY_S), before_terminal),
                    strict=True,
                ),
                timeout=30,
                message="kubeflow-activity to move after keystrokes in the terminal",
            )
            print(
                f"terminal idle, then keys in it at {keyed}: kubeflow-activity "
                f"{before_terminal} -> {after_terminal}"
            )
        except AssertionError as exc:
            page.screenshot(screenshot)
            raise AssertionError(f"{exc}\n{proxy.report()}\nscreenshot: {screenshot}") from exc
        page.screenshot(screenshot)
