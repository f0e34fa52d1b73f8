"""Start-ups of a local image: `docker run` to the first HTTP 200 through /init and bare
(the service's run script as the entrypoint), interleaved and counterbalanced (/init, bare,
bare, /init, ...: both modes see the same load, and each follows the other as often) after one
start of each that is not counted, the idle memory after the first counted one of each, and
the size. With an odd number of runs, /init goes first once more than bare."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from kfimages import engine
from kfimages.bench.memory import container_memory
from kfimages.bench.probes import (
    INTERVAL_S,
    PORT,
    PREFIX,
    Probe,
    answered_200_at,
    chain_folders,
    container_args,
    no_probe_reason,
    select_probe,
    services,
)
from kfimages.bench.results import ImageRun, summarize
from kfimages.errors import UserError
from kfimages.repo.graph import Graph
from kfimages.waiting import poll_until

log = logging.getLogger(__name__)


def _stopped(name: str, *, what: str) -> None:
    """Raise when the container is no longer running (waiting longer cannot help)."""
    state = engine.container_state(name)
    if not state.startswith("running"):
        tail = " / ".join(engine.container_logs(name, tail=5)[-3:])
        raise UserError(f"{what}: container {state or 'gone'}; last log lines: {tail}")


def _every(seconds: float, check: Callable[[], None]) -> Callable[[], None]:
    """`check`, run at most once in `seconds` (the probe polls every INTERVAL_S; `docker
    inspect` that often would load the start it measures)."""
    last = [time.monotonic()]

    def throttled() -> None:
        if time.monotonic() - last[0] >= seconds:
            last[0] = time.monotonic()
            check()

    return throttled


def start_order(runs: int) -> list[tuple[int, bool]]:
    """The start-ups of one image, as (run index, bare?): first one of each mode that is not
    counted (index -1: the first start after a build reads the image's files from disk), then
    `runs` of each, interleaved and counterbalanced: /init, bare, bare, /init, /init, bare, ...
    Both modes see the same load, and each follows the other (whose container is still being
    removed) as often, within one for an odd `runs`."""
    order = [(-1, False), (-1, True)]
    for index in range(runs):
        pair = [(index, False), (index, True)]
        order += pair if index % 2 == 0 else pair[::-1]
    return order


def _mode(bare: bool) -> str:
    """The mode's name in the log."""
    return "bare" if bare else "/init"


def start_once(
    *, ref: str, probe: Probe, bare: bool, timeout: float, idle_seconds: float | None
) -> tuple[float, int | None]:
    """Seconds from `docker run` to the first 200 (the host's clock when it came), and (with
    `idle_seconds`) the memory in use that long after it. The container is removed in any
    case."""
    name = f"kfnb-bench-{uuid.uuid4().hex[:10]}"
    what = f"{ref} ({'bare server' if bare else '/init'}) on {probe.path}"
    started = time.time()  # wall clock: compared with the time the 200 came
    engine.run(*container_args(ref=ref, name=name, probe=probe, bare=bare))
    try:
        port = engine.published_port(name, PORT)
        path = probe.resolved(prefix=PREFIX)
        answered = poll_until(
            lambda: answered_200_at(port=port, path=path, follow_redirects=probe.follow_redirects),
            timeout=timeout,
            what=what,
            interval=INTERVAL_S,
            check=_every(1.0, lambda: _stopped(name, what=what)),
        )
        seconds = answered - started
        memory = None
        if idle_seconds is not None:
            time.sleep(idle_seconds)  # on purpose: the memory of a server left idle
            memory = container_memory(name)
        return seconds, memory
    finally:
        engine.remove_containers(name)


def measure_image(
    graph: Graph, name: str, *, ref: str, runs: int, timeout: float, idle_seconds: float
) -> ImageRun:
    """Size and (runs > 0) start-ups through /init and bare of one local image."""
    size = engine.image_size(ref)
    folders = chain_folders(graph, name)
    probe = select_probe(folders=folders)
    if probe is None:
        reason = no_probe_reason(
            folders=folders, found_services=services(root=graph.root, folders=folders)
        )
        return ImageRun(name=name, ref=ref, size=size, reason=reason)
    if runs < 1:
        return ImageRun(
            name=name, ref=ref, size=size, probe=probe.resolved(prefix=PREFIX), reason="skipped"
        )
    times: dict[bool, list[float]] = {False: [], True: []}
    memory: dict[bool, int | None] = {False: None, True: None}
    problems: dict[bool, str] = {}
    for index, bare in start_order(runs):
        if bare in problems:
            continue  # a mode that failed once has no figure
        try:
            seconds, used = start_once(
                ref=ref, probe=probe, bare=bare, timeout=timeout,
                idle_seconds=idle_seconds if index == 0 else None,
            )  # fmt: skip
        except UserError as exc:
            log.error("%s", exc)
            problems[bare] = f"warm-up: {exc}" if index < 0 else str(exc)
            continue
        if index < 0:
            log.info("%s %s warm-up: %.2f s (not counted)", ref, _mode(bare), seconds)
            continue
        times[bare].append(seconds)
        memory[bare] = used if index == 0 else memory[bare]
        log.info("%s %s run %d: %.2f s", ref, _mode(bare), index + 1, seconds)
    timings = {
        bare: None if bare in problems else summarize(times[bare], memory=memory[bare])
        for bare in (False, True)
    }
    return ImageRun(
        name=name,
        ref=ref,
        size=size,
        probe=probe.resolved(prefix=PREFIX),
        init=timings[False],
        bare=timings[True],
        reason="; ".join(problems[bare] for bare in (False, True) if bare in problems),
    )
