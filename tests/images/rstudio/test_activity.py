"""kubeflow-activity in the rstudio image, tested on the R stage (everything but rserver).

What runs here: the script under /bin/sh (the container's start, OUTPUT_JSON_PATH, one line on
stderr for a path it cannot write), and Rprofile.site's task callback: an R command completed
in an interactive R session moves the time, idleness and non-interactive R (Rscript) do not.
What needs rserver (an R command typed in RStudio's console in a browser, an idle RStudio tab)
is in test_rstudio_gateway.py and skips with the download URL where rserver cannot be built.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.harness.activity import ACTIVITY, container_start
from tests.harness.activity import kubeflow_activity as activity
from tests.harness.containers import TrackedContainers
from tests.images.rstudio.stage import StageImage, hardened

IDLE_S = 3
"""How long nobody works before kubeflow-activity is read again: the container's clock past
its last value by this much."""
START_ROUNDING = timedelta(seconds=2)
"""kubeflow-activity's start is boot time plus PID 1's start in clock ticks, both truncated
to whole seconds: it reads up to 2 s before the true start (never after). Arithmetic, not
load: no bound here depends on how long anything took."""


def test_r_commands_in_an_interactive_session_move_activity(
    r_stage: StageImage, containers: TrackedContainers
) -> None:
    # As a random uid on a read-only root (the stamp lives in the /tmp tmpfs).
    before_run = datetime.now(UTC)
    c = containers.run(["sleep", "infinity"], image=r_stage.ref, **hardened())
    c.wait_until(lambda: c.exec("true", check=False).code == 0, timeout=60, message="exec")
    started = container_start(c)
    first = activity(c)
    read = datetime.now(UTC)
    print(f"container started {started}, kubeflow-activity {first} (read at {read})")
    assert first == started  # nobody worked yet: the container's start,
    assert before_run - START_ROUNDING < first <= read  # between `docker run` and now

    # Non-interactive R (a script, a batch job) is not the user at the keyboard.
    c.exec(["Rscript", "-e", "x <- 1 + 1"])
    c.wait_clock_past(max(first, read), by=IDLE_S)
    assert activity(c) == first, "Rscript or idleness moved kubeflow-activity"

    typed = datetime.now(UTC).replace(microsecond=0)
    out = c.exec(
        'printf \'x <- 6 * 7\\ncat("answer", x, "\\\\n")\\n\' | R -q --no-save --interactive'
    ).stdout
    assert "answer 42" in out, out
    after = activity(c)
    print(f"R commands at {typed}: kubeflow-activity {after}")
    assert after >= typed
    c.wait_clock_past(after, by=IDLE_S)
    assert activity(c) == after, "kubeflow-activity moved while nobody worked"


def test_activity_writes_output_json_and_fails_with_one_line(
    r_stage: StageImage, containers: TrackedContainers
) -> None:
    c = containers.run(["sleep", "infinity"], image=r_stage.ref)
    c.wait_until(lambda: c.exec("true", check=False).code == 0, timeout=60, message="exec")
    out = c.exec(
        "OUTPUT_JSON_PATH=/tmp/out.json sh -c 'exec kubeflow-activity' && cat /tmp/out.json"
    )
    document = json.loads(out.stdout)
    assert list(document) == ["last_activity"], document
    bad = c.exec(
        ["sh", ACTIVITY], environment={"OUTPUT_JSON_PATH": "/nonexistent/out.json"}, check=False
    )
    print(f"unwritable OUTPUT_JSON_PATH: exit {bad.code}, stderr {bad.stderr!r}")
    assert bad.code != 0
    assert bad.stdout == ""
    assert len(bad.stderr.splitlines()) == 1, bad.stderr
    assert "OUTPUT_JSON_PATH=/nonexistent/out.json" in bad.stderr
