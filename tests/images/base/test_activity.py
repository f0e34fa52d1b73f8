"""kubeflow-activity, base's one implementation that every image runs (base/README.md,
"Activity"; docs/contract.md, "Activity"), tested on base with what an IDE image adds: stamps
in $KUBEFLOW_ACTIVITY_DIR, terminals, or a probe. Each IDE image's own test_activity.py asserts
what its stamp or probe records (an editor, an R console, a JupyterLab kernel).

Times are set with `touch -d` instead of waited for: no test here sleeps.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.harness.activity import ACTIVITY, container_start, parse_time
from tests.harness.activity import kubeflow_activity as activity
from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.harness.images import DerivedImages, files_of

pytestmark = pytest.mark.folder_image_only

STAMPS = "/tmp/kubeflow-activity"
RANDOM_USER = "123456:0"
PROBE_FILES = Path(__file__).resolve().parent / "activity-probe"
PROBE_DOCKERFILE = """\
ARG BASE_IMG
FROM $BASE_IMG
COPY probe /usr/local/libexec/kubeflow-activity/probe
"""
PROBE_TIME = "2030-01-02T03:04:05.678901Z"
"""What activity-probe/probe prints."""


def set_time(c: TrackedContainer, path: str, when: datetime, *, access: bool = False) -> None:
    """Set the modification (`access`: access) time of `path`, creating a missing file."""
    c.exec(["touch", "-a" if access else "-m", "-d", f"@{int(when.timestamp())}", path])


def run_hardened(containers: TrackedContainers, image: str | None = None) -> TrackedContainer:
    """A container as a random uid with gid 0, read-only root, with a terminal (/dev/pts/0)."""
    c = containers.run(
        ["sleep", "infinity"],
        image=image,
        user=RANDOM_USER,
        read_only=True,
        tmpfs={"/tmp": "", "/run": ""},
        tty=True,
    )
    c.wait_until(lambda: c.exec("true", check=False).code == 0, timeout=60, message="exec")
    return c


def test_the_start_then_the_latest_stamp_or_terminal(containers: TrackedContainers) -> None:
    c = run_hardened(containers)
    # Its terminal is as old as the container: made older, it does not hide the start.
    set_time(c, "/dev/pts/0", datetime(1970, 1, 1, tzinfo=UTC), access=True)
    first = activity(c)
    print(f"container's PID 1 started {container_start(c)}, kubeflow-activity {first}")
    assert first == container_start(c), "nobody worked yet: the container's start"
    c.reload()
    started = datetime.fromisoformat(c.attrs["State"]["StartedAt"][:19] + "+00:00")
    # Only against a wrong clock or another process's start; not a measure of speed.
    assert abs(first - started) < timedelta(minutes=5)

    # Every regular file in the folder is a stamp (each IDE touches its own); the latest counts.
    later = first + timedelta(hours=1)
    c.exec(["mkdir", "-p", f"{STAMPS}/a-folder", "/tmp/elsewhere"])
    set_time(c, f"{STAMPS}/an-ide", later)
    set_time(c, f"{STAMPS}/another-ide", later - timedelta(minutes=10))
    set_time(c, f"{STAMPS}/a-folder", later + timedelta(hours=5))  # not a stamp
    assert activity(c) == later
    moved = later + timedelta(hours=1)
    set_time(c, "/tmp/elsewhere/an-ide", moved)
    assert activity(c, KUBEFLOW_ACTIVITY_DIR="/tmp/elsewhere") == moved

    # A terminal's access time (the kernel's, when a shell reads a keystroke).
    typed = moved + timedelta(hours=1)
    set_time(c, "/dev/pts/0", typed, access=True)
    assert activity(c) == typed

    out = c.exec(
        "OUTPUT_JSON_PATH=/tmp/out.json sh -c 'exec kubeflow-activity' && cat /tmp/out.json"
    )
    assert out.stdout == json.dumps({"last_activity": typed.strftime("%Y-%m-%dT%H:%M:%SZ")}) + "\n"
    bad = c.exec(["sh", ACTIVITY], environment={"OUTPUT_JSON_PATH": "/out.json"}, check=False)
    print(f"OUTPUT_JSON_PATH on the read-only root: exit {bad.code}, stderr {bad.stderr!r}")
    assert (bad.code, bad.stdout) == (1, "")
    assert bad.stderr == "kubeflow-activity: cannot write OUTPUT_JSON_PATH=/out.json\n"


@pytest.fixture(scope="module")
def probe_image(derived_image: DerivedImages, image_ref_under_test: str) -> str:
    """The image under test with activity-probe/probe as its probe (as jupyter adds one)."""
    return derived_image(image_ref_under_test, files_of(PROBE_FILES), dockerfile=PROBE_DOCKERFILE)


def test_a_probe_alone_decides_and_its_failure_is_one_line(
    containers: TrackedContainers, probe_image: str
) -> None:
    c = run_hardened(containers, image=probe_image)
    c.exec(["mkdir", STAMPS])
    set_time(c, f"{STAMPS}/an-ide", datetime(2040, 1, 1, tzinfo=UTC))  # ignored: a probe rules
    assert activity(c) == parse_time(PROBE_TIME)
    raw = c.exec(["sh", ACTIVITY])
    assert raw.stdout == json.dumps({"last_activity": PROBE_TIME}) + "\n"

    failed = c.exec(["sh", ACTIVITY], environment={"KFNB_PROBE": "fail"}, check=False)
    print(f"failing probe: exit {failed.code}, stderr {failed.stderr!r}")
    assert (failed.code, failed.stdout, failed.stderr) == (3, "", "kfnb probe: cannot tell\n")

    garbage = c.exec(
        ["sh", ACTIVITY],
        environment={"KFNB_PROBE": "garbage", "OUTPUT_JSON_PATH": "/tmp/out.json"},
        check=False,
    )
    print(f"probe printing no time: exit {garbage.code}, stderr {garbage.stderr!r}")
    assert (garbage.code, garbage.stdout) == (1, "")
    assert garbage.stderr == (
        "kubeflow-activity: /usr/local/libexec/kubeflow-activity/probe printed no ISO 8601 time\n"
    )
    assert c.exec(["test", "-e", "/tmp/out.json"], check=False).code == 1, "nothing written"
