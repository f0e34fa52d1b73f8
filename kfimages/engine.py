"""The local Docker Engine as the build uses it: prerequisite checks and image queries (CLI)."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any

from kfimages.errors import UserError

log = logging.getLogger(__name__)

INSTALL_HINT = "run: bash scripts/install-docker.sh (installs the engine and starts dockerd)"


def _run(args: list[str], *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def check_docker() -> None:
    """Fail with a one-line error when the docker CLI, the daemon or buildx is missing."""
    if shutil.which("docker") is None:
        raise UserError(f"the docker CLI is not installed; {INSTALL_HINT}")
    try:
        info = _run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=20)
    except subprocess.TimeoutExpired:
        raise UserError(f"the Docker daemon does not answer; {INSTALL_HINT}") from None
    if info.returncode != 0 or not info.stdout.strip():
        raise UserError(f"the Docker daemon is not running; {INSTALL_HINT}")
    buildx = _run(["docker", "buildx", "version"], timeout=20)
    if buildx.returncode != 0:
        raise UserError(
            "docker buildx is missing (BuildKit builds need it); "
            "apt-get install docker-buildx, or run: bash scripts/install-docker.sh"
        )
    log.debug("docker engine %s, %s", info.stdout.strip(), buildx.stdout.strip())


def inspect_image(ref: str) -> dict[str, Any] | None:
    """`docker image inspect` of a local image, or None when it does not exist locally."""
    done = _run(["docker", "image", "inspect", ref])
    if done.returncode != 0:
        return None
    data = json.loads(done.stdout)
    return data[0] if data else None


def image_labels(ref: str) -> dict[str, str] | None:
    """The labels of a local image ({} if it has none), or None when it does not exist."""
    data = inspect_image(ref)
    if data is None:
        return None
    return dict((data.get("Config") or {}).get("Labels") or {})


def find_by_label(*, repository: str, label: str, value: str) -> list[str]:
    """Local refs of `repository` whose image carries `label=value`, newest first."""
    done = _run(
        [
            "docker", "image", "ls",
            "--filter", f"reference={repository}",
            "--filter", f"label={label}={value}",
            "--format", "{{.Repository}}:{{.Tag}}",
        ]
    )  # fmt: skip
    if done.returncode != 0:
        return []
    return [line for line in done.stdout.split() if not line.endswith(":<none>")]


def tag(source: str, target: str) -> None:
    """Add the ref `target` to the local image `source`."""
    done = _run(["docker", "tag", source, target])
    if done.returncode != 0:
        raise UserError(f"docker tag {source} {target} failed: {done.stderr.strip()}")


def pull(ref: str, *, timeout: float) -> tuple[bool, str]:
    """Try `docker pull`; (success, last line of its output)."""
    try:
        done = _run(["docker", "pull", "--quiet", ref], timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"no answer within {timeout:.0f}s"
    lines = (done.stderr or done.stdout).strip().splitlines()
    return done.returncode == 0, lines[-1] if lines else ""


def push(ref: str) -> tuple[bool, str]:
    """`docker push` of one ref; (success, last line of its output)."""
    done = _run(["docker", "push", ref], timeout=3600)
    output = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode == 0, output[-1] if output else ""


def create_manifest_list(ref: str, sources: Sequence[str]) -> tuple[bool, str]:
    """`docker buildx imagetools create -t REF SOURCES...`: a manifest list in the registry
    of images already pushed there; (success, last line of its output)."""
    done = _run(["docker", "buildx", "imagetools", "create", "-t", ref, *sources], timeout=600)
    output = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode == 0, output[-1] if output else ""


def run_in_image(ref: str, script: str, *, timeout: float = 600) -> tuple[int, str]:
    """Run a shell script in a throwaway container of a local image, with no network and
    `/bin/sh` as the entrypoint (the image's own `/init` is not started); (exit code, stdout
    and stderr). Exit code 125 and the engine's message when the container cannot start."""
    args = ["docker", "run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", ref]
    try:
        done = _run([*args, "-c", script], timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, f"no result within {timeout:.0f}s"
    return done.returncode, done.stdout + done.stderr


def repo_tags(ref: str) -> list[str]:
    """Every local ref (RepoTags) of the image that `ref` names; [] when it does not exist."""
    data = inspect_image(ref)
    return list((data or {}).get("RepoTags") or [])


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
    create = ["docker", "create", "--network", "none", "--entrypoint", NEVER_STARTED]
    created = _run([*create, "--platform", image_platform(data), ref], timeout=300)
    if created.returncode != 0:
        raise UserError(f"docker create {ref} failed: {created.stderr.strip()[-300:]}")
    container = created.stdout.strip()
    try:
        with tempfile.TemporaryFile() as errors:
            export = subprocess.Popen(
                ["docker", "export", container], stdout=subprocess.PIPE, stderr=errors
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
        _run(["docker", "rm", "--force", container], timeout=300)
