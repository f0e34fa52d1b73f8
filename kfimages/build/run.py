"""`invoke build`: gathers the facts, plans, runs each step (reuse, artifact check, buildx)
through the scheduler, pushes, and prints the summary; `--dry-run` stops after the plan.

Data flow: graph -> plan (BuildInputs + Delivery per image) -> schedule(run_step) ->
report -> push. This module only wires those together and holds the real step runner.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from kfimages import engine, git
from kfimages.build import buildx, enginelock, retag, schedule, taggers
from kfimages.build.bootstrap import ensure_os_image
from kfimages.build.ca import (
    ca_digest,
    fill_ca_dir,
)
from kfimages.build.cross import check_locks
from kfimages.build.dryrun import format_dry_run, os_image_lines
from kfimages.build.plan import (
    BuildRequest,
    Facts,
    Step,
    check_push,
    check_request,
    make_steps,
    plan_images,
)
from kfimages.build.report import BuildReport, Result, Status, format_summary
from kfimages.build.retag import find_reusable
from kfimages.build.secrets import build_secrets
from kfimages.build.stop import STOP, Interrupted, interrupted_reason, on_signals
from kfimages.errors import UserError
from kfimages.platforms import check_runnable, host_platform, is_foreign, qualify
from kfimages.repo import artifacts
from kfimages.repo.graph import Graph, Image
from kfimages.repo.inputs import CA_CONTEXT, INPUTS_LABEL
from kfimages.settings import Settings

log = logging.getLogger(__name__)

Publisher = Callable[[Sequence[Step], BuildReport, BuildRequest], bool]
"""Pushes a finished plan; False when a push failed (kfimages.ship.push.publish)."""
Reporter = Callable[[Sequence[Step], BuildReport], None]
"""Writes the reports of a finished plan and names them in its notes (kfimages.ship.reports)."""


@dataclass(frozen=True)
class Runtime:
    """What the real step runner shares across steps."""

    root: Path
    output: buildx.Output
    taggers: Mapping[str, tuple[taggers.Tagger, ...]] = field(default_factory=dict)
    """Image name -> its content taggers (kfimages.build.taggers.resolve)."""


def fill_artifact_contexts(step: Step) -> None:
    """Copy each `file://` artifact into its named build context folder."""
    for artifact in step.inputs.artifacts:
        path = artifacts.local_path(artifact.url)
        if artifact.context and path is not None:
            target = step.delivery.context_dirs[artifact.context]
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / path.name)


def parent_problem(step: Step) -> str | None:
    """Why the parent ref of an in-plan parent does not name the image this plan made of it
    (its inputs label differs: another build retagged it meanwhile), or a root's OS image ref
    no longer names the image the plan found (a build of another registry prefix refreshed
    it, or `invoke bootstrap --force`), else None. The child is built FROM that ref, so
    building on would label another parent's content as this one."""
    if step.parent is None:  # the OS images: its own, and the host's for a cross-install
        os_images = [(step.delivery.parent_ref, step.inputs.parent)]
        if step.delivery.build_parent_ref:
            os_images.append((step.delivery.build_parent_ref, step.inputs.build_parent))
        for ref, image_id in os_images:
            data = engine.inspect_image(ref)
            found = str(data["Id"]) if data else "(none)"
            if found != image_id:
                return (
                    f"OS image {ref} is another image now ({found[:19]}, this plan's "
                    f"{image_id[:19]}): something replaced it during the build; build again"
                )
        return None
    checks = [(step.delivery.parent_ref, step.inputs.parent)]
    if step.build_parent:
        checks.append((step.delivery.build_parent_ref, step.inputs.build_parent))
    for ref, digest in checks:
        found = (engine.image_labels(ref) or {}).get(INPUTS_LABEL, "(none)")
        if found != digest:
            return (
                f"parent ref {ref} names another image now (inputs {found[:12]}, this plan's "
                f"{digest[:12]}): something retagged it during the build; build again"
            )
    return None


def blocked_reason(step: Step) -> str | None:
    """Why a step cannot be built: an artifact of it that cannot be fetched (None: none)."""
    for artifact in step.inputs.artifacts:
        problem = artifacts.check_url(artifact.url)
        if problem is not None:
            return f"artifact {artifact.name}: {problem}"
    return None


def run_step(step: Step, rt: Runtime) -> Result:
    """Reuse, block or build one image."""
    started = time.monotonic()
    result = Result(name=step.name, ref=step.ref, status=Status.BUILT, started=time.time())
    before: retag.Replaced | None = None  # `previous` follows `latest` however the step ends
    try:
        before = retag.replaced(step)
        source = None if step.delivery.no_cache else find_reusable(step)
        if source is not None:
            result.status = Status.REUSED
            result.reason = f"same inputs as {source}" if source != step.ref else ""
            log.info("%s: reused %s", step.name, source)
            return _tag_content(step, rt, result)
        blocked = blocked_reason(step)
        if blocked is not None:
            result.status, result.reason, result.blocked_by = Status.BLOCKED, blocked, step.name
            log.warning("%s: blocked, %s", step.name, blocked)
            return result
        moved = parent_problem(step)
        if moved is not None:
            result.status, result.reason = Status.FAILED, moved
            log.error("%s: %s", step.name, moved)
            return result
        fill_artifact_contexts(step)
        log.info("%s: building %s (BASE_IMG=%s)", step.name, step.ref, step.delivery.parent_ref)
        cmd = buildx.command(step.inputs, step.delivery, root=rt.root)
        ok, reason, _ = buildx.run(cmd, name=step.name, output=rt.output)
        if not ok:
            result.status, result.reason = Status.FAILED, reason
            log.error("%s: build failed: %s", step.name, reason)
            return result
        return _tag_content(step, rt, result)
    except (UserError, OSError) as exc:
        if isinstance(exc, Interrupted):
            reason = interrupted_reason(str(exc), ref=step.ref, digest=step.inputs.digest)
            result.status, result.reason = Status.INTERRUPTED, reason
        else:
            result.status, result.reason = Status.FAILED, str(exc).splitlines()[0]
        return result
    finally:
        try:
            retag.follow(before)
        except UserError as exc:  # `latest` moved and `previous` could not follow it
            result.status, result.reason = Status.FAILED, f"{retag.PREVIOUS_TAG}: {exc}"
        result.duration = time.monotonic() - started


def _tag_content(step: Step, rt: Runtime, result: Result) -> Result:
    """Give a built or reused image its content tags; a tagger that fails fails the image."""
    STOP.check(f"{result.status}, no content tags made")
    try:
        result.content_refs = taggers.content_refs(
            step.ref,
            rt.taggers.get(step.image.name, ()),
            image=step.name,
            reused=result.status == Status.REUSED,
            suffix=step.suffix,
        )
    except UserError as exc:
        result.status, result.reason = Status.FAILED, f"tagging: {exc}"
        log.error("%s: tagging failed: %s", step.name, exc)
    return result


@contextmanager
def _work_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="kfimages-build-") as tmp:
        yield Path(tmp)


def _os_images(
    images: Sequence[Image],
    graph: Graph,
    request: BuildRequest,
    *,
    mirror: str,
    platforms: Sequence[str],
    host: str,
) -> dict[str, str]:
    """Platform-qualified OS image ref -> image ID for the plan's roots, per platform, and the
    host's for a cross-installing root built for another platform (its build stage runs FROM
    it): ensured (local, pulled or bootstrapped) or, with `refresh_os`, re-created; for a dry
    run only inspected (a missing or refreshed one is named, not fetched)."""
    wanted = sorted(
        (qualify(image.parent, platform, host=host), platform)
        for image in images
        if graph.parent_of(image.name) is None
        for platform in dict.fromkeys(
            [*platforms, host]
            if image.cross and any(is_foreign(p, host=host) for p in platforms)
            else platforms
        )
    )
    out: dict[str, str] = {}
    for ref, platform in dict(wanted).items():
        if request.dry_run:
            data = engine.inspect_image(ref)
            out[ref] = str(data["Id"]) if data else f"(missing {ref}: would pull or bootstrap)"
            if request.refresh_os:
                out[ref] = f"(refreshed {ref}: would pull, else bootstrap)"
            continue
        out[ref] = ensure_os_image(
            ref, refresh=request.refresh_os, allow_bootstrap=request.bootstrap, mirror=mirror,
            platform=platform,
        ).image_id  # fmt: skip
    return out


def prepare(
    graph: Graph, names: Sequence[str], request: BuildRequest, *, settings: Settings, work: Path
) -> list[Step]:
    """Check the request and the engine, gather the facts and plan the steps."""
    check_request(request)
    images = plan_images(graph, names)
    if not images:
        return []
    host = host_platform()
    targets = request.platforms or (host,)
    platforms = check_locks(graph, images, targets, host=host)
    engine.check_docker()
    if not request.dry_run:  # a plan runs nothing: format_dry_run names a missing emulator
        check_runnable(targets)
    info = git.read_info(graph.root)
    check_push(request, info)
    facts = Facts(
        git=info,
        os_images=_os_images(
            images,
            graph,
            request,
            mirror=settings.debian_mirror,
            platforms=platforms,
            host=host,
        ),
        repository_files=git.repository_files(graph.root)
        if any(i.config.extra_paths for i in images)
        else [],
        baked_ca=ca_digest(request.bake_ca_files) if request.bake_ca_files else "",
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        work_dir=work,
        overrides=settings.build_args,
        secrets=build_secrets(request, settings=settings, work=work),
    )
    return make_steps(graph, images, request=request, facts=facts, platforms=targets, host=host)


def build_images(
    graph: Graph,
    names: Sequence[str],
    request: BuildRequest,
    *,
    settings: Settings,
    stream: TextIO | None = None,
    publish: Publisher | None = None,
    reporter: Reporter | None = None,
) -> BuildReport:
    """Plan and build `names` (plus ancestors); print progress and the summary to `stream`.
    With `request.push`, `publish` (kfimages.ship.push.publish) pushes the finished plan once
    every image of it was built or reused; then `reporter` (kfimages.ship.reports) writes
    each image's SBOM and manifest, naming them above the summary. A build holds the engine's
    build lock of its registry prefix (kfimages.build.enginelock) and stops on SIGINT or SIGTERM
    (kfimages.build.stop)."""
    out = stream if stream is not None else sys.stdout
    check_request(request)  # bad input fails at once, not after waiting for the engine's lock
    if request.dry_run:
        with _work_dir() as work:
            steps = prepare(graph, names, request, settings=settings, work=work)
            text = format_dry_run(steps, root=graph.root, refresh=request.refresh_os)
        out.write(text + "\n" if steps else "nothing to build\n")
        out.flush()
        return BuildReport(results=[])
    with (
        enginelock.exclusive(names, registry=request.registry, wait=request.wait),
        on_signals() as stop,
    ):
        steps, report = _build(graph, names, request, settings=settings, out=out)
        report.signal = stop.signum
        if request.push and publish is None:
            raise ValueError("request.push needs a publisher (kfimages.ship.push.publish)")
        if publish is not None and request.push and report.results:
            if report.exit_code == 0:
                report.push_failed = not publish(steps, report, request)
                report.signal = stop.signum  # a signal during the push stopped it
            else:
                log.error("nothing pushed: not every image of the plan was built or reused")
        if reporter is not None and report.results:
            reporter(steps, report)
        out.write("\n" + format_summary(report) + "\n" if report.results else "")
        out.flush()
        return report


def _build(
    graph: Graph, names: Sequence[str], request: BuildRequest, *, settings: Settings, out: TextIO
) -> tuple[list[Step], BuildReport]:
    """Prepare and run the plan's steps: the steps and their report."""
    with _work_dir() as work:
        steps = prepare(graph, names, request, settings=settings, work=work)
        if not steps:
            out.write("nothing to build\n")
            return [], BuildReport(results=[])
        tags = [r.rsplit(":", 1)[1] for r in steps[0].delivery.refs]
        log.info(
            "plan: %s; tags: %s; jobs: %d; build-time CA: host store%s; baked CA: %s",
            ", ".join(s.name for s in steps), ", ".join(tags), request.jobs,
            "".join(f" + {p}" for p in request.ca_files),
            ", ".join(map(str, request.bake_ca_files)) or "none",
        )  # fmt: skip
        fill_ca_dir(request.bake_ca_files, target=work / CA_CONTEXT)
        rt = Runtime(
            root=graph.root,
            output=buildx.Output(out, prefix=request.jobs > 1),
            taggers={name: taggers.resolve(graph, name) for name in {s.image.name for s in steps}},
        )
        by_name = {s.name: s for s in steps}
        results = schedule.schedule(
            [s.name for s in steps],
            parents={s.name: s.parent for s in steps},
            refs={s.name: s.ref for s in steps},
            run=lambda name: run_step(by_name[name], rt),
            jobs=request.jobs,
            after={s.name: (s.build_parent,) for s in steps if s.build_parent},
            stopped=lambda: STOP.requested,
        )
    return steps, BuildReport(results=results, notes=os_image_lines(steps))
