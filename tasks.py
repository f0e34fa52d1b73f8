"""invoke tasks of the image repository: list, graph, affected, build, smoke, bootstrap, new,
chart, lock, manifest, bake, lists, workflow.

Thin layer: every task parses its arguments and calls a plain function of `kfimages`.
A `kfimages.errors.UserError` becomes `error: <message>` on stderr and exit code 2.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.parser.argument import Argument
from invoke.tasks import Task, task

from kfimages import engine as docker_env
from kfimages import platforms
from kfimages.author import chart as image_chart
from kfimages.author import lock as locks
from kfimages.author import scaffold
from kfimages.build import bootstrap as boot
from kfimages.build import plan
from kfimages.build.ca import collect_ca_files
from kfimages.build.report import EXIT_OK, EXIT_USAGE
from kfimages.build.run import build_images
from kfimages.errors import UserError
from kfimages.repo import changes, render
from kfimages.repo.graph import DEFAULT_REGISTRY, DEFAULT_TAG, Graph, image_ref, load_graph
from kfimages.settings import Settings, parse_jobs
from kfimages.ship import bake as bake_file
from kfimages.ship import diff as image_diff
from kfimages.ship import manifest as build_manifest
from kfimages.ship import push as push_refs
from kfimages.ship import sbom as image_sbom
from kfimages.ship import workflow as ci_workflow
from kfimages.verify import smoke as smoke_tests

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


def _user_errors(func: F) -> F:
    """Turn a UserError into a one-line `error: ...` and exit code 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            _setup_logging(_settings().log_level)
            return func(*args, **kwargs)
        except UserError as exc:
            raise Exit(f"error: {exc}", code=EXIT_USAGE) from None

    return wrapper  # type: ignore[return-value]


class _NamesArgument(Argument):
    """`build`'s positional NAMES, optional when --affected is given (invoke requires
    positional arguments otherwise). Names go before the flags."""

    affected: Argument

    @property
    def value(self) -> Any:
        value = super().value
        if value is None and self.affected.value:
            return ""
        return value

    @value.setter
    def value(self, arg: str) -> None:
        self.set_value(arg, cast=True)


def _optional_names_task(flag: str) -> type[Task[Any]]:
    """A Task class whose positional NAMES may be left out when the option `flag` is given
    (`build --affected`, `manifest --all`)."""

    class _Task(Task[Any]):
        def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
            args: list[Argument] = super().get_arguments(ignore_unknown_help)
            by_name = {arg.name: arg for arg in args}
            names = by_name["names"]
            names.__class__ = _NamesArgument
            setattr(names, "affected", by_name[flag])  # noqa: B010 (mypy: base class has none)
            return args

    return _Task


_BuildTask = _optional_names_task("affected")
_ManifestTask = _optional_names_task("all")


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
    selection = changes.explain(_graph(), base_ref=base)
    fmt = render.affected_json if json else render.affected_text
    print(fmt(selection.images, registry=registry, tag=tag, reasons=selection.reasons))


_BUILD_HELP = {
    "names": "image(s), comma-separated (ancestors are added; see `invoke list`); "
    "`all` = every image, `affected` = the images affected since --base",
    "affected": "also the images affected by changes since --base (like NAMES=affected)",
    "base": "git ref for --affected (e.g. origin/main)",
    "jobs": "how many independent images build at once (default $KFIMAGES_JOBS, else 1)",
    "no_cache": "rebuild even when inputs are unchanged, and pass --no-cache to buildx",
    "ca_cert": "CA certificate (file, or directory of *.crt) the build's downloads trust besides "
    "the host's store; never written into an image (repeatable; default $KFIMAGES_CA_CERT)",
    "bake_ca": "CA certificate (file, or directory of *.crt) written into the images' trust "
    "store; labels them io.kfimages.baked-ca (repeatable; default $KFIMAGES_BAKE_CA)",
    "no_bootstrap": "fail instead of creating a missing OS image with debootstrap",
    "platform": "platform(s) to build for, comma-separated: linux/amd64, linux/arm64 (default: "
    "the host's); another platform's refs get the tag suffix -<arch> and run through QEMU",
}


_TAG_HELP = "tag to apply (repeatable; default sha-<12 hex>[-dirty] and latest)"


def _words(names: str | None, *, affected: bool) -> list[str]:
    words = (names or "").replace(",", " ").split()
    return [*words, plan.AFFECTED] if affected else words


def _request(settings: Settings, **options: Any) -> plan.BuildRequest:
    """A BuildRequest from task options; jobs and CA default to the settings."""
    jobs = options.pop("jobs")
    ca_cert = options.pop("ca_cert")
    bake_ca = options.pop("bake_ca")
    options["platforms"] = platforms.parse(options.pop("platform", ""))
    return plan.BuildRequest(
        jobs=settings.jobs if jobs is None else parse_jobs(jobs),
        ca_files=tuple(collect_ca_files(ca_cert or [], default=settings.ca_cert)),
        bake_ca_files=tuple(collect_ca_files(bake_ca or [], default=settings.bake_ca)),
        **options,
    )


@task(
    klass=_BuildTask,
    iterable=["tag", "ca_cert", "bake_ca"],
    positional=["names"],
    auto_shortflags=False,
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
    },
)
@_user_errors
def build(  # noqa: PLR0917 (invoke passes CLI options as parameters)
    c: Context,
    names: str | None = None,
    affected: bool = False,
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
) -> None:
    """Build images with docker buildx (parents first, reuse, parallel); summary at the end.

    invoke build NAME[,NAME...] | all | affected --base REF   (or --affected --base REF)
    Exit codes: 0 built/reused, 1 a failure, 2 bad input, 3 only blocked/skipped.
    """
    settings = _settings()
    graph = _graph()
    wanted = plan.expand_names(graph, _words(names, affected=affected), base_ref=base or None)
    request = _request(
        settings,
        jobs=jobs,
        ca_cert=ca_cert,
        bake_ca=bake_ca,
        registry=registry,
        tags=tuple(tag or ()),
        no_cache=no_cache,
        push=push,
        bootstrap=not no_bootstrap,
        refresh_os=refresh,
        dry_run=dry_run,
        allow_dirty=allow_dirty,
        allow_baked_ca=allow_baked_ca,
        platform=platform,
        push_lists=not no_lists,
        push_record=Path(record) if record else None,
    )
    report = build_images(graph, wanted, request, settings=settings)
    if report.exit_code != EXIT_OK:
        raise Exit(code=report.exit_code)


@task(
    klass=_BuildTask,
    iterable=["ca_cert", "bake_ca", "pytest_arg"],
    positional=["names"],
    auto_shortflags=False,
    help={
        **_BUILD_HELP,
        "base": "git ref: test the images affected since it (default $KFIMAGES_BASE_REF)",
        "pytest_arg": "extra argument for pytest (repeatable), e.g. --pytest-arg=-x",
    },
)
@_user_errors
def smoke(  # noqa: PLR0917 (invoke passes CLI options as parameters)
    c: Context,
    names: str | None = None,
    pytest_arg: list[str] | None = None,
    base: str = "",
    affected: bool = False,
    ca_cert: list[str] | None = None,
    bake_ca: list[str] | None = None,
    jobs: int | None = None,
    no_bootstrap: bool = False,
    no_cache: bool = False,
    platform: str = "",
) -> None:
    """Build images (tag latest) and run their smoke tests (pytest tests/images --image NAME).

    invoke smoke NAME[,NAME...] | --affected --base REF (default base: $KFIMAGES_BASE_REF)
    Blocked images run the tests that do not need the blocked part; exit 1 on any failure.
    With --platform of another platform: that platform's images, and only the tests marked
    `emulated`; --affected then picks the affected images whose image.yaml lists it in
    `emulated_smoke`.
    """
    settings = _settings()
    graph = _graph()
    base_ref = base or settings.base_ref
    names_given = (names or "").replace(",", " ").split()
    if names_given and affected:
        raise UserError("give image names or --affected, not both")
    target = smoke_tests.smoke_platform(platform)
    wanted = smoke_tests.select(graph, names=names_given, base_ref=base_ref, platform=target)
    if not wanted:
        where = f" that lists {target} in emulated_smoke" if platforms.is_foreign(target) else ""
        print(f"smoke: no image affected since {base_ref}{where}: nothing to test")
        return
    request = _request(
        settings,
        jobs=jobs,
        ca_cert=ca_cert,
        bake_ca=bake_ca,
        tags=(smoke_tests.SMOKE_TAG,),
        no_cache=no_cache,
        bootstrap=not no_bootstrap,
        platform=target,
    )
    outcomes = smoke_tests.smoke(
        graph, wanted, settings=settings, request=request, pytest_args=pytest_arg or ()
    )
    print("\nsmoke summary:\n" + smoke_tests.summary(outcomes))
    code = smoke_tests.exit_code(outcomes)
    if code:
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
    docker_env.check_docker()
    if not os_image:
        roots = sorted({i.parent for i in _graph().roots()}) or [boot.DEFAULT_OS_IMAGE]
        if len(roots) > 1:
            raise UserError(f"several OS images in use ({', '.join(roots)}); pass --os-image")
        os_image = roots[0]
    os_image = platforms.qualify(os_image, target)
    mirror = _settings().debian_mirror
    options: dict[str, Any] = {"suite": suite or None, "mirror": mirror, "platform": target}
    if force:
        result = boot.bootstrap_os_image(ref=os_image, **options)
    elif refresh:
        result = boot.refresh_os_image(os_image, **options)
    else:
        result = boot.ensure_os_image(os_image, **options)
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
        "only": "lock only this requirements*.in file or image folder (repeatable)",
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
    """Lock every <image folder>/requirements*.in into requirements*.lock.txt (uv, hashed,
    Python 3.13 on linux/x86_64; parents' locks as constraints)."""
    if check:
        problems = locks.check_locks(ROOT)
        if problems:
            raise Exit("\n".join(f"error: {p}" for p in problems), code=1)
        print(f"{len(locks.discover(ROOT))} lock(s) up to date")
        return
    for spec, seconds in locks.lock_all(ROOT, only=only or (), upgrade=upgrade):
        print(f"{spec.lock}: {seconds:.1f} s")


@task(
    help={
        "names": "image(s), comma-separated",
        "all": "every image of the repository that exists locally (with --output)",
        "output": "write one <name>.md per image into this folder instead of printing",
        "registry": f"registry/namespace prefix of the refs (default {DEFAULT_REGISTRY})",
        "tag": f"tag of the refs (default {DEFAULT_TAG})",
        "platform": "platform of the images (default the host's): another one reads the "
        "<tag>-<arch> images and writes <name>@<arch>.md",
    },
    klass=_ManifestTask,
    positional=["names"],
    auto_shortflags=False,
)
@_user_errors
def manifest(  # noqa: PLR0917 (invoke passes CLI options as parameters)
    c: Context,
    names: str | None = None,
    all: bool = False,
    output: str = "",
    registry: str = DEFAULT_REGISTRY,
    tag: str = DEFAULT_TAG,
    platform: str = "",
) -> None:
    """Print a Markdown build manifest read from a built image (packages, versions, labels).

    invoke manifest NAME[,NAME...] [--output DIR] | --all --output DIR
    """
    graph = _graph()
    words = (names or "").replace(",", " ").split()
    if all == bool(words):
        raise UserError("name the image(s) or pass --all (with --output DIR)")
    if (all or len(words) > 1) and not output:
        raise UserError("several images need --output DIR (one file per image)")
    target = platforms.parse_one(platform, what="a manifest reads")
    host = platforms.host_platform()
    docker_env.check_docker()
    images = graph.build_order(graph.images if all else words)
    refs = {
        plan.step_name(i.name, target, host=host): platforms.qualify(
            image_ref(i, registry=registry, tag=tag), target, host=host
        )
        for i in images
    }
    if all:
        missing = [n for n, ref in refs.items() if docker_env.inspect_image(ref) is None]
        if missing:
            print(f"manifest: not built, skipped: {', '.join(missing)}", file=sys.stderr)
        refs = {n: r for n, r in refs.items() if n not in missing}
    manifests = [build_manifest.read_manifest(name=n, ref=r) for n, r in refs.items()]
    if output:
        for path in build_manifest.write_manifests(manifests, output=Path(output)):
            print(path)
    else:
        print(build_manifest.render_markdown(manifests[0]), end="")


@task(
    klass=_BuildTask,
    iterable=["tag", "ca_cert", "bake_ca"],
    positional=["names"],
    auto_shortflags=False,
    help={
        **{k: v for k, v in _BUILD_HELP.items() if k not in ("jobs", "no_cache", "no_bootstrap")},
        "registry": f"registry/namespace prefix (default {DEFAULT_REGISTRY})",
        "tag": _TAG_HELP,
        "cache_registry": "registry/namespace for BuildKit's registry cache: cache-from and "
        "cache-to type=registry,ref=<it>/<repository>:buildcache (needs a docker-container "
        "or remote builder)",
        "work_dir": "folder for the named contexts and secrets the file points at (default "
        "artifacts/bake)",
        "output": "write the file there instead of printing it",
    },
)
@_user_errors
def bake(  # noqa: PLR0917 (invoke passes CLI options as parameters)
    c: Context,
    names: str | None = None,
    affected: bool = False,
    base: str = "",
    registry: str = DEFAULT_REGISTRY,
    tag: list[str] | None = None,
    ca_cert: list[str] | None = None,
    bake_ca: list[str] | None = None,
    cache_registry: str = "",
    work_dir: str = "",
    output: str = "",
    platform: str = "",
) -> None:
    """Print a docker-bake.json of the plan (one target per image), computed like `build`.

    invoke bake NAME[,NAME...] | --affected --base REF; then
    docker buildx bake -f docker-bake.json --load   (or --push, on any builder)
    """
    settings = _settings()
    graph = _graph()
    wanted = plan.expand_names(graph, _words(names, affected=affected), base_ref=base or None)
    request = _request(
        settings, jobs=None, ca_cert=ca_cert, bake_ca=bake_ca, registry=registry,
        tags=tuple(tag or ()), platform=platform,
    )  # fmt: skip
    work = Path(work_dir) if work_dir else ROOT / "artifacts" / "bake"
    doc = bake_file.make_bake(
        graph, wanted, request, settings=settings, work=work.resolve(),
        cache_registry=cache_registry,
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
    """Make one manifest list per tag from the per-platform images of push records.

    invoke lists pushed/   (the --record files of every runner's `build --push --no-lists`)
    Run after every leg pushed; immutable tags first; a tag that a platform lacks stays
    per-platform.
    """
    pushes = push_refs.read_records(_record_files(records))
    if not pushes:
        raise UserError(f"no push records in {records}; pass the files --record wrote")
    actions = push_refs.list_actions(pushes, step_of={})
    problems = push_refs.make_lists(actions, make_list=docker_env.create_manifest_list)
    if problems:
        raise Exit(f"error: {problems[0]}", code=1)
    for action in actions:
        print(f"{action.ref}: {', '.join(action.sources)}")


def _record_files(records: str) -> list[Path]:
    paths = [Path(word) for word in records.replace(",", " ").split()]
    files = [f for p in paths for f in (sorted(p.glob("*.json")) if p.is_dir() else [p])]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise UserError(f"push record {missing[0]} does not exist")
    return files


@task(help={"check": "only check: exit 1 when the workflow file differs from what it writes"})
@_user_errors
def workflow(c: Context, check: bool = False) -> None:
    """Write .github/workflows/images.yml (lint, tests, plan, a job per stage, push, manifests)."""
    if check:
        if problem := ci_workflow.check(_graph()):
            raise Exit(f"error: {problem}", code=1)
        return
    print(ci_workflow.write(_graph()))


ns = Collection()
ns.add_task(list_, name="list")
ns.add_task(graph)
ns.add_task(affected)
ns.add_task(build)
ns.add_task(smoke)
ns.add_task(bootstrap)
ns.add_task(new)
ns.add_task(chart)
ns.add_task(lock)
ns.add_task(manifest)
ns.add_task(bake)
ns.add_task(lists)
ns.add_task(workflow)


# --- issue 18: what an image holds (sbom) and what a rebuild changed (diff) ------------------


@task(
    help={
        "names": "image(s), comma-separated (see `invoke list`)",
        "output": "folder of the <name>.cdx.json files (default artifacts/sbom)",
        "registry": f"registry/namespace prefix of the refs (default {DEFAULT_REGISTRY})",
        "tag": f"tag of the refs (default {DEFAULT_TAG})",
        "platform": "platform of the images (default the host's): another one reads the "
        "<tag>-<arch> images (never run: no emulator needed) and writes <name>@<arch>.cdx.json",
    },
    positional=["names"],
    auto_shortflags=False,
)
@_user_errors
def sbom(  # noqa: PLR0917 (invoke passes CLI options as parameters)
    c: Context,
    names: str,
    output: str = "",
    registry: str = DEFAULT_REGISTRY,
    tag: str = DEFAULT_TAG,
    platform: str = "",
) -> None:
    """Write a CycloneDX 1.6 SBOM (JSON) per built image, read from the image's own file
    system without running it: Debian, Python, Node and R packages with purl and license.

    invoke sbom NAME[,NAME...] [--output DIR] [--platform linux/arm64]
    """
    words = names.replace(",", " ").split()
    if not words:
        raise UserError("name the image(s), e.g. invoke sbom jupyter (see `invoke list`)")
    images = _graph().build_order(words)
    target = platforms.parse_one(platform, what="an SBOM reads")
    host = platforms.host_platform()
    docker_env.check_docker()
    refs = {
        plan.step_name(i.name, target, host=host): platforms.qualify(
            image_ref(i, registry=registry, tag=tag), target, host=host
        )
        for i in images
    }
    missing = [f"{n} ({r})" for n, r in refs.items() if docker_env.inspect_image(r) is None]
    if missing:
        raise UserError(
            f"not in the local store: {', '.join(missing)}; build it first (invoke build "
            "NAME), or pass the --registry/--tag/--platform it was built with"
        )
    folder = Path(output) if output else ROOT / "artifacts" / "sbom"
    for path, inventory in image_sbom.write_sboms(refs, output=folder):
        print(f"{path}: {image_sbom.describe(inventory)}")


@task(
    help={
        "old": "the image before: a local image ref, or an SBOM file of `invoke sbom`",
        "new": "the image after: a local image ref, or an SBOM file of `invoke sbom`",
        "markdown": "print Markdown release notes instead of the text table",
    },
    positional=["old", "new"],
)
@_user_errors
def diff(c: Context, old: str, new: str, markdown: bool = False) -> None:
    """What changed between two images: packages added, removed, upgraded or downgraded
    (major, minor, patch), size and content tags.

    invoke diff OLD NEW [--markdown]   (each a local image ref or an SBOM file)
    """
    changes = image_diff.diff(image_diff.load(old, which="OLD"), image_diff.load(new, which="NEW"))
    render = image_diff.render_markdown if markdown else image_diff.render_text
    print(render(changes), end="")


ns.add_task(sbom)
ns.add_task(diff)
