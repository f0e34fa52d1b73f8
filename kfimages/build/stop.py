"""Stopping a build on SIGINT or SIGTERM: no tag moves after the signal.

`on_signals` (around `build_images`) turns SIGINT and SIGTERM into a stop request of the
process-wide `STOP`: its event is set, and every running buildx (each in its own process
group, `kfimages.engine.stream`) gets SIGTERM on its whole group, SIGKILL `KILL_AFTER`
seconds later if it is still there. The steps check `STOP` before every tag they move
(reuse tags, the buildx run whose `-t` tags BuildKit applies at export, content tags) and
the scheduler starts no step after it; `build_images` pushes nothing. The build then exits
128 + the signal's number (130, 143) after printing the summary.

A signal during BuildKit's export: the engine may already have written the image and its
tags when buildx is stopped; the step is reported as interrupted, and its reason says
whether its ref names the image of this build (`kfimages.build.run.run_step`).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType

from kfimages import engine
from kfimages.errors import UserError
from kfimages.repo.inputs import INPUTS_LABEL

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM)
KILL_AFTER = 10.0
"""Seconds a stopped buildx has to end after SIGTERM before its group gets SIGKILL."""


class Interrupted(UserError):
    """A step was stopped (or not started) because the build was interrupted."""


def _kill_group(proc: subprocess.Popen[str], sig: int) -> None:
    """Send `sig` to the process group `proc` leads (engine.stream starts a new session)."""
    if proc.poll() is not None and sig != signal.SIGKILL:
        return
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


class Stop:
    """A stop request shared by the scheduler's threads, and the process groups to end."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.RLock()  # the handler may run while its thread holds it
        self._procs: set[subprocess.Popen[str]] = set()
        self.signum = 0

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else "a stop request"

    def reset(self) -> None:
        with self._lock:
            self._event.clear()
            self.signum = 0

    def request(self, signum: int) -> None:
        """Stop: set the event, SIGTERM every tracked group (SIGKILL later if still there)."""
        with self._lock:
            self.signum = self.signum or signum
            self._event.set()
            procs = list(self._procs)
        for proc in procs:
            _kill_group(proc, signal.SIGTERM)
        if procs:
            timer = threading.Timer(KILL_AFTER, self._kill_all)
            timer.daemon = True
            timer.start()

    def _kill_all(self) -> None:
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            _kill_group(proc, signal.SIGKILL)

    def check(self, what: str) -> None:
        """Raise Interrupted (naming `what` was not done) once a stop was requested."""
        if self.requested:
            raise Interrupted(f"interrupted by {self.name}: {what}")

    @contextmanager
    def tracking(self, proc: subprocess.Popen[str]) -> Iterator[None]:
        """Track a started process group for the stop; one started after the request is
        stopped at once. On leaving, a stopped group's leftovers get SIGKILL."""
        with self._lock:
            self._procs.add(proc)
            late = self._event.is_set()
        if late:
            _kill_group(proc, signal.SIGTERM)
        try:
            yield
        finally:
            with self._lock:
                self._procs.discard(proc)
            if self.requested:
                _kill_group(proc, signal.SIGKILL)


def interrupted_reason(reason: str, *, ref: str, digest: str) -> str:
    """`reason`, and whether `ref` already names the image of inputs `digest` (the engine
    tagged it before the stop: a signal during BuildKit's export, or a reuse)."""
    labels = engine.image_labels(ref) or {}
    if labels.get(INPUTS_LABEL) == digest:
        return f"{reason}; {ref} names this plan's image (tagged before the stop)"
    return reason


STOP = Stop()
"""The process's stop request (signals are process-wide)."""


@contextmanager
def on_signals(stop: Stop = STOP) -> Iterator[Stop]:
    """SIGINT and SIGTERM request `stop` while inside (a fresh request on entry); outside the
    main thread, where no handler can be installed, only a `stop.request` call stops."""
    stop.reset()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        log.warning("%s: stopping the running builds, moving no tag", signal.Signals(signum).name)
        stop.request(signum)

    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
