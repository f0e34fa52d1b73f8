"""Waiting on a condition with a deadline: the one polling loop of the project (the bench's
start-ups, and the tests' `wait_until` of tests/harness/waiting.py, a thin wrapper)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from kfimages.errors import UserError

T = TypeVar("T")


class TimedOut(UserError):
    """The condition did not come true within the timeout."""


def poll_until(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    what: str = "condition",
    interval: float = 0.25,
    check: Callable[[], None] | None = None,
) -> T:
    """Call `probe` until it returns a truthy value, and return that value.

    `check` runs after every unsuccessful poll; an exception it raises ends the wait at once
    (the container stopped: waiting longer cannot help), as does one of `probe`. After
    `timeout` seconds, TimedOut names `what`. Never sleeps after the condition came true.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if check is not None:
            check()
        if time.monotonic() > deadline:
            raise TimedOut(f"{what}: not there within {timeout:g}s")
        time.sleep(interval)
