"""Polling with a deadline: `wait_until`, the tests' face of kfimages.waiting.poll_until (the
one polling loop of the project), with the tests' rules: an exception of the probe means
"not yet", `GiveUp` stops at once, a timeout is an AssertionError."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from kfimages.waiting import TimedOut, poll_until

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
    last_error: list[Exception] = []

    def attempt() -> T | None:
        try:
            return probe()
        except GiveUp:
            raise
        except Exception as exc:  # the probe may fail until the server is up
            last_error[:] = [exc]
            return None

    try:
        return poll_until(attempt, timeout=timeout, what=message, interval=interval, check=check)
    except TimedOut:
        last = last_error[0] if last_error else None
        raise AssertionError(
            f"timed out after {timeout}s waiting for {message}; last error: {last}"
        ) from None
