"""Polling with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class GiveUp(AssertionError):
    """Raised by a `wait_until` probe (or check) to stop waiting at once: waiting longer
    cannot help (the container died, a service failed)."""


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.25,
    message: str = "condition",
    check: Callable[[], None] | None = None,
) -> T:
    """Poll `probe` until it returns a truthy value and return that value.

    An exception of the probe counts as "not yet" (a server that is not up refuses
    connections), except `GiveUp`, which ends the wait at once; so does any exception of
    `check`, called after every unsuccessful poll (e.g. "is the container still running").
    After `timeout` seconds an AssertionError names `message` and the probe's last error.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except GiveUp:
            raise
        except Exception as exc:  # the probe may fail until the server is up
            last_error = exc
        if check is not None:
            check()
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {message}; last error: {last_error}"
            )
        time.sleep(interval)
