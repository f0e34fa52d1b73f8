"""Runs the steps of a plan with up to `jobs` at once; a child starts after its parent
succeeded, and is skipped when its parent failed, was blocked or skipped.

The runner is injected (`run(name) -> Result`), so parallelism and skipping are
unit-tested with a fake runner; `kfimages.build.run` passes the real one (reuse, artifact
check, buildx). Once `stopped()` is true (SIGINT or SIGTERM, kfimages.build.stop) no step
starts: the ones not started are skipped, the running ones end as their runner says.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from kfimages.build.report import Result, Status, skipped_below

log = logging.getLogger(__name__)

Runner = Callable[[str], Result]


def _internal_error(name: str, ref: str, exc: BaseException) -> Result:
    log.error("%s: internal error: %s", name, exc, exc_info=exc)
    return Result(name=name, ref=ref, status=Status.FAILED, reason=f"internal error: {exc}")


def schedule(
    names: Sequence[str],
    *,
    parents: Mapping[str, str | None],
    refs: Mapping[str, str],
    run: Runner,
    jobs: int,
    stopped: Callable[[], bool] = lambda: False,
    after: Mapping[str, Sequence[str]] | None = None,
) -> list[Result]:
    """Run `names` (parents first) and return their results in the same order.

    `parents` maps a name to its parent's name when that parent is in `names`; `after` to
    further names it waits for and is skipped below like a parent (the build platform's
    parent of a cross-installing image). An exception of the runner fails that image only.
    """
    in_plan = set(names)
    needs = {
        n: [d for d in (parents.get(n), *(after or {}).get(n, ())) if d in in_plan] for n in names
    }  # others are not waited for
    results: dict[str, Result] = {}
    pending = list(names)
    running: dict[Future[Result], str] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        while pending or running:
            if stopped():
                for name in pending:
                    results[name] = Result(
                        name=name, ref=refs[name], status=Status.SKIPPED,
                        reason="not started: the build was interrupted",
                    )  # fmt: skip
                pending.clear()
            for name in list(pending):
                if any(results.get(d) is None for d in needs[name]):
                    continue
                failed = [results[d] for d in needs[name] if not results[d].status.ok]
                if failed:
                    results[name] = skipped_below(failed[0], name=name, ref=refs[name])
                    log.warning("%s: skipped (%s)", name, results[name].reason)
                    pending.remove(name)
                    continue
                if len(running) < max(1, jobs):
                    running[pool.submit(run, name)] = name
                    pending.remove(name)
            if running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    name = running.pop(future)
                    try:
                        results[name] = future.result()
                    except Exception as exc:  # a bug must not hide the other images' results
                        results[name] = _internal_error(name, refs[name], exc)
    return [results[n] for n in names]
