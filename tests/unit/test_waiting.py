"""kfimages.waiting.poll_until, the one polling loop, and the tests' wait_until over it
(no clock assertion: a fake probe counts its calls)."""

from __future__ import annotations

import pytest

from kfimages.errors import UserError
from kfimages.waiting import TimedOut, poll_until
from tests.harness.waiting import GiveUp, wait_until


class Countdown:
    """A probe that answers `value` at its `ready`-th call; `errors` makes the calls before
    it raise instead of returning None."""

    def __init__(self, ready: int, *, value: str = "up", errors: bool = False) -> None:
        self.calls = 0
        self.ready = ready
        self.value = value
        self.errors = errors

    def __call__(self) -> str | None:
        self.calls += 1
        if self.calls >= self.ready:
            return self.value
        if self.errors:
            raise ConnectionRefusedError(f"call {self.calls}")
        return None


def test_returns_the_first_truthy_value_without_waiting_more() -> None:
    probe = Countdown(3)
    assert poll_until(probe, timeout=60, interval=0) == "up"
    assert probe.calls == 3


def test_a_timeout_names_what_and_is_a_user_error() -> None:
    with pytest.raises(TimedOut, match=r"jupyter on /api/status: not there within 0s") as caught:
        poll_until(Countdown(10**9), timeout=0, what="jupyter on /api/status", interval=0)
    assert isinstance(caught.value, UserError)


def test_check_stops_the_wait_at_once() -> None:
    probe = Countdown(10**9)

    def check() -> None:
        if probe.calls == 2:
            raise UserError("container exited 1")

    with pytest.raises(UserError, match="container exited 1"):
        poll_until(probe, timeout=60, interval=0, check=check)
    assert probe.calls == 2


def test_wait_until_retries_probe_errors_and_names_the_last_one() -> None:
    probe = Countdown(3, errors=True)
    assert wait_until(probe, timeout=60, interval=0) == "up"
    with pytest.raises(AssertionError, match=r"waiting for the server; last error: call \d+"):
        wait_until(Countdown(10**9, errors=True), timeout=0, interval=0, message="the server")


def test_wait_until_gives_up_at_once() -> None:
    calls = []

    def probe() -> None:
        calls.append(1)
        raise GiveUp("the container died")

    with pytest.raises(GiveUp, match="the container died"):
        wait_until(probe, timeout=60, interval=0)
    assert len(calls) == 1
