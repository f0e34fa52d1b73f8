"""The one gateway to the Docker CLI: every `docker ...` command line of the package is made
here (`command`), run here, and its failures (no CLI, no daemon, no answer) become one-line
UserErrors here. The package never imports the `docker` SDK (only tests use it). One query
also goes to the engine's API on its unix socket (kfimages.engine_api), where the CLI would use
that socket: `published_port`, which the bench asks while the start it measures runs.

Image queries (inspect, labels, size, refs by label or prefix), image changes (tag, pull,
push, import, manifest lists, removal), containers (run, exec, state, logs, memory, removal
by label) and the engine's facts (versions, disk). `stream` starts a long command whose
output the caller reads as it comes (`docker buildx build`, kfimages.build.buildx).
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any

from kfimages import engine_api
from kfimages.errors import UserError

log = logging.getLogger(__name__)

DOCKER = "docker"
INSTALL_HINT = "run: bash scripts/install-docker.sh (installs the engine and starts dockerd)"
_NO_DAEMON = ("Cannot connect to the Docker daemon", "Is the docker daemon running")


def command(*args: str) -> list[str]:
    """The command line `docker ARGS` (the one place that names the CLI)."""
    return [DOCKER, *args]


def _explain(stderr: str) -> None:
    """Raise the one-line error of a failure that no retry or fallback can fix."""
    if any(marker in stderr for marker in _NO_DAEMON):
        raise UserError(f"the Docker daemon is not running; {INSTALL_HINT}")


def _run(
    args: Sequence[str],
    *,
    timeout: float = 60,
    stdin: IO[bytes] | None = None,
    shielded: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`docker ARGS`, captured; raises subprocess.TimeoutExpired after `timeout` seconds.
    `shielded`: in a session of its own, so a terminal's Ctrl-C does not cut it short."""
    try:
        done = subprocess.run(
            command(*args), capture_output=True, text=True, timeout=timeout, check=False,
            stdin=stdin, start_new_session=shielded,
        )  # fmt: skip
    except FileNotFoundError:
        raise UserError(f"the docker CLI is not installed; {INSTALL_HINT}") from None
    if done.returncode != 0:
        _explain(done.stderr)
    return done


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[-1] if lines else ""


def run(
    *args: str, timeout: float = 120, check: bool = True, stdin: IO[bytes] | None = None
) -> str:
    """`docker ARGS`: its stdout, stripped. With `check`, a non-zero exit is a UserError
    naming the command and the engine's message; no answer within `timeout` always is."""
    what = " ".join(args[:2])
    try:
        done = _run(args, timeout=timeout, stdin=stdin)
    except subprocess.TimeoutExpired:
        raise UserError(f"docker {what}: no answer within {timeout:.0f}s") from None
    if check and done.returncode != 0:
        raise UserError(f"docker {what} failed: {done.stderr.strip()[-300:]}")
    return done.stdout.strip()


def stream(cmd: Sequence[str]) -> subprocess.Popen[str]:
    """Start a command line of `command` with stdout and stderr merged into one text pipe,
    for a caller that reads the output as it comes (a long build). It leads its own process
    group (a new session): a terminal's Ctrl-C does not reach it, the caller stops the whole
    group (kfimages.build.stop)."""
    try:
        return subprocess.Popen(
            list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace", start_new_session=True,
        )  # fmt: skip
    except FileNotFoundError:
        raise UserError(f"the docker CLI is not installed; {INSTALL_HINT}") from None


# --- the engine ----------------------------------------------------------------------------


def check_docker() -> None:
    """Fail with a one-line error when the docker CLI, the daemon or buildx is missing."""
    if shutil.which(DOCKER) is None:
        raise UserError(f"the docker CLI is not installed; {INSTALL_HINT}")
    try:
        info = _run(["info", "--format", "{{.ServerVersion}}"], timeout=20)
    except subprocess.TimeoutExpired:
        raise UserError(f"the Docker daemon does not answer; {INSTALL_HINT}") from None
    if info.returncode != 0 or not info.stdout.strip():
        raise UserError(f"the Docker daemon is not running; {INSTALL_HINT}")
    buildx = _run(["buildx", "version"], timeout=20)
    if buildx.returncode != 0:
        raise UserError(
            "docker buildx is missing (BuildKit builds need it); "
            "apt-get install docker-buildx, or run: bash scripts/install-docker.sh"
        )
    log.debug("docker engine %s, %s", info.stdout.strip(), buildx.stdout.strip())


def server_version() -> str:
    """The Docker Engine's version, `?` when it does not say."""
    return run("version", "--format", "{{.Server.Version}}", check=False) or "?"


def buildx_version() -> str:
    """buildx's version (`github.com/docker/buildx V ...`), `?` when it does not say."""
    words = run("buildx", "version", check=False).split()
    return words[1] if len(words) > 1 else "?"


def free_bytes() -> int | None:
    """Free bytes on the disk of the engine's data root (DockerRootDir), None if unknown."""
    root = run("info", "--format", "{{.DockerRootDir}}", check=False)
    try:
        return shutil.disk_usage(root).free if root else None
    except OSError:
        return None


# --- images --------------------------------------------------------------------------------


def inspect_image(ref: str) -> dict[str, Any] | None:
    """`docker image inspect` of a local image, or None when it does not exist locally."""
    done = _run(["image", "inspect", ref])
    if done.returncode != 0:
        return None
    data = json.loads(done.stdout)
    return data[0] if data else None


def image_id(ref: str) -> str:
    """The ID of a local image, "" when it does not exist. Shielded from a terminal's Ctrl-C
    (kfimages.build.retag reads it to finish a tag move after a signal)."""
    done = _run(["image", "inspect", "--format", "{{.Id}}", ref], shielded=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def image_labels(ref: str) -> dict[str, str] | None:
    """The labels of a local image ({} if it has none), or None when it does not exist."""
    data = inspect_image(ref)
    if data is None:
        return None
    return dict((data.get("Config") or {}).get("Labels") or {})


def image_size(ref: str) -> int | None:
    """Uncompressed size of a local image in bytes, None when it is not there."""
    data = inspect_image(ref)
    return int(data["Size"]) if data and "Size" in data else None


def repo_tags(ref: str) -> list[str]:
    """Every local ref (RepoTags) of the image that `ref` names; [] when it does not exist."""
    data = inspect_image(ref)
    return list((data or {}).get("RepoTags") or [])


def local_refs(*filters: str) -> list[str]:
    """Local `repository:tag` refs that pass every `docker image ls --filter` (untagged
    images left out)."""
    args = [arg for f in filters for arg in ("--filter", f)]
    done = _run(["image", "ls", *args, "--format", "{{.Repository}}:{{.Tag}}"])
    if done.returncode != 0:
        return []
    return [line for line in done.stdout.split() if not line.endswith(":<none>")]


def find_by_label(*, repository: str, label: str, value: str) -> list[str]:
    """Local refs of `repository` whose image carries `label=value`, newest first."""
    return local_refs(f"reference={repository}", f"label={label}={value}")


def remove_images_under(prefix: str) -> int:
    """Remove every local `<prefix>/...` ref (a throwaway registry prefix); how many."""
    refs = local_refs(f"reference={prefix}/*")
    if refs:
        run("image", "rm", "-f", *refs, timeout=600, check=False)
        log.info("removed %d %s/... ref(s)", len(refs), prefix)
    return len(refs)


def tag(source: str, target: str) -> None:
    """Add the ref `target` to the local image `source` (a ref or an image ID), in a session
    of its own: a terminal's Ctrl-C never cuts a tag move short."""
    done = _run(["tag", source, target], shielded=True)
    if done.returncode != 0:
        raise UserError(f"docker tag {source} {target} failed: {done.stderr.strip()}")


def _attempt(args: Sequence[str], *, timeout: float) -> tuple[bool, str]:
    """`docker ARGS`: (success, last line of its output); a time-out is a failure, no raise."""
    try:
        done = _run(args, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"no answer within {timeout:.0f}s"
    return done.returncode == 0, _last_line(done)


def pull(ref: str, *, timeout: float) -> tuple[bool, str]:
    """Try `docker pull`; (success, last line of its output)."""
    return _attempt(["pull", "--quiet", ref], timeout=timeout)


def push(ref: str, *, timeout: float = 3600) -> tuple[bool, str]:
    """`docker push` of one ref; (success, last line of its output)."""
    return _attempt(["push", ref], timeout=timeout)


def create_manifest_list(ref: str, sources: Sequence[str]) -> tuple[bool, str]:
    """`docker buildx imagetools create -t REF SOURCES...`: a manifest list in the registry
    of images already pushed there; (success, last line of its output)."""
    return _attempt(["buildx", "imagetools", "create", "-t", ref, *sources], timeout=600)


def import_image(
    *, ref: str, changes: Sequence[str], message: str, stdin: IO[bytes], timeout: float = 1800
) -> None:
    """`docker import CHANGES --message MESSAGE - REF` of the tar stream `stdin`."""
    run("import", *changes, "--message", message, "-", ref, stdin=stdin, timeout=timeout)


# --- containers ----------------------------------------------------------------------------


def run_in_image(ref: str, script: str, *, timeout: float = 600) -> tuple[int, str]:
    """Run a shell script in a throwaway container of a local image, with no network and
    `/bin/sh` as the entrypoint (the image's own `/init` is not started); (exit code, stdout
    and stderr). Exit code 125 and the engine's message when the container cannot start."""
    args = ["run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", ref]
    try:
        done = _run([*args, "-c", script], timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, f"no result within {timeout:.0f}s"
    return done.returncode, done.stdout + done.stderr


def published_port(container: str, port: int) -> int:
    """The host port Docker published for the container's tcp `port`: one request to the
    engine's API on its unix socket (kfimages.engine_api), no program started; else
    `docker port`."""
    found = engine_api.published_port(container, port, sock=engine_api.engine_socket())
    if found is not None:
        return found
    out = run("port", container, f"{port}/tcp").splitlines()
    try:
        return int(out[0].rsplit(":", 1)[1])
    except (IndexError, ValueError):
        raise UserError(f"container {container} publishes no port for {port}/tcp") from None


def container_state(container: str) -> str:
    """`<status> <exit code>` of a container (`running 0`, `exited 1`), `` when it is gone."""
    return run("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", container, check=False)


def container_logs(container: str, *, tail: int) -> list[str]:
    """The last `tail` lines of a container's output (stdout and stderr)."""
    done = _run(["logs", "--tail", str(tail), container])
    return (done.stdout + done.stderr).strip().splitlines()


def container_mem_usage(container: str) -> str:
    """`docker stats --no-stream` MemUsage of a running container (`73.4MiB / 23.54GiB`)."""
    return run("stats", "--no-stream", "--format", "{{.MemUsage}}", container)


def remove_containers(*containers: str) -> None:
    """`docker rm -f -v` (with their anonymous volumes); a container already gone is fine."""
    if containers:
        run("rm", "-f", "-v", *containers, check=False)


def remove_labelled_containers(label: str) -> None:
    """Remove every container (running or not) that carries `label` (`key=value`)."""
    remove_containers(*run("ps", "-aq", "--filter", f"label={label}", check=False).split())


# --- An image's own file system, read without running it (kfimages.ship.sbom) --------------

NEVER_STARTED = "/kfimages-container-never-started"
"""The entrypoint of the containers `exported_filesystem` creates: they are never started."""


def image_platform(data: Mapping[str, Any]) -> str:
    """`os/arch[/variant]` of an image from its `docker image inspect` data."""
    variant = f"/{data['Variant']}" if data.get("Variant") else ""
    return f"{data.get('Os', '')}/{data.get('Architecture', '')}{variant}"


@contextmanager
def exported_filesystem(ref: str) -> Iterator[IO[bytes]]:
    """The file system of the local image `ref` as a tar stream: `docker export` of a
    container that is created (for the image's own platform) and never started, so another
    platform's image needs no emulator. The container is removed afterwards; a failed export
    raises a UserError once the stream was read to its end."""
    data = inspect_image(ref)
    if data is None:
        raise UserError(f"no local image {ref}; build or pull it first")
    create = ["create", "--network", "none", "--entrypoint", NEVER_STARTED]
    created = _run([*create, "--platform", image_platform(data), ref], timeout=300)
    if created.returncode != 0:
        raise UserError(f"docker create {ref} failed: {created.stderr.strip()[-300:]}")
    container = created.stdout.strip()
    try:
        with tempfile.TemporaryFile() as errors:
            export = subprocess.Popen(
                command("export", container), stdout=subprocess.PIPE, stderr=errors
            )
            assert export.stdout is not None  # stdout=PIPE
            try:
                yield export.stdout
                while export.stdout.read(1 << 20):  # what the reader left (tar padding)
                    pass
            finally:
                export.stdout.close()
                if export.poll() is None:
                    export.kill()
                code = export.wait()
            if code != 0:
                errors.seek(0)
                message = errors.read().decode(errors="replace").strip()
                raise UserError(f"docker export of {ref} failed (exit {code}): {message[-300:]}")
    finally:
        _run(["rm", "--force", container], timeout=300)
