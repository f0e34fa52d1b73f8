"""Builds a set of images with `docker buildx build`: parents first, in parallel, with reuse.

The plan is the requested images plus their repository ancestors in build order.
Every image gets an *input digest* (its folder's files, build args, CA certificates,
artifact URLs and its parent's digest), stored as the label `io.kfimages.inputs`:
an image whose digest is already present locally is `reused`, not rebuilt.

Statuses: built, reused, failed, blocked (an artifact URL cannot be fetched),
skipped (a parent failed or was blocked). Exit codes: see EXIT_*.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from kfimages import artifacts, changes, docker_env
from kfimages.bootstrap import OsImage, ensure_os_image
from kfimages.ca import ca_digest, fill_ca_dir
from kfimages.config import Artifact
from kfimages.errors import UserError
from kfimages.gitinfo import GitInfo, read_git_info
from kfimages.graph import (
    DEFAULT_REGISTRY,
    DEFAULT_TAG,
    PARENT_ARG,
    VARIANT_SUFFIX,
    Graph,
    Image,
    image_ref,
)

log = logging.getLogger(__name__)

EXIT_OK = 0
"""Everything requested was built or reused (and pushed, with --push)."""
EXIT_FAILED = 1
"""At least one image failed to build, or a push failed."""
EXIT_BLOCKED = 3
"""Nothing failed, but some images were blocked by an unreachable artifact (and their
descendants skipped). CI tells this apart from a failure. (2 is a usage error.)"""

INPUTS_LABEL = "io.kfimages.inputs"
BUILD_ARG_ENV_PREFIX = "KFIMAGES_BUILD_ARG_"
"""`KFIMAGES_BUILD_ARG_<NAME>=value` overrides build arg NAME for every image declaring it."""
CA_CONTEXT = "ca-certs"
ARTIFACT_CONTEXT_PREFIX = "artifact-"
DIGEST_VERSION = "kfimages-inputs-v1"

BUILT, REUSED, FAILED, BLOCKED, SKIPPED = "built", "reused", "failed", "blocked", "skipped"
OK_STATUSES = (BUILT, REUSED)

_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_PROCESS_RE = re.compile(r'process "(.*)" did not complete successfully: (exit code: \d+)')
_ARG_DECL_RE = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


@dataclass(frozen=True)
class BuildOptions:
    """How to build: tags, registry, parallelism and the extra inputs."""

    registry: str = DEFAULT_REGISTRY
    tags: tuple[str, ...] = ()
    """Empty: `sha-<12 hex>[-dirty]` of HEAD plus `latest`."""
    jobs: int = 1
    no_cache: bool = False
    push: bool = False
    ca_files: tuple[Path, ...] = ()
    bootstrap: bool = True
    """Create a missing, unpullable OS image with debootstrap (else fail)."""
    environ: Mapping[str, str] | None = None
    """Where KFIMAGES_BUILD_ARG_* overrides come from (default: os.environ)."""


@dataclass(frozen=True)
class Step:
    """One image of the plan with everything its build needs."""

    image: Image
    refs: tuple[str, ...]
    base_img: str
    build_args: Mapping[str, str]
    artifacts: tuple[tuple[Artifact, str], ...]
    inputs: str


@dataclass
class Result:
    """The outcome of one step."""

    name: str
    ref: str
    status: str
    duration: float = 0.0
    reason: str = ""
    pushed: list[str] = field(default_factory=list)
    started: float = 0.0
    """Wall-clock start (time.time()); 0 for a skipped image."""

    @property
    def finished(self) -> float:
        return self.started + self.duration


@dataclass
class BuildReport:
    """Results in plan order, plus the exit code they mean."""

    results: list[Result]
    push_failed: bool = False

    @property
    def exit_code(self) -> int:
        statuses = {r.status for r in self.results}
        if FAILED in statuses or self.push_failed:
            return EXIT_FAILED
        if statuses - set(OK_STATUSES):
            return EXIT_BLOCKED
        return EXIT_OK


# --------------------------------------------------------------------------- planning


def default_tags(git: GitInfo) -> tuple[str, ...]:
    """`sha-<12 hex>` of HEAD (`-dirty` with uncommitted changes) and `latest`."""
    return (git.tag, DEFAULT_TAG)


def check_tags(tags: Sequence[str]) -> None:
    for tag in tags:
        if not _TAG_RE.match(tag):
            raise UserError(f"invalid tag '{tag}': use letters, digits, '_', '.', '-' (max 128)")


def declared_args(dockerfile: Path) -> set[str]:
    """Names of every `ARG` a Dockerfile declares (global or per stage)."""
    text = dockerfile.read_text(encoding="utf-8")
    return {m.group(1) for line in text.splitlines() if (m := _ARG_DECL_RE.match(line))}


def env_build_args(environ: Mapping[str, str]) -> dict[str, str]:
    """The build-arg overrides given as KFIMAGES_BUILD_ARG_<NAME>=value."""
    return {
        key[len(BUILD_ARG_ENV_PREFIX) :]: value
        for key, value in environ.items()
        if key.startswith(BUILD_ARG_ENV_PREFIX) and len(key) > len(BUILD_ARG_ENV_PREFIX)
    }


def resolve_build_args(image: Image, *, root: Path, overrides: Mapping[str, str]) -> dict[str, str]:
    """image.yaml build_args, overridden by the environment for the ARGs the Dockerfile declares."""
    args = dict(image.config.build_args)
    declared = declared_args(root / image.dockerfile)
    for name, value in overrides.items():
        if name == PARENT_ARG:
            raise UserError(
                f"{BUILD_ARG_ENV_PREFIX}{PARENT_ARG} is not allowed: the graph sets the parent"
            )
        if name in declared:
            args[name] = value
    args.pop(PARENT_ARG, None)
    return args


def effective_artifacts(image: Image, args: Mapping[str, str]) -> tuple[tuple[Artifact, str], ...]:
    """Each artifact with its effective URL (a build-arg override replaces image.yaml's URL)."""
    out = []
    for artifact in image.config.artifacts:
        url = args.get(artifact.build_arg, artifact.url) if artifact.build_arg else artifact.url
        out.append((artifact, url))
    return tuple(out)


def _context_files(image: Image, *, root: Path) -> Iterator[Path]:
    """The files of an image's folder that can change it: documentation (*.md), image.yaml
    (its effect enters as build args) and the other variants' Dockerfiles are left out."""
    folder = root / image.folder
    own = Path(image.dockerfile).name
    for path in sorted(folder.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        rel = path.relative_to(folder)
        name = rel.name
        if name.endswith(".md") or "__pycache__" in rel.parts:
            continue
        if len(rel.parts) == 1 and name == "image.yaml":
            continue
        is_dockerfile = name == "Dockerfile" or name.endswith(VARIANT_SUFFIX)
        is_ignore = name.endswith(("Dockerfile.dockerignore", f"{VARIANT_SUFFIX}.dockerignore"))
        mine = name in (own, f"{own}.dockerignore")
        if len(rel.parts) == 1 and (is_dockerfile or is_ignore) and not mine:
            continue
        yield path


def input_digest(
    image: Image,
    *,
    root: Path,
    build_args: Mapping[str, str],
    artifact_urls: Iterable[str],
    ca: str,
    parent: str,
    extra_files: Sequence[str] = (),
) -> str:
    """A sha256 over everything that goes into the image's build (and image.yaml `paths`)."""
    digest = hashlib.sha256()

    def feed(*parts: str) -> None:
        for part in parts:
            digest.update(part.encode())
            digest.update(b"\0")

    feed(DIGEST_VERSION, image.name, image.dockerfile, "parent", parent, "ca", ca)
    folder = root / image.folder
    for path in _context_files(image, root=root):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            feed("link", rel, os.readlink(path))
        else:
            mode = "x" if os.access(path, os.X_OK) else "-"
            feed("file", rel, mode, hashlib.sha256(path.read_bytes()).hexdigest())
    for rel in extra_files:
        path = root / rel
        if path.is_file():
            feed("extra", rel, hashlib.sha256(path.read_bytes()).hexdigest())
    for key in sorted(build_args):
        feed("arg", key, build_args[key])
    for url in artifact_urls:
        feed("artifact", url)
    return digest.hexdigest()


def repository_files(root: Path) -> list[str]:
    """Tracked and untracked, non-ignored files of the repository (repository-relative)."""
    done = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=False,
    )
    return sorted({p for p in done.stdout.split("\0") if p})


def extra_files(image: Image, *, files: Sequence[str]) -> list[str]:
    """The repository files matched by the image's image.yaml `paths` (they trigger rebuilds)."""
    patterns = image.config.extra_paths
    return [f for f in files if any(changes.path_matches(p, f) for p in patterns)]


ALL = "all"
"""Pseudo-name: every image of the repository."""
AFFECTED = "affected"
"""Pseudo-name: the images affected by the changes since the base ref (kfimages.changes)."""


def expand_names(graph: Graph, words: Sequence[str], *, base_ref: str | None) -> list[str]:
    """Image names from the command line, with `all` and `affected` expanded (order kept)."""
    for word in (ALL, AFFECTED):
        if word in graph.images and word in words:
            raise UserError(f"an image is called '{word}', which is also a pseudo-name; rename it")
    if AFFECTED in words and not base_ref:
        raise UserError("`affected` / --affected needs --base REF (e.g. --base origin/main)")
    if base_ref and AFFECTED not in words:
        raise UserError("--base is only meaningful with --affected (or the name `affected`)")
    if not words:
        raise UserError("name at least one image (see `invoke list`), `all`, or `affected`")
    out: list[str] = []
    for word in words:
        if word == ALL:
            picked = sorted(graph.images)
        elif word == AFFECTED:
            picked = [i.name for i in changes.affected(graph, base_ref=str(base_ref))]
            log.info("affected since %s: %s", base_ref, ", ".join(picked) or "no image")
        else:
            picked = [graph.get(word).name]
        out += [name for name in picked if name not in out]
    return out


def plan_names(graph: Graph, names: Iterable[str]) -> list[Image]:
    """The requested images plus their repository ancestors, parents first."""
    return graph.build_order(graph.with_ancestors(names))


def make_steps(
    graph: Graph,
    images: Sequence[Image],
    *,
    registry: str,
    tags: Sequence[str],
    ca: str,
    os_images: Mapping[str, OsImage],
    overrides: Mapping[str, str],
) -> list[Step]:
    """A Step per image (in the given order, parents first)."""
    steps: dict[str, Step] = {}
    files = repository_files(graph.root) if any(i.config.extra_paths for i in images) else []
    for image in images:
        parent = graph.parent_of(image.name)
        if parent is None:
            base_img, parent_digest = image.parent, os_images[image.parent].image_id
        else:
            base_img = image_ref(parent, registry=registry, tag=tags[0])
            parent_digest = steps[parent.name].inputs
        args = resolve_build_args(image, root=graph.root, overrides=overrides)
        arts = effective_artifacts(image, args)
        steps[image.name] = Step(
            image=image,
            refs=tuple(image_ref(image, registry=registry, tag=t) for t in tags),
            base_img=base_img,
            build_args=args,
            artifacts=arts,
            inputs=input_digest(
                image,
                root=graph.root,
                build_args=args,
                artifact_urls=[url for _, url in arts],
                ca=ca,
                parent=parent_digest,
                extra_files=extra_files(image, files=files),
            ),
        )
    return list(steps.values())


# --------------------------------------------------------------------------- execution


class Output:
    """Serialises BuildKit's progress lines of parallel builds, prefixed with the image name."""

    def __init__(self, stream: TextIO, *, prefix: bool) -> None:
        self.stream = stream
        self.prefix = prefix
        self.lock = threading.Lock()

    def line(self, name: str, text: str) -> None:
        with self.lock:
            self.stream.write(f"[{name}] {text}" if self.prefix else text)
            if not text.endswith("\n"):
                self.stream.write("\n")
            self.stream.flush()


@dataclass(frozen=True)
class Context:
    """What every step shares: options, git facts, the CA directory, the output."""

    graph: Graph
    options: BuildOptions
    git: GitInfo
    ca_dir: Path
    work_dir: Path
    output: Output
    created: str


def buildx_command(step: Step, ctx: Context, *, extra_contexts: Mapping[str, Path]) -> list[str]:
    """The `docker buildx build` command line of one step."""
    image, root = step.image, ctx.graph.root
    cmd = [
        "docker", "buildx", "build", "--progress=plain", "--load",
        "-f", str(root / image.dockerfile),
        "--build-arg", f"{PARENT_ARG}={step.base_img}",
    ]  # fmt: skip
    for key, value in sorted(step.build_args.items()):
        cmd += ["--build-arg", f"{key}={value}"]
    for artifact, url in step.artifacts:
        if artifact.build_arg and artifact.build_arg not in step.build_args:
            cmd += ["--build-arg", f"{artifact.build_arg}={url}"]
    cmd += ["--build-context", f"{CA_CONTEXT}={ctx.ca_dir}"]
    for name, path in sorted(extra_contexts.items()):
        cmd += ["--build-context", f"{name}={path}"]
    labels = {
        "org.opencontainers.image.source": ctx.git.source,
        "org.opencontainers.image.revision": ctx.git.sha,
        "org.opencontainers.image.created": ctx.created,
        "org.opencontainers.image.title": image.name,
        "org.opencontainers.image.version": step.refs[0].rsplit(":", 1)[1],
        INPUTS_LABEL: step.inputs,
    }
    for key, value in labels.items():
        cmd += ["--label", f"{key}={value}"]
    for ref in step.refs:
        cmd += ["-t", ref]
    if ctx.options.no_cache:
        cmd.append("--no-cache")
    cmd.append(str(root / image.folder))
    return cmd


def find_reusable(step: Step) -> str | None:
    """A local ref of an image with the same input digest (then tagged with the step's refs)."""
    labels = docker_env.image_labels(step.refs[0])
    source: str | None = None
    if labels is not None and labels.get(INPUTS_LABEL) == step.inputs:
        source = step.refs[0]
    else:
        repository = step.refs[0].rsplit(":", 1)[0]
        found = docker_env.find_by_label(
            repository=repository, label=INPUTS_LABEL, value=step.inputs
        )
        source = found[0] if found else None
    if source is None:
        return None
    for ref in step.refs:
        if ref != source:
            docker_env.tag(source, ref)
    return source


def _artifact_contexts(step: Step, work: Path) -> dict[str, Path]:
    """Named build contexts `artifact-<name>` holding a copy of each `file://` artifact."""
    contexts: dict[str, Path] = {}
    for artifact, url in step.artifacts:
        path = artifacts.local_path(url)
        if path is None:
            continue
        target = work / f"{step.image.name}-{artifact.name}"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / path.name)
        contexts[f"{ARTIFACT_CONTEXT_PREFIX}{artifact.name}"] = target
    return contexts


def _run_buildx(step: Step, ctx: Context) -> tuple[bool, str]:
    cmd = buildx_command(step, ctx, extra_contexts=_artifact_contexts(step, ctx.work_dir))
    log.debug("%s", " ".join(cmd))
    tail: collections.deque[str] = collections.deque(maxlen=40)
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line.rstrip("\n"))
            ctx.output.line(step.image.name, line)
        code = proc.wait()
    if code == 0:
        return True, ""
    return False, failure_reason(list(tail), code=code)


def failure_reason(lines: Sequence[str], *, code: int) -> str:
    """One short line from the end of BuildKit's output: which step failed and how."""
    errors = [line for line in lines if "ERROR" in line or "error:" in line.lower()]
    reason = (errors or list(lines) or [f"buildx exited with {code}"])[-1]
    if match := _PROCESS_RE.search(reason):
        command = match.group(1).replace('\\"', '"')
        command = command.removeprefix("/bin/bash -o pipefail -c ").removeprefix("/bin/sh -c ")
        short = command if len(command) <= 70 else command[:67] + "..."
        return f"RUN {short} failed ({match.group(2)})"
    return reason.split("] ", 1)[-1].removeprefix("ERROR: ")[:200]


def run_step(step: Step, ctx: Context) -> Result:
    """Reuse, block or build one image."""
    started = time.monotonic()
    result = Result(name=step.image.name, ref=step.refs[0], status=BUILT, started=time.time())
    try:
        source = None if ctx.options.no_cache else find_reusable(step)
        if source is not None:
            result.status = REUSED
            if source != step.refs[0]:
                result.reason = f"same inputs as {source}"
            log.info("%s: reused %s", step.image.name, source)
            return result
        for artifact, url in step.artifacts:
            problem = artifacts.check_url(url)
            if problem is not None:
                result.status = BLOCKED
                result.reason = f"artifact {artifact.name}: {problem}"
                log.warning("%s: blocked, %s", step.image.name, result.reason)
                return result
        log.info("%s: building %s (BASE_IMG=%s)", step.image.name, step.refs[0], step.base_img)
        ok, reason = _run_buildx(step, ctx)
        if not ok:
            result.status, result.reason = FAILED, reason
            log.error("%s: build failed: %s", step.image.name, reason)
        return result
    except (UserError, OSError, subprocess.SubprocessError) as exc:
        result.status, result.reason = FAILED, str(exc).splitlines()[0]
        return result
    finally:
        result.duration = time.monotonic() - started


def _skip_reason(parent: Result) -> str:
    if parent.status == SKIPPED:
        return parent.reason
    detail = f": {parent.reason}" if parent.status == BLOCKED and parent.reason else ""
    return f"parent {parent.name} {parent.status}{detail}"


def execute(graph: Graph, steps: Sequence[Step], ctx: Context) -> list[Result]:
    """Run the steps with up to `jobs` builds at once; a child starts after its parent succeeded."""
    results: dict[str, Result] = {}
    pending = list(steps)
    in_plan = {s.image.name for s in steps}
    running: dict[Future[Result], Step] = {}
    with ThreadPoolExecutor(max_workers=max(1, ctx.options.jobs)) as pool:
        while pending or running:
            for step in list(pending):
                parent = graph.parent_of(step.image.name)
                if parent is not None and parent.name in in_plan:
                    done = results.get(parent.name)
                    if done is None:
                        continue
                    if done.status not in OK_STATUSES:
                        reason = _skip_reason(done)
                        results[step.image.name] = Result(
                            name=step.image.name, ref=step.refs[0], status=SKIPPED, reason=reason
                        )
                        log.warning("%s: skipped (%s)", step.image.name, reason)
                        pending.remove(step)
                        continue
                if len(running) < max(1, ctx.options.jobs):
                    running[pool.submit(run_step, step, ctx)] = step
                    pending.remove(step)
            if running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    step = running.pop(future)
                    try:
                        results[step.image.name] = future.result()
                    except Exception as exc:  # a bug must not hide the other images' results
                        log.exception("%s: internal error", step.image.name)
                        results[step.image.name] = Result(
                            name=step.image.name,
                            ref=step.refs[0],
                            status=FAILED,
                            reason=f"internal error: {exc}",
                        )
    return [results[s.image.name] for s in steps]


def push_all(steps: Sequence[Step], results: Sequence[Result]) -> bool:
    """Push every tag of every image; only called when the whole plan succeeded."""
    ok = True
    by_name = {r.name: r for r in results}
    for step in steps:
        for ref in step.refs:
            log.info("pushing %s", ref)
            pushed, detail = docker_env.push(ref)
            if pushed:
                by_name[step.image.name].pushed.append(ref)
            else:
                ok = False
                by_name[step.image.name].reason = f"push of {ref} failed: {detail}"
                log.error("push of %s failed: %s", ref, detail)
                return ok
    return ok


def format_summary(report: BuildReport) -> str:
    """The table printed at the end of a build."""
    rows = [("IMAGE", "REF", "STATUS", "TIME", "REASON")]
    for r in report.results:
        reason = r.reason
        if r.pushed:
            reason = f"{reason}; pushed {len(r.pushed)} tag(s)".lstrip("; ")
        rows.append((r.name, r.ref, r.status, f"{r.duration:.1f}s", reason))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4]
        for row in rows
    ]
    counts = collections.Counter(r.status for r in report.results)
    total = ", ".join(f"{counts[s]} {s}" for s in (BUILT, REUSED, FAILED, BLOCKED, SKIPPED))
    lines.append(f"{total}; exit code {report.exit_code}")
    return "\n".join(line.rstrip() for line in lines)


@contextmanager
def _work_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="kfimages-build-") as tmp:
        yield Path(tmp)


def prepare_os_images(
    images: Sequence[Image], graph: Graph, *, bootstrap: bool
) -> dict[str, OsImage]:
    """The external parents of the plan's root images: local, pulled or bootstrapped."""
    refs = sorted({i.parent for i in images if graph.parent_of(i.name) is None})
    return {ref: ensure_os_image(ref, allow_bootstrap=bootstrap) for ref in refs}


def build_images(
    graph: Graph,
    names: Sequence[str],
    options: BuildOptions,
    *,
    stream: TextIO | None = None,
) -> BuildReport:
    """Plan and build `names` (plus ancestors); print progress and the summary to `stream`."""
    out = stream if stream is not None else sys.stdout
    if options.jobs < 1:
        raise UserError(f"--jobs must be at least 1, not {options.jobs}")
    if options.push and options.registry == DEFAULT_REGISTRY:
        raise UserError(
            f"--push needs a registry: pass --registry HOST[:PORT]/NAMESPACE "
            f"('{DEFAULT_REGISTRY}' is the local-only default)"
        )
    images = plan_names(graph, names)
    if not images:
        out.write("nothing to build\n")
        return BuildReport(results=[])
    docker_env.check_docker()
    git = read_git_info(graph.root)
    tags = options.tags or default_tags(git)
    check_tags(tags)
    environ = os.environ if options.environ is None else options.environ
    log.info(
        "plan: %s; tags: %s; registry: %s; jobs: %d; CA files: %s",
        ", ".join(i.name for i in images), ", ".join(tags), options.registry or "(none)",
        options.jobs, ", ".join(map(str, options.ca_files)) or "none",
    )  # fmt: skip
    os_images = prepare_os_images(images, graph, bootstrap=options.bootstrap)
    steps = make_steps(
        graph,
        images,
        registry=options.registry,
        tags=tags,
        ca=ca_digest(options.ca_files),
        os_images=os_images,
        overrides=env_build_args(environ),
    )
    with _work_dir() as work:
        ca_dir = work / CA_CONTEXT
        fill_ca_dir(options.ca_files, target=ca_dir)
        ctx = Context(
            graph=graph,
            options=options,
            git=git,
            ca_dir=ca_dir,
            work_dir=work,
            output=Output(out, prefix=options.jobs > 1),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        results = execute(graph, steps, ctx)
    report = BuildReport(results=results)
    if options.push:
        if report.exit_code == EXIT_OK:
            report.push_failed = not push_all(steps, results)
        else:
            log.error("nothing pushed: not every image of the plan was built or reused")
    out.write("\n" + format_summary(report) + "\n")
    out.flush()
    return report
