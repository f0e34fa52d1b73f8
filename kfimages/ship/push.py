"""Pushes a finished plan: only when every image was built or reused, immutable tags first.

Every `sha-...` tag of every image is pushed before any moving tag (`latest`, the content
tags of kfimages.build.taggers, or any other tag that a rebuild moves), so a push that fails
half-way has moved no moving tag for part of the set. The first failing push stops the run.

With `moving=False` (`invoke build --push --no-lists --immutable-only --record FILE`, a CI
stage's leg) only the `sha-...` refs are pushed, and the record names every moving tag with
the immutable ref it is promoted from; `invoke lists` (the CI's final job, once every image of
every platform passed its tests) makes the immutable lists, then copies each moving
per-platform tag from its immutable ref in the registry and makes the moving lists from the
immutable refs: nothing moving is published before the whole run passed.

A plan of the build host's platform alone pushes each ref as it is. A plan with another
platform (`--platform linux/amd64,linux/arm64`) pushes each platform's image under its tag
plus `-<arch>` (kfimages.platforms: the host's image is tagged so locally first), then makes
one manifest list per tag with `docker buildx imagetools create`, after every per-platform
image of every image was pushed: immutable per-platform tags, immutable lists, moving
per-platform tags, moving lists. A content tag that not every platform's image has (e.g.
`cuda-13.0`) stays a per-platform tag. A SIGINT or SIGTERM stops the push before its next write.

Every write is retried on a transient registry error (kfimages.ship.retry). One that still
fails stops the run: the report's `push_problems` (under the summary table) and the record
name the moving tags that moved and those that did not; the same push again completes them.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kfimages import engine
from kfimages.build.plan import IMMUTABLE_TAG_PREFIX, BuildRequest, Step
from kfimages.build.report import BuildReport
from kfimages.build.stop import STOP, Stop
from kfimages.errors import UserError
from kfimages.platforms import push_suffix
from kfimages.ship import retry

log = logging.getLogger(__name__)

IMMUTABLE_PREFIX = IMMUTABLE_TAG_PREFIX

Pusher = Callable[[str], tuple[bool, str]]
ListMaker = Callable[[str, Sequence[str]], tuple[bool, str]]
Tagger = Callable[[str, str], None]


def is_moving(ref: str) -> bool:
    """Whether a ref's tag moves with rebuilds (anything but a `sha-...` tag)."""
    return not ref.rsplit(":", 1)[-1].startswith(IMMUTABLE_PREFIX)


@dataclass(frozen=True)
class Action:
    """One registry write: push the local image `local` as `ref`, or (with `sources`) make
    `ref` a manifest list of those pushed refs."""

    step: str
    """The step whose result records the write."""
    ref: str
    local: str = ""
    sources: tuple[str, ...] = ()
    promote: bool = False
    """A moving per-platform tag copied in the registry from its immutable ref (`sources`)."""

    @property
    def is_list(self) -> bool:
        return bool(self.sources)


def push_order(
    steps: Sequence[Step], *, extra: Mapping[str, Sequence[str]] | None = None
) -> list[tuple[str, str]]:
    """(step name, ref) pairs: every immutable ref (plan order), then every moving one;
    `extra` adds refs per step (its content tags) after its own refs."""
    extra = extra or {}
    pairs = [(s.name, ref) for s in steps for ref in [*s.delivery.refs, *extra.get(s.name, ())]]
    return [p for p in pairs if not is_moving(p[1])] + [p for p in pairs if is_moving(p[1])]


def _ordered(actions: Sequence[Action]) -> list[Action]:
    """Immutable pushes, immutable lists, moving pushes, moving lists (stable)."""
    return sorted(actions, key=lambda a: (is_moving(a.ref), a.is_list))


@dataclass(frozen=True)
class PlatformPush:
    """One platform's image pushed under `<tag>-<arch>` (`ref`) for the tag `plain`."""

    image: str
    platform: str
    plain: str
    ref: str
    source: str = ""
    """For a moving ref a `moving=False` push left out: the immutable ref of the same image
    and platform it is promoted from (`promote_actions`)."""


def platform_pushes(
    steps: Sequence[Step], *, extra: Mapping[str, Sequence[str]] | None = None
) -> list[tuple[str, str, PlatformPush]]:
    """(step name, local ref, push) of every ref of every step under its platform's tag."""
    extra = extra or {}
    out = []
    for step in steps:
        own = push_suffix(step.inputs.platform)
        for local in [*step.delivery.refs, *extra.get(step.name, ())]:
            plain = local.removesuffix(step.suffix) if step.suffix else local
            push = PlatformPush(step.image.name, step.inputs.platform, plain, plain + own)
            out.append((step.name, local, push))
    return out


def list_actions(pushes: Sequence[PlatformPush], *, step_of: Mapping[str, str]) -> list[Action]:
    """A manifest list per tag that every platform of its image was pushed for (`step_of`:
    image name -> the step that records the list); a tag that a platform lacks (e.g. a
    `cuda-13.0` content tag) stays per-platform."""
    platforms_of: dict[str, set[str]] = {}
    per_tag: dict[tuple[str, str], list[PlatformPush]] = {}
    for push in pushes:
        platforms_of.setdefault(push.image, set()).add(push.platform)
        per_tag.setdefault((push.image, push.plain), []).append(push)
    out = []
    for (image, plain), group in per_tag.items():
        if {p.platform for p in group} == platforms_of[image]:
            sources = tuple(p.source or p.ref for p in group)
            out.append(Action(step=step_of.get(image, image), ref=plain, sources=sources))
        else:
            log.info("%s: not on every platform: no manifest list, only %s", plain,
                     ", ".join(p.ref for p in group))  # fmt: skip
    return out


def multi_platform_actions(
    steps: Sequence[Step],
    *,
    extra: Mapping[str, Sequence[str]] | None = None,
    lists: bool = True,
) -> list[Action]:
    """The writes of a plan with another platform than the host's: per-platform tags, then
    (with `lists`) a manifest list per tag that every platform's image of the image has."""
    pushed = platform_pushes(steps, extra=extra)
    actions = [Action(step=name, ref=p.ref, local=local) for name, local, p in pushed]
    if lists:
        step_of: dict[str, str] = {}
        for step in steps:
            step_of.setdefault(step.image.name, step.name)
        actions += list_actions([p for _, _, p in pushed], step_of=step_of)
    return _ordered(actions)


def promote_actions(pushes: Sequence[PlatformPush]) -> list[Action]:
    """A registry copy of each moving per-platform ref that names its immutable source."""
    return [
        Action(step=p.image, ref=p.ref, sources=(p.source,), promote=True)
        for p in pushes
        if p.source
    ]


def incomplete(actions: Sequence[Action], done: Sequence[str]) -> list[str]:
    """Lines naming the moving tags of `actions` that moved (are in `done`) and those that
    did not; none when every one moved."""
    moving = [a.ref for a in actions if is_moving(a.ref)]
    moved, left = [r for r in moving if r in done], [r for r in moving if r not in done]
    if not left:
        return []
    return [
        f"push incomplete: {len(moved)} of {len(moving)} moving tag(s) moved; "
        "the same push again completes them",
        f"  moved: {', '.join(moved) or 'none'}",
        f"  not moved: {', '.join(left)}",
    ]


def make_lists(
    actions: Sequence[Action], *, make_list: ListMaker, backoff: retry.Backoff = retry.DEFAULT
) -> list[str]:
    """Make the manifest lists (and promotions) of `actions` in order: immutable lists, then
    moving ones, each retried on a transient error; the problems (stops at the first: the
    failure, then which moving tags moved and which did not)."""
    ordered, done = _ordered(actions), list[str]()
    for action in ordered:
        what = "promoting" if action.promote else "manifest list"
        log.info("%s %s of %s", what, action.ref, ", ".join(action.sources))
        write = functools.partial(make_list, action.ref, action.sources)
        ok, detail = retry.attempt(write, what=f"{what} {action.ref}", backoff=backoff)
        if not ok:
            return [f"manifest list of {action.ref} failed: {detail}", *incomplete(ordered, done)]
        done.append(action.ref)
    return []


def push_all(
    steps: Sequence[Step],
    report: BuildReport,
    *,
    push: Pusher = engine.push,
    make_list: ListMaker = engine.create_manifest_list,
    tag: Tagger = engine.tag,
    multi_platform: bool = False,
    lists: bool = True,
    moving: bool = True,
    backoff: retry.Backoff = retry.DEFAULT,
    stop: Stop = STOP,
) -> bool:
    """Push every ref in `push_order` (with `multi_platform`: every write of
    `multi_platform_actions`, the manifest lists only with `lists`; without `moving`, only
    the immutable ones), each retried on a transient error (`backoff`); False at the first
    failure (or `stop` request), with the reason on the step's result and `push_problems`
    naming it and the moving tags that moved and did not. Only for a plan that succeeded."""
    results = report.by_name()
    content = {name: result.content_refs for name, result in results.items()}
    actions = (
        multi_platform_actions(steps, extra=content, lists=lists)
        if multi_platform
        else [Action(step=n, ref=r, local=r) for n, r in push_order(steps, extra=content)]
    )
    if not moving:
        actions = [a for a in actions if not is_moving(a.ref)]
    done: list[str] = []
    for action in actions:
        if stop.requested:  # after SIGINT/SIGTERM no tag moves (kfimages.build.stop)
            report.push_problems = [f"push stopped by {stop.name}", *incomplete(actions, done)]
            return False
        what = "manifest list" if action.is_list else "push"
        if action.is_list:
            log.info("manifest list %s of %s", action.ref, ", ".join(action.sources))
            write = functools.partial(make_list, action.ref, action.sources)
        else:
            if action.local != action.ref:
                tag(action.local, action.ref)
            log.info("pushing %s", action.ref)
            write = functools.partial(push, action.ref)
        ok, detail = retry.attempt(write, what=f"{what} of {action.ref}", backoff=backoff)
        if not ok:
            problem = f"{what} of {action.ref} failed: {detail}"
            results[action.step].reason = problem
            report.push_problems = [problem, *incomplete(actions, done)]
            log.error("%s", problem)
            return False
        results[action.step].pushed.append(action.ref)
        done.append(action.ref)
    return True


def record(
    steps: Sequence[Step], report: BuildReport, *, promote: bool = False
) -> list[dict[str, str | bool]]:
    """What a `--no-lists` push wrote, as JSON-ready rows for `invoke lists`; with `promote`
    (a `moving=False` push), also each moving ref it left out, with `source`: the immutable
    ref of the same step that `invoke lists` promotes it from. A ref that a failed push did
    not reach has `"pushed": false` (and `invoke lists` refuses the record)."""
    content = {r.name: r.content_refs for r in report.results}
    pushed = {ref for r in report.results for ref in r.pushed}
    pushes = platform_pushes(steps, extra=content)
    immutable: dict[str, str] = {}
    for name, _, p in pushes:
        if p.ref in pushed and not is_moving(p.ref):
            immutable.setdefault(name, p.ref)
    rows: list[dict[str, str | bool]] = []
    for name, _, p in pushes:
        row: dict[str, str | bool] = {"image": p.image, "platform": p.platform,
                                      "tag": p.plain, "ref": p.ref}  # fmt: skip
        if p.ref in pushed:
            rows.append(row)
        elif promote and is_moving(p.ref) and name in immutable:
            rows.append({**row, "source": immutable[name]})
        else:
            rows.append({**row, "pushed": False})
    return rows


def publish(steps: Sequence[Step], report: BuildReport, request: BuildRequest) -> bool:
    """Push a finished plan (the publisher `build_images` takes): plain refs for the host's
    platform alone, else per-platform tags and (unless `push_lists` is off) one manifest list
    per tag (without `push_moving`, only the immutable refs); with `push_record`, write what
    was pushed. False when a push failed."""
    multi = (
        not request.push_lists
        or len({s.inputs.platform for s in steps}) > 1
        or any(s.suffix for s in steps)
    )
    ok = push_all(
        steps, report, multi_platform=multi, lists=request.push_lists, moving=request.push_moving
    )
    if request.push_record is not None:
        rows = record(steps, report, promote=not request.push_moving)
        request.push_record.parent.mkdir(parents=True, exist_ok=True)
        request.push_record.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        log.info("push record: %s (%d refs)", request.push_record, len(rows))
    return ok


def _row(row: dict[str, str]) -> PlatformPush:
    source = row.get("source", "")
    if not isinstance(source, str) or (source and is_moving(source)):
        raise ValueError(f"source of {row['ref']} must be an immutable ref, not {source!r}")
    return PlatformPush(row["image"], row["platform"], row["tag"], row["ref"], source)


def record_files(records: str) -> list[Path]:
    """The files of `invoke lists RECORDS`: files or folders of `*.json`, comma-separated."""
    paths = [Path(word) for word in records.replace(",", " ").split()]
    files = [f for p in paths for f in (sorted(p.glob("*.json")) if p.is_dir() else [p])]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise UserError(f"push record {missing[0]} does not exist")
    return files


def read_records(paths: Sequence[Path]) -> list[PlatformPush]:
    """The pushes of the records written by `invoke build --push --no-lists --record FILE`
    (one per native runner), each ref once (a stage's job pushes its ancestors again);
    UserError naming the file when one is not such a record, or when two records promote a
    ref from different sources."""
    out: dict[str, PlatformPush] = {}
    for path in paths:
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(rows, list):
                raise TypeError(f"a JSON list of rows, not {type(rows).__name__}")
            unpushed = [r["ref"] for r in rows if r.get("pushed") is False]
            pushes = [_row(r) for r in rows]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UserError(
                f"{path} is not a push record of `invoke build --push --no-lists --record "
                f"FILE` ({type(exc).__name__}: {exc})"
            ) from None
        if unpushed:
            raise UserError(
                f"{path}: {', '.join(unpushed)} not pushed (the push failed); run the same "
                "`invoke build --push` again, then `invoke lists`"
            )
        for push in pushes:
            seen = out.setdefault(push.ref, push)
            if seen.source != push.source:
                raise UserError(
                    f"{path}: {push.ref} is promoted from {push.source or 'itself'} here and "
                    f"from {seen.source or 'itself'} in an earlier record: pass the records "
                    "of one run only"
                )
    return list(out.values())
