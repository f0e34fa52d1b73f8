"""invoke tasks of the image repository: list, graph, affected, build, smoke, integration,
bootstrap, new, chart, lock, lint-files, manifest, bake, lists, workflow, bench, sbom, diff,
release-notes, outdated, bump.

Only wiring: every task parses its arguments and calls a plain function of `kfimages`.
A `kfimages.errors.UserError` becomes `error: <message>` on stderr and exit code 2. The tasks
that take images read NAMES in one grammar (kfimages.names): `NAME[,NAME...]`, `all`,
`affected` with `--base REF`.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.parser.argument import Argument
from invoke.parser.parser import ParseMachine
from invoke.tasks import Task, task

from kfimages import engine, platforms
from kfimages import names as image_names
from kfimages.author import bump as pin_bump
from kfimages.author import chart as image_chart
from kfimages.author import lintfiles, lockwrite, scaffold
from kfimages.author import lock as locks
from kfimages.author import outdated as stale
from kfimages.bench import run as bench_run
from kfimages.build import bootstrap as boot
from kfimages.build import plan
from kfimages.build import run as build_run
from kfimages.build.options import make_request
from kfimages.build.report import EXIT_OK, EXIT_SIGNAL_BASE, EXIT_USAGE
from kfimages.build.run import build_images
from kfimages.build.stop import STOP, Interrupted
from kfimages.errors import UserError
from kfimages.repo import changes, render
from kfimages.repo.graph import DEFAULT_REGISTRY, DEFAULT_TAG, Graph, load_graph
from kfimages.settings import Settings, mask_logs, parse_jobs
from kfimages.ship import bake as bake_file
from kfimages.ship import diff as image_diff
from kfimages.ship import manifest as build_manifest
from kfimages.ship import push as push_refs
from kfimages.ship import release as image_release
from kfimages.ship import reports as build_reports
from kfimages.ship import sbom as image_sbom
from kfimages.ship import security as image_security
from kfimages.ship import workflow as ci_workflow
from kfimages.verify import integration as integration_tests
from kfimages.verify import legbuild
from kfimages.verify import smoke as smoke_tests
from kfimages.verify import suites as smoke_suites

ROOT = Path(__file__).resolve().parent

F = TypeVar("F", bound=Callable[..., Any])


def _settings() -> Settings:
    """The environment's KFIMAGES_* variables, read once per task."""
    return Settings.from_environ()


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    mask_logs(logging.getLogger().handlers)  # no credential in any log line


def _user_errors(func: F) -> F:
    """Turn a UserError into a one-line `error: ...` and exit code 2 (130/143 when a signal
    interrupted a build, kfimages.build.stop)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            _setup_logging(_settings().log_level)
            return func(*args, **kwargs)
        except Interrupted as exc:  # SIGINT/SIGTERM during a build: 130/143
            raise Exit(f"error: {exc}", code=EXIT_SIGNAL_BASE + STOP.signum) from None
        except UserError as exc:
            raise Exit(f"error: {exc}", code=EXIT_USAGE) from None

    return wrapper  # type: ignore[return-value]


_COMPLETE_CONTEXT = ParseMachine.complete_context.__code__
_HANDLE = ParseMachine.handle.__code__
_HELP_FLAGS = ("--help", "-h")


def _names_may_be_empty() -> bool:
    """Whether invoke's parser is checking that a task got its positional arguments, or is
    handling `--help` after the task's name (`invoke build --help`: help, not a name)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code is _COMPLETE_CONTEXT:
            return True
        if frame.f_code is _HANDLE:
            return frame.f_locals.get("token") in _HELP_FLAGS
        frame = frame.f_back
    return False


class _NamesArgument(Argument):
    """NAMES: a positional argument that may be left out, so that the task itself says what
    to give (kfimages.names.MISSING, exit 2). invoke 3 has no optional positional argument:
    its parser hands the next word to a positional whose value is None (even `--help`), and
    when it completes the task's arguments it fails on one that is still None. This one
    reads "" there and while the parser handles `--help` (and None everywhere else)."""

    @property
    def value(self) -> Any:
        value = super().value
        return "" if value is None and _names_may_be_empty() else value

    @value.setter
    def value(self, arg: str) -> None:
        self.set_value(arg, cast=True)


class _NamesTask(Task[Any]):
    """A task whose first parameter after the context is NAMES (_NamesArgument), or whose
    positionals `old` and `new` may be left out (`invoke diff NAME`; `invoke diff --help`)."""

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        args: list[Argument] = super().get_arguments(ignore_unknown_help)
        for arg in args:
            if arg.name in ("names", "old", "new"):
                arg.__class__ = _NamesArgument
        return args


def _names_task(**options: Any) -> Callable[[F], Task[Any]]:
    """@task for a task taking NAMES (positional, may be left out)."""
    decorate: Callable[[F], Task[Any]] = task(
        klass=_NamesTask, positional=["names"], auto_shortflags=False, **options
    )
    return decorate


def _graph() -> Graph:
    return load_graph(ROOT)


@task(
    help={
        "json": "print JSON (name, folder, dockerfile, parent, ref) instead of a table",
        "registry": f"registry/namespace prefix of the refs (default {DEFAULT_REGISTRY})",
        "tag": f"tag of the refs (default {DEFAULT_TAG})",
    }
)
@_user_errors
def list_(
    c: Context, json: bool = False, registry: str = DEFAULT_REGISTRY, tag: str = DEFAULT_TAG
) -> None:
    """List every image of the repository with its parent and ref."""
    graph = _graph()
    if json:
        print(render.list_json(graph, registry=registry, tag=tag))
    else:
        print(render.render_list_text(graph, registry=registry, tag=tag))


@task(help={"format": "output format: text, mermaid or dot (default text)"})
@_user_errors
def graph(c: Context, format: str = "text") -> None:
    """Print the image tree (parents above children)."""
    print(render.render_graph(_graph(), fmt=format))


@task(
    help={
        "base": "git ref to compare with (merge-base with it .. working tree), e.g. origin/main",
        "json": "print a JSON document usable as a CI matrix",
        "registry": f"registry/namespace prefix of the refs (default {DEFAULT_REGISTRY})",
        "tag": f"tag of the refs (default {DEFAULT_TAG})",
    }
)
@_user_errors
def affected(
    c: Context,
    base: str = "",
    json: bool = False,
    registry: str = DEFAULT_REGISTRY,
    tag: str = DEFAULT_TAG,
) -> None:
    """Images whose build inputs changed since BASE, plus their descendants, parents first."""
    if not base:
        raise UserError("--base REF is required (e.g. --base origin/main)")
    graph = _graph()
    selection = changes.explain(graph, base_ref=base)
    images, reasons = selection.images, selection.reasons
    if json:
        print(
            render.affected_json(images, graph=graph, registry=registry, tag=tag, reasons=reasons)
        )
    else:
        print(render.affected_text(images, registry=registry, tag=tag, reasons=reasons))


_NAMES_HELP = (
    "the images: NAME[,NAME...] (see `invoke list`), `all` = every image, `affected` = the "
    "images affected by the changes since --base"
)
_SHARED_HELP = {
    "names": f"{_NAMES_HELP} (their ancestors are added)",
    "base": "git ref of `affected` (merge-base with it .. working tree), e.g. origin/main",
    "ca_cert": "CA certificate (file, or directory of *.crt) the build's downloads trust besides "
    "the host's store; never written into an image (repeatable; default $KFIMAGES_CA_CERT)",
    "bake_ca": "CA certificate (file, or directory of *.crt) written into the images' trust "
    "store; labels them io.kfimages.baked-ca (repeatable; default $KFIMAGES_BAKE_CA)",
    "platform": "platform(s) to build for, comma-separated: linux/amd64, linux/arm64 (default: "
    "the host's); another platform's refs get the tag suffix -<arch> and run through QEMU",
}
"""The options `build`, `smoke` and `bake` share (kfimages.build.options.make_request)."""
_BUILD_HELP = {
    **_SHARED_HELP,
    "jobs": "how many independent images build at once (default $KFIMAGES_JOBS, else 1)",
    "no_cache": "rebuild even when inputs are unchanged, and pass --no-cache to buildx",
    "no_bootstrap": "fail instead of creating a missing OS image with debootstrap",
    "no_wait": "fail at once (exit 2) when another build runs on the same engine, instead of "
    "waiting for it to finish (a --dry-run never waits)",
    "reports": "folder of each image's SBOM (<name>.cdx.json) and build manifest (<name>.md), "
    "written after the build (default artifacts/reports/<first tag>)",
    "no_reports": "write no SBOM and manifest (each reads the image: 10-50 s per new image)",
}
"""The options `build` and `smoke` share besides."""
_TAG_HELP = "tag to apply (repeatable; default sha-<12 hex>[-dirty] and latest)"


def _reporter(*, reports: str, no_reports: bool, dry_run: bool) -> build_run.Reporter | None:
    """The build's report writer (kfimages.ship.reports), None with --no-reports or a dry run."""
    if reports and no_reports:
        raise UserError("--reports DIR and --no-reports exclude each other; pass one")
    if no_reports or dry_run:
        return None
    return build_reports.writer(folder=Path(reports) if reports else None, root=ROOT)


@_names_task(
    iterable=["tag", "ca_cert", "bake_ca"],
    help={
        **_BUILD_HELP,
        "registry": f"registry/namespace prefix (default {DEFAULT_REGISTRY}: local only)",
        "tag": _TAG_HELP,
        "push": "push every tag after ALL images of the plan were built (needs --registry); "
        "with another platform, per-platform tags -<arch>, then one manifest list per tag",
        "refresh": "re-create the OS image first (pull, else debootstrap): the root image is "
        "rebuilt on it, with the current security updates",
        "dry_run": "print the plan (parent ref, input digest, reuse or build, the buildx "
        "command line) and build nothing",
        "allow_dirty": "with --push: allow a work tree with uncommitted changes",
        "allow_baked_ca": "with --push: allow images with --bake-ca certificates",
        "no_lists": "with --push: only push each image under <tag>-<arch> of its platform, no "
        "manifest list (a native runner's leg of a CI; `invoke lists` assembles them)",
        "record": "with --push: write what was pushed to this JSON file (for `invoke lists`)",
        "immutable_only": "with --push --no-lists --record FILE: push only the sha- refs; the "
        "record names the moving tags, which `invoke lists` promotes from them",
    },
)
@_user_errors
def build(  # noqa: PLR0917 (invoke passes CLI options as parameters)
    c: Context,
    names: str | None = None,
    base: str = "",
    jobs: int | None = None,
    no_cache: bool = False,
    registry: str = DEFAULT_REGISTRY,
    tag: list[str] | None = None,
    push: bool = False,
    ca_cert: list[str] | None = None,
    no_bootstrap: bool = False,
    refresh: bool = False,
    dry_run: bool = False,
    bake_ca: list[str] | None = None,
    allow_dirty: bool = False,
    allow_baked_ca: bool = False,
    platform: str = "",
    no_lists: bool = False,
    record: str = "",
    immutable_only: bool = False,
    no_wait: bool = False,
    reports: str = "",
    no_reports: bool = False,
) -> None:
    """Build images with docker buildx (parents first, reuse, parallel); summary at the end.

    invoke build NAME[,NAME...] | all | affected --base REF
    One build at a time per engine: a second one waits (or, with --no-wait, fails).
    Each image's SBOM and manifest go to --reports (the summary names the folder); the image
    `latest` named before keeps the ref `previous`.
    Exit codes: 0 built/reused, 1 a failure, 2 bad input, 3 only blocked/skipped,
    130/143 interrupted by SIGINT/SIGTERM (no tag moved after it; summary printed).
    """
    settings = _settings()
    graph = _graph()
    wanted = plan.select(graph, names, base=base)
    request = make_request(
        settings=settings, jobs=jobs, ca_cert=ca_cert or (), bake_ca=bake_ca or (),
        platform=platform, registry=registry, tags=tuple(tag or ()), no_cache=no_cache,
        push=push, bootstrap=not no_bootstrap, refresh_os=refresh, dry_run=dry_run,
        allow_dirty=allow_dirty, allow_baked_ca=allow_baked_ca, push_lists=not no_lists,
        push_record=Path(record) if record else None,
        push_moving=not immutable_only, wait=not no_wait,
    )  # fmt: skip
    reporter = _reporter(reports=reports, no_reports=no_reports, dry_run=dry_run)
    report = build_images(
        graph,
        wanted,
        request,
        settings=settings,
        publish=push_refs.publish if push else None,
        reporter=reporter,
    )
    if report.exit_code != EXIT_OK:
        raise Exit(code=report.exit_code)


@_names_task(
    iterable=["ca_cert", "bake_ca", "pytest_arg"],
    help={
        **_BUILD_HELP,
        "jobs": "how many independent images build at once, then how many images' smoke "
        "suites run at once (default $KFIMAGES_JOBS, else 1)",
        "base": "git ref of `affected` (default $KFIMAGES_BASE_REF), e.g. origin/main",
        "platform": "the one platform to test on (default: the host's, then for the images "
        "`all` or `affected` picked each other platform their image.yaml lists in "
        "emulated_smoke); another one runs the tests marked `emulated` under QEMU",
        "pytest_arg": "extra argument for pytest (repeatable), e.g. --pytest-arg=-x",
        "workers": f"pytest processes per suite (pytest-xdist; default {smoke_suites.WORKERS}; "
        "1: one process)",
        "dry_run": "print per platform the build plan (as build --dry-run) and the pytest "
        "command lines; build and run nothing",
        "build_only": "build (and write the reports of) each platform's images, run no test; "
        "a later smoke run of built images goes straight to the tests, taking no build lock",
    },
)
@_user_errors
def smoke(  # noqa: PLR0917 (invoke passes CLI options as parameters)
    c: Context,
    names: str | None = None,
    base: str = "",
    pytest_arg: list[str] | None = None,
    ca_cert: list[str] | None = None,
    bake_ca: list[str] | None = None,
    jobs: int | None = None,
    workers: int = smoke_suites.WORKERS,
    no_bootstrap: bool = False,
    no_cache: bool = False,
    platform: str = "",
    dry_run: bool = False,
    no_wait: bool = False,
    reports: str = "",
    no_reports: bool = False,
    build_only: bool = False,
) -> None:
    """Build images (tag latest) and run their smoke tests (pytest tests/images --image NAME).

    invoke smoke NAME[,NAME...] | all | affected [--base REF] (default $KFIMAGES_BASE_REF)
    Without --platform: the host's platform, then on each other one the images of `all` or
    `affected` whose image.yaml lists it in `emulated_smoke` (their `emulated` tests).
    Blocked images run the tests that do not need the blocked part; exit 1 on any failure.
    After the build: each image's SBOM and manifest (--reports), and each rebuilt image's
    diff against the image it replaced (`previous`).
    """
    settings = _settings()
    graph = _graph()
    selected = image_names.parse(names, known=graph.images, base=base, base_env=settings.base_ref)
    legs = smoke_tests.legs(graph, selected, platform=platform)
    if not legs:
        print(smoke_tests.nothing_to_test(selected, platform=platform))
        return
    request = make_request(
        settings=settings, jobs=jobs, ca_cert=ca_cert or (), bake_ca=bake_ca or (),
        tags=(smoke_tests.SMOKE_TAG,), no_cache=no_cache, bootstrap=not no_bootstrap,
        wait=not no_wait,
    )  # fmt: skip
    pytest_args = pytest_arg or ()
    workers = parse_jobs(workers, source="--workers")
    if dry_run:
        smoke_tests.dry_run(graph, legs, settings=settings, request=request,
                            pytest_args=pytest_args, workers=workers,
                            stream=sys.stdout)  # fmt: skip
        return
    reporter = _reporter(reports=reports, no_reports=no_reports, dry_run=dry_run)
    if build_only:
        notes = image_release.rebuilt_lines
        code = legbuild.build_legs(
            graph, legs, settings=settings, request=request, reporter=reporter, notes=notes
        )
        if code:
            raise Exit(code=code)
        return
    outcomes = smoke_tests.run_legs(
        graph, legs, settings=settings, request=request, pytest_args=pytest_args,
        workers=workers, reporter=reporter, notes=image_release.rebuilt_lines,
    )  # fmt: skip
    print("\nsmoke summary:\n" + smoke_tests.summary(outcomes))
    if code := smoke_tests.exit_code(outcomes):
        raise Exit(code=code)


@task(
    iterable=["pytest_arg"],
    help={
        "base": "git ref (merge-base with it .. working tree; default $KFIMAGES_BASE_REF): run "
        "only the tests the changes since it can affect; none: every test",
        "all": "every test, whatever changed",
        "pytest_arg": "extra argument for pytest (repeatable), e.g. --pytest-arg=-x",
        "workers": f"pytest processes (pytest-xdist; default {integration_tests.WORKERS}; "
        "1: one process, e.g. for --pdb)",
    },
)
@_user_errors
def integration(
    c: Context,
    base: str = "",
    all: bool = False,
    pytest_arg: list[str] | None = None,
    workers: int = integration_tests.WORKERS,
) -> None:
    """Run the build system's integration tests (tests/integration, real engine) that the
    changes since --base can affect; one line says what runs and why, or why none does.

    Every test when the build system changed (kfimages/, tasks.py, the test harness, the
    tools' pins), else those that use an affected image of the repository, else none.
    """
    workers = parse_jobs(workers, source="--workers")
    ref = "" if all else base or _settings().base_ref
    selection = integration_tests.select(_graph(), base_ref=ref)
    if code := integration_tests.run(selection, root=ROOT, extra=pytest_arg or (), workers=workers):
        raise Exit(code=code)


@task(
    help={
        "os_image": "ref of the OS image to create (default: the root image's parent)",
        "suite": "Debian suite for debootstrap (default: from the tag, trixie-slim -> trixie)",
        "force": "re-create the image with debootstrap even when it exists locally",
        "refresh": "re-create the image even when it exists locally: pull, else debootstrap",
        "platform": "platform of the OS image (default the host's); another one is made as "
        "<os image>-<arch> with debootstrap --arch through QEMU, never pulled",
    }
)
@_user_errors
def bootstrap(  # noqa: PLR0917 (invoke passes CLI options as parameters)
    c: Context,
    os_image: str = "",
    suite: str = "",
    force: bool = False,
    refresh: bool = False,
    platform: str = "",
) -> None:
    """Make the OS image available: local, else pulled, else debootstrap + docker import;
    print its age and origin."""
    target = platforms.parse_one(platform, what="bootstrap makes the OS image of")
    platforms.check_runnable([target])
    engine.check_docker()
    ref = boot.os_image_of(_graph(), given=os_image, platform=target)
    result = boot.make_available(
        ref, force=force, refresh=refresh, suite=suite or None,
        mirror=_settings().debian_mirror, platform=target,
    )  # fmt: skip
    print(f"{result.ref}: {result.origin} ({result.image_id[:19]})")
    print(boot.describe_local(result.ref))


@task(
    help={
        "name": "folder (and image) name of the new image: lower case, digits, '-', '_'",
        "parent": "image it builds FROM (an image name of this repository, see `invoke list`)",
        "variant": "write NAME/VARIANT.Dockerfile (image NAME.VARIANT) instead of NAME/Dockerfile",
    }
)
@_user_errors
def new(c: Context, name: str, parent: str = "", variant: str = "") -> None:
    """Scaffold a sibling image (folder, s6 service, image.yaml, README, smoke tests, chart)."""
    written = scaffold.write_scaffold(_graph(), name=name, parent=parent, variant=variant or None)
    print("\n".join(written))


@task(help={"check": "only check: exit 1 with the fix when README.md's image chart is stale"})
@_user_errors
def chart(c: Context, check: bool = False) -> None:
    """Write the image chart (mermaid, as `invoke graph`) into README.md between its markers."""
    problem = image_chart.check_chart(ROOT) if check else None
    if problem:
        raise Exit(f"error: {problem}", code=1)
    if not check:
        image_chart.write_chart(ROOT)


@task(
    iterable=["only"],
    help={
        "check": "only check (offline): exit 1 listing every lock that does not match its "
        "inputs or has a requirement without --hash",
        "only": "lock only this requirements*.in file, lock file or image folder (repeatable)",
        "upgrade": "re-resolve to the newest versions allowed (default: keep the pins of the "
        "existing lock where they still fit)",
    },
)
@_user_errors
def lock(
    c: Context,
    check: bool = False,
    only: list[str] | None = None,
    upgrade: bool = False,
) -> None:
    """Lock every <image folder>/requirements*.in into requirements*.lock.txt (linux/amd64) and
    requirements*.linux-arm64.lock.txt (uv, hashed, Python 3.13, with each pin's wheels of the
    platform; parents' locks as constraints)."""
    if check:
        problems = locks.check_locks(ROOT)
        if problems:
            raise Exit("\n".join(f"error: {p}" for p in problems), code=1)
        print(f"{len(locks.discover(ROOT))} lock(s) up to date")
        return
    for spec, seconds in lockwrite.lock_all(ROOT, only=only or (), upgrade=upgrade):
        print(f"{spec.lock}: {seconds:.1f} s")


@task()
@_user_errors
def lint_files(c: Context) -> None:
    """Run hadolint and shellcheck on what lint checks (part of `nox -s lint`).

    hadolint on every Dockerfile of the graph, shellcheck on every shell script of the
    image folders, scripts/, .ci/ and tests/; exit 1 on a finding. The tools come from the
    PATH, else from beside the Python invoke runs in (the .venv)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), str(Path(sys.executable).parent)])
    with c.cd(str(ROOT)):
        for what, command in lintfiles.commands(_graph()):
            print(what, flush=True)
            c.run(shlex.join(command), env={"PATH": path})


_READ_HELP = {
    "names": f"{_NAMES_HELP}, or `built` = every image of the repository that exists locally "
    "(the others are skipped)",
    "base": "git ref of `affected`, e.g. origin/main",
    "registry": f"registry/namespace prefix of the refs (default {DEFAULT_REGISTRY})",
    "tag": f"tag of the refs (default {DEFAULT_TAG})",
}
"""The options of the tasks that read built images (manifest, sbom)."""


@_names_task(
    help={
        **_READ_HELP,
        "output": "write one <name>.md per image into this folder instead of printing",
        "platform": "platform of the images (default the host's): another one reads the "
        "<tag>-<arch> images and writes <name>@<arch>.md",
    },
)
@_user_errors
def manifest(  # noqa: PLR0917 (invoke passes CLI options as parameters)
    c: Context,
    names: str | None = None,
    base: str = "",
    output: str = "",
    registry: str = DEFAULT_REGISTRY,
    tag: str = DEFAULT_TAG,
    platform: str = "",
) -> None:
    """Print a Markdown build manifest read from a built image (packages, versions, labels).

    invoke manifest NAME [--output DIR] | NAME,NAME... | all | affected --base REF | built
    (several images: --output DIR, one file per image)
    """
    graph = _graph()
    selected = build_manifest.read_names(graph, names, base=base)
    build_manifest.check_output(selected, output=output)
    refs = build_manifest.built_refs(
        graph, selected, registry=registry, tag=tag, platform=platform, task="manifest"
    )
    manifests = [build_manifest.read_manifest(name=n, ref=r) for n, r in refs.items()]
    if output:
        for path in build_manifest.write_manifests(manifests, output=Path(output)):
            print(path)
    else:
        print(build_manifest.render_markdown(manifests[0]), end="")


@_names_task(
    iterable=["tag", "ca_cert", "bake_ca"],
    help={
        **_SHARED_HELP,
        "registry": f"registry/namespace prefix (default {DEFAULT_REGISTRY})",
        "tag": _TAG_HELP,
        "cache_registry": "registry/namespace for BuildKit's registry cache: cache-from and "
        "cache-to type=registry,ref=<it>/<repository>:buildcache (needs a docker-container "
        "or remote builder)",
        "cache_read_only": "with --cache-registry: cache-from only, no cache-to (a build "
        "whose code may not write the cache that the main branch reads, e.g. a pull request)",
        "work_dir": "folder for the named contexts and secrets the file points at (default "
        "artifacts/bake)",
        "output": "write the file there instead of printing it",
    },
)
@_user_errors
def bake(  # noqa: PLR0917 (invoke passes CLI options as parameters)
    c: Context,
    names: str | None = None,
    base: str = "",
    registry: str = DEFAULT_REGISTRY,
    tag: list[str] | None = None,
    ca_cert: list[str] | None = None,
    bake_ca: list[str] | None = None,
    cache_registry: str = "",
    work_dir: str = "",
    output: str = "",
    platform: str = "",
    cache_read_only: bool = False,
) -> None:
    """Print a docker-bake.json of the plan (one target per image), computed like `build`.

    invoke bake NAME[,NAME...] | all | affected --base REF; then
    docker buildx bake -f docker-bake.json --load   (or --push, on any builder)
    """
    settings = _settings()
    graph = _graph()
    wanted = plan.select(graph, names, base=base)
    request = make_request(
        settings=settings, ca_cert=ca_cert or (), bake_ca=bake_ca or (), platform=platform,
        registry=registry, tags=tuple(tag or ()),
    )  # fmt: skip
    work = Path(work_dir) if work_dir else ROOT / "artifacts" / "bake"
    doc = bake_file.make_bake(
        graph, wanted, request, settings=settings, work=work.resolve(),
        cache_registry=cache_registry, cache_write=not cache_read_only,
    )  # fmt: skip
    text = bake_file.render(doc)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")


@task(
    help={
        "records": "push record(s) of `invoke build --push --no-lists --record FILE`: files "
        "or folders of *.json, comma-separated (one per native runner)",
    },
    positional=["records"],
)
@_user_errors
def lists(c: Context, records: str) -> None:
    """Make one manifest list per tag from the per-platform images of push records, and
    promote the moving tags that `build --immutable-only` left out from their sha- refs.

    invoke lists pushed/   (the --record files of every runner's `build --push --no-lists`)
    Run after every leg pushed; immutable tags first; a tag that a platform lacks stays
    per-platform.
    """
    pushes = push_refs.read_records(push_refs.record_files(records))
    if not pushes:
        raise UserError(f"no push records in {records}; pass the files --record wrote")
    actions = push_refs.promote_actions(pushes) + push_refs.list_actions(pushes, step_of={})
    problems = push_refs.make_lists(actions, make_list=engine.create_manifest_list)
    if problems:
        raise Exit("error: " + "\n".join(problems), code=1)
    for action in actions:
        print(f"{action.ref}: {', '.join(action.sources)}")


@task(help={"check": "only check: exit 1 when the workflow file differs from what it writes"})
@_user_errors
def workflow(c: Context, check: bool = False) -> None:
    """Write .github/workflows/images.yml (lint, tests, plan, a job per stage, push, manifests)."""
    if check:
        if problem := ci_workflow.check(_graph()):
            raise Exit(f"error: {problem}", code=1)
        return
    print(ci_workflow.write(_graph()))


@_names_task(
    help={
        "names": _NAMES_HELP,
        "only": "measure only these parts, comma-separated (default every part): plan, chain, "
        "cold, startup, suites, arm64, jobs, ci (see bench/README.md); results then go to "
        "artifacts/bench/",
        "runs": "start-ups per image and mode (/init, bare server, interleaved; default 5)",
        "idle_seconds": "seconds after the first 200 before reading the memory (default 10)",
        "start_timeout": "seconds one start-up may take (default 180)",
        "jobs_images": "independent images of the `jobs` part, comma-separated (default "
        f"{','.join(bench_run.DEFAULT_JOBS_IMAGES)})",
        "registry": "without the `cold` part: registry/namespace prefix of the images whose "
        f"start-ups are measured (default {DEFAULT_REGISTRY})",
        "tag": f"without the `cold` part: their tag (default {DEFAULT_TAG})",
        "base": "git ref: for NAMES=affected, and the base of the `plan` part's selection "
        "(default HEAD)",
        "plan_runs": "runs of each step of the `plan` part (default 20)",
        "chain_children": "independent images of the `chain` part's throwaway chain (default 4)",
        "chain_work_mb": "MB of /dev/urandom each chain child hashes (CPU work; default 1200)",
        "output_dir": "where results.md and results.png go (default bench/ for every part, "
        "artifacts/bench/ with --only)",
        "no_chart": "write results.md only (results.png needs matplotlib: `nox -s bench`)",
        "ci_phases": "folder of .ci/run's phase records (the `ci` part; default "
        "$KFIMAGES_CI_PHASES, else /var/lib/kfimages-ci/phases)",
    },
)
@_user_errors
def bench(  # noqa: PLR0917 (invoke passes CLI options as parameters)
    c: Context,
    names: str | None = None,
    only: str = "",
    runs: int = 5,
    idle_seconds: float = 10.0,
    start_timeout: float = 180.0,
    jobs_images: str = ",".join(bench_run.DEFAULT_JOBS_IMAGES),
    registry: str = DEFAULT_REGISTRY,
    tag: str = DEFAULT_TAG,
    base: str = "",
    plan_runs: int = 20,
    chain_children: int = 4,
    chain_work_mb: int = 1200,
    output_dir: str = "",
    no_chart: bool = False,
    ci_phases: str = "",
) -> None:
    """Measure the images and the build system with real builds (not CI; long): write
    bench/results.md and bench/results.png.

    invoke bench NAME[,NAME...] | all [--only plan,chain,cold,startup,suites,arm64,jobs,ci]
    """
    known = _graph().images
    affected = image_names.AFFECTED in image_names.split(names)
    wanted = image_names.parse(names, known=known, base=base if affected else "")
    options = bench_run.Options(
        names=wanted.words,
        parts=bench_run.parse_parts(only),
        jobs_images=image_names.parse(jobs_images, known=known, takes=()).words,
        runs=runs,
        idle_seconds=idle_seconds,
        start_timeout=start_timeout,
        registry=registry,
        tag=tag,
        base=base,
        plan_runs=plan_runs,
        chain_children=chain_children,
        chain_work_mb=chain_work_mb,
        output_dir=Path(output_dir) if output_dir else None,
        chart=not no_chart,
        ci_dir=Path(ci_phases) if ci_phases else None,
    )
    results = bench_run.run(options, settings=_settings(), root=ROOT)
    output = bench_run.output_dir(options, root=ROOT)
    written = bench_run.write_results(results, output=output, chart=options.chart)
    print(f"wrote {', '.join(map(str, written))} in {results.duration / 60:.1f} min")


# --- what an image holds (sbom) and what a rebuild changed (diff) -----------------------------


@_names_task(
    help={
        **_READ_HELP,
        "output": "folder of the <name>.cdx.json files (default artifacts/sbom)",
        "platform": "platform of the images (default the host's): another one reads the "
        "<tag>-<arch> images (never run: no emulator needed) and writes <name>@<arch>.cdx.json",
    },
)
@_user_errors
def sbom(  # noqa: PLR0917 (invoke passes CLI options as parameters)
    c: Context,
    names: str | None = None,
    output: str = "",
    platform: str = "",
    base: str = "",
    registry: str = DEFAULT_REGISTRY,
    tag: str = DEFAULT_TAG,
) -> None:
    """Write a CycloneDX 1.6 SBOM (JSON) per built image, read from the image's own file
    system without running it: Debian, Python, Node and R packages with purl and license.

    invoke sbom NAME[,NAME...] | all | affected --base REF | built [--output DIR]
    [--platform linux/arm64]
    """
    graph = _graph()
    refs = build_manifest.built_refs(
        graph, build_manifest.read_names(graph, names, base=base), registry=registry, tag=tag,
        platform=platform, task="sbom",
    )  # fmt: skip
    folder = Path(output) if output else ROOT / "artifacts" / "sbom"
    for path, inventory in image_sbom.write_sboms(refs, output=folder):
        print(f"{path}: {image_sbom.describe(inventory)}")


@task(
    klass=_NamesTask,
    auto_shortflags=False,
    help={
        "old": "the image before: a local image ref, or an SBOM file of `invoke sbom`; alone, "
        "an image NAME: its `previous` (what its `latest` replaced) against its `latest`",
        "new": "the image after: a local image ref, or an SBOM file of `invoke sbom`",
        "markdown": "print Markdown release notes instead of the text table",
        "registry": f"with NAME: registry/namespace prefix (default {DEFAULT_REGISTRY})",
        "platform": "with NAME: platform of the images (default the host's): another one "
        "compares previous-<arch> with latest-<arch>",
    },
    positional=["old", "new"],
)
@_user_errors
def diff(  # noqa: PLR0917 (invoke passes CLI options as parameters)
    c: Context,
    old: str | None = None,
    new: str | None = None,
    markdown: bool = False,
    registry: str = "",
    platform: str = "",
) -> None:
    """What changed between two images: packages added, removed, upgraded or downgraded
    (major, minor, patch), size and content tags.

    invoke diff OLD NEW [--markdown]   (each a local image ref or an SBOM file)
    invoke diff NAME [--markdown]      (NAME:previous against NAME:latest)
    """
    render = image_diff.render_markdown if markdown else image_diff.render_text
    if not old:
        raise UserError("name an image (invoke diff NAME) or two (invoke diff OLD NEW)")
    if new:
        if registry or platform:
            raise UserError("--registry and --platform go with `invoke diff NAME` only")
        changes = image_diff.diff(
            image_diff.load(old, which="OLD"), image_diff.load(new, which="NEW")
        )
        print(render(changes), end="")
        return
    graph = _graph()
    pair = image_release.pairs(
        graph, image_release.one_name(graph, old), registry=registry or DEFAULT_REGISTRY,
        platform=platform, task="diff",
    )[-1]  # fmt: skip
    found = image_release.compare(pair)
    print(pair.missing() if found is None else render(found).rstrip("\n"))


@_names_task(
    help={
        **{k: v for k, v in _READ_HELP.items() if k != "tag"},
        "output": "write one <name>.md per image into this folder instead of printing",
        "platform": "platform of the images (default the host's): another one compares their "
        "previous-<arch> with latest-<arch> (files <name>@<arch>.md)",
    },
)
@_user_errors
def release_notes(  # noqa: PLR0917 (invoke passes CLI options as parameters)
    c: Context,
    names: str | None = None,
    output: str = "",
    platform: str = "",
    base: str = "",
    registry: str = DEFAULT_REGISTRY,
) -> None:
    """Markdown release notes per image: what changed from the image its `latest` replaced
    (`previous`) to `latest`; an image without `previous` is one line, and skipped.

    invoke release-notes NAME[,NAME...] | all | affected --base REF | built [--output DIR]
    """
    graph = _graph()
    found = image_release.pairs(
        graph, image_release.read_names(graph, names, base=base), registry=registry,
        platform=platform, task="release-notes",
    )  # fmt: skip
    for line in image_release.notes(found, output=Path(output) if output else None):
        print(line)


# --- maintenance: what is stale (outdated), and moving a pin (bump) --------------------------


@_names_task(
    help={
        "names": f"{_NAMES_HELP}; default all",
        "base": "git ref of `affected`, e.g. origin/main",
        "registry": f"registry/namespace prefix of the built images (default {DEFAULT_REGISTRY})",
        "tag": f"tag of the built images (default {DEFAULT_TAG})",
        "fail_on": "exit 1 when: `security` = a built image lacks a fix of its Debian security "
        "suite (or the suite cannot be read); `any` = that, or any pin has a newer release or "
        "is unknown here (for scheduled CI)",
    },
)
@_user_errors
def outdated(  # noqa: PLR0917 (invoke passes CLI options as parameters)
    c: Context,
    names: str | None = None,
    base: str = "",
    registry: str = DEFAULT_REGISTRY,
    tag: str = DEFAULT_TAG,
    fail_on: str = "",
) -> None:
    """Every pin the images depend on against its registry's newest release (PyPI, npm,
    Posit), and the Debian security fixes the built images lack.

    invoke outdated [NAME[,NAME...] | all | affected --base REF] [--fail-on security|any]
    Exit 0, or 1 when --fail-on says so; a registry unreachable from here: `unknown here`.
    """
    settings = _settings()
    graph = _graph()
    when = stale.fail_on(fail_on)
    selected = plan.select(graph, names or image_names.ALL, base=base)
    rows = stale.check_pins(stale.pins_of(graph, selected), ca_cert=settings.ca_cert)
    print("\n".join(stale.render_pins(rows)))
    engine.check_docker()
    cache = image_security.IndexCache(image_security.security_uri(settings))
    images = stale.check_images(graph, selected, registry=registry, tag=tag, cache=cache)
    print("\nDebian security fixes (built images):")
    print("\n".join(stale.render_security(images)))
    if problems := stale.failures(rows, images, fail_on=when):
        raise Exit(f"error: --fail-on {when}: {'; '.join(problems)}", code=stale.EXIT_STALE)


@task(
    help={
        "pin": "the pin, as `invoke outdated` names it (jupyterlab, code-server, node, pip, "
        "torch, rstudio-server, ...)",
        "to": "the version to move to (default: the newest release of its registry)",
        "sha256": "SHA-256 of the new file where no registry reachable from here gives it "
        "(rstudio-server: Posit's download page)",
    },
    positional=["pin"],
)
@_user_errors
def bump(c: Context, pin: str, to: str = "", sha256: str = "") -> None:
    """Move a pin everywhere it lives (ARGs, URLs, SHA-256s, npm integrity, requirements),
    relock, regenerate, and print the images it affects (`invoke affected --base HEAD`).

    invoke bump PIN [--to VERSION] [--sha256 HEX]; then rebuild and read the release notes
    """
    graph = _graph()
    edits, written = pin_bump.bump(graph, pin, to=to, sha256=sha256, ca_cert=_settings().ca_cert)
    if not edits:
        print(f"{pin} is already at {to or 'the newest release'}: nothing to bump")
        return
    print("\n".join(map(str, edits)))
    for path in written:
        print(f"regenerated {path}")
    selection = changes.explain(_graph(), base_ref="HEAD")
    print("\nimages to rebuild (changes since HEAD):")
    print(render.affected_text(selection.images, registry=DEFAULT_REGISTRY, tag=DEFAULT_TAG,
                               reasons=selection.reasons))  # fmt: skip


ns = Collection()
ns.add_task(list_, name="list")
ns.add_task(graph)
ns.add_task(affected)
ns.add_task(build)
ns.add_task(smoke)
ns.add_task(integration)
ns.add_task(bootstrap)
ns.add_task(new)
ns.add_task(chart)
ns.add_task(lock)
ns.add_task(lint_files)
ns.add_task(manifest)
ns.add_task(bake)
ns.add_task(lists)
ns.add_task(workflow)
ns.add_task(bench)
ns.add_task(sbom)
ns.add_task(diff)
ns.add_task(release_notes, name="release-notes")
ns.add_task(outdated)
ns.add_task(bump)
