"""Registry writes retried on transient errors: a bounded number of tries with exponential
backoff (1, 2, 4 s by default); a permanent error is not retried.

Transient: an HTTP 5xx or 429 answer, a connection refused, reset or closed mid-push, a
registry-side time-out (what `docker push` or `buildx imagetools create` says on its last
line). Anything else is permanent (unauthorized, denied, manifest invalid, name unknown, a
missing local image), and so is a whole command that gave no answer in its time-out
(kfimages.engine: an hour for a push), which a retry would only repeat. A write repeated is
harmless: a registry takes a manifest or blob it already has again.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Write = Callable[[], tuple[bool, str]]

TRANSIENT = re.compile(
    r"\b5\d\d [A-Z]|status(?: code)?:? 5\d\d\b|\b429\b|toomanyrequests|too many requests"
    r"|connection (?:refused|reset|closed)|broken pipe|unexpected EOF|: EOF$"
    r"|i/o timeout|handshake timeout|Timeout exceeded|deadline exceeded",
    re.IGNORECASE,
)
"""What a transient failure's message holds (HTTP 5xx or 429, the network, a time-out)."""


def is_transient(detail: str) -> bool:
    """Whether a failed write's message names an error that a later try may not meet."""
    return TRANSIENT.search(detail) is not None


@dataclass(frozen=True)
class Backoff:
    """`tries` attempts in all; the delay before the n-th retry is `first * 2**(n-1)`."""

    tries: int = 4
    first: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    """Injected by tests (no real waiting)."""

    def delay(self, retry: int) -> float:
        return self.first * float(2 ** (retry - 1))


DEFAULT = Backoff()


def attempt(write: Write, *, what: str, backoff: Backoff = DEFAULT) -> tuple[bool, str]:
    """Call `write` until it succeeds, fails permanently or `backoff.tries` ran out;
    (success, the last message; with the number of tries when more than one failed)."""
    ok, detail = write()
    tries = 1
    while not ok and is_transient(detail) and tries < backoff.tries:
        delay = backoff.delay(tries)
        log.warning("%s failed (%s): try %d of %d in %gs", what, detail, tries + 1,
                    backoff.tries, delay)  # fmt: skip
        backoff.sleep(delay)
        ok, detail = write()
        tries += 1
    if not ok and tries > 1:
        detail = f"{detail} ({tries} tries)"
    return ok, detail
