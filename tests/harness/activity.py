"""Reading `kubeflow-activity`, the IDE images' activity probe, as the platform's podExec does."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.harness.containers import TrackedContainer

ACTIVITY = "/usr/local/bin/kubeflow-activity"


def parse_time(value: str) -> datetime:
    """An ISO 8601 time with a `Z` suffix."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def container_start(c: TrackedContainer) -> datetime:
    """When the container's PID 1 started, as procps's `ps` reads it (boot time plus the
    process's start, in whole seconds): what kubeflow-activity reports before anybody worked,
    read independently of it (Docker's StartedAt is a moment later and not rounded the same)."""
    out = c.exec(["ps", "-o", "lstart=", "-p", "1"], environment={"LC_ALL": "C", "TZ": "UTC"})
    return datetime.strptime(out.stdout.strip(), "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)


def kubeflow_activity(c: TrackedContainer, **env: str) -> datetime:
    """Run kubeflow-activity with /bin/sh (as a podExec probe would): its last_activity, checked
    to be the only key, in UTC, with nothing on stderr."""
    result = c.exec(["sh", ACTIVITY], environment=env or None)
    assert result.stderr == "", result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["last_activity"], document
    value = str(document["last_activity"])
    assert value.endswith("Z"), value  # UTC
    return parse_time(value)
