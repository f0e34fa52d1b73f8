"""One build at a time per engine and registry namespace: a lock file held for the whole of
`invoke build`; and one creation of an OS image at a time per engine.

Two builds on one engine share its tags: one could build a child FROM a parent ref that the
other just moved. Tags are `<registry>/<name>:<tag>`, so builds under different `--registry`
prefixes share none (CI's image builds and the integration tests' throwaway `kfit-<hex>`
prefixes; two teams' namespaces on one engine) and run side by side; what they do share, the
OS image a root image is built FROM, is created under its own lock (`os_image_lock`). A build
(not a `--dry-run`) holds an `fcntl.flock` on a file keyed by the engine (`$DOCKER_HOST`, else
the default socket) and the registry prefix in `/run/lock` (else the temporary folder); a
second build of the same prefix waits for it, saying whose it is, or with `--no-wait` fails at
once. The kernel releases the lock when its holder ends, however it ends.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from kfimages.errors import UserError

log = logging.getLogger(__name__)

DEFAULT_ENGINE = "unix:///var/run/docker.sock"
LOCK_DIRS = (Path("/run/lock"),)


def engine_key(environ: Mapping[str, str]) -> str:
    """The engine the docker CLI talks to: `$DOCKER_HOST`, else the default socket."""
    return environ.get("DOCKER_HOST") or DEFAULT_ENGINE


def build_key(engine: str, registry: str) -> str:
    """What a build's lock is keyed by: the engine and the registry prefix of its refs, as the
    refs spell it (`kfnb/` is `kfnb`; Docker Hub's `docker.io/` and `docker.io/library/` are
    implied)."""
    prefix = registry.strip("/")
    for implied in ("docker.io/library/", "docker.io/"):
        prefix = prefix.removeprefix(implied)
    return f"{engine} {prefix}"


def os_image_key(engine: str, ref: str) -> str:
    """What the lock of an OS image's creation is keyed by: the engine and the image's ref."""
    return f"{engine} os-image {ref}"


def lock_path(key: str, *, directory: Path | None = None) -> Path:
    """The lock file of engine `key` (in `directory`, else /run/lock or the temporary folder)."""
    if directory is None:
        usable = [d for d in LOCK_DIRS if d.is_dir() and os.access(d, os.W_OK)]
        directory = usable[0] if usable else Path(tempfile.gettempdir())
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return directory / f"kfimages-build-{digest}.lock"


def holder(path: Path) -> str:
    """Who holds the lock, as written by its holder: `pid N (started HH:MM:SS, names)`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict) or "pid" not in data:
        return "another process (it has not said which yet)"
    started = time.strftime("%H:%M:%S", time.localtime(float(data.get("started", 0))))
    return f"pid {data['pid']} (started {started}, {', '.join(data.get('names', []))})"


@contextmanager
def exclusive(
    names: Sequence[str],
    *,
    registry: str,
    wait: bool = True,
    environ: Mapping[str, str] | None = None,
    directory: Path | None = None,
) -> Iterator[Path]:
    """Hold the build lock of the engine and `registry` (the refs' prefix) while inside; a held
    one is waited for (logged, naming its holder) or, without `wait`, a UserError at once."""
    engine = engine_key(os.environ if environ is None else environ)
    path = lock_path(build_key(engine, registry), directory=directory)

    def busy(other: str) -> None:
        if not wait:
            raise UserError(
                f"another build runs on the engine {engine} under {registry}: {other}; wait for "
                f"it, or drop --no-wait to wait (lock {path})"
            )
        log.warning("waiting for the build of %s to finish; --no-wait fails at once", other)

    with _held(path, names, on_busy=busy):
        yield path


@contextmanager
def os_image_lock(
    ref: str, *, environ: Mapping[str, str] | None = None, directory: Path | None = None
) -> Iterator[Path]:
    """Hold the lock of OS image `ref` on the engine while inside (finding, pulling or
    creating it): builds under different registry prefixes share their OS image."""
    engine = engine_key(os.environ if environ is None else environ)
    path = lock_path(os_image_key(engine, ref), directory=directory)

    def busy(other: str) -> None:
        log.info("waiting for %s to finish with OS image %s", other, ref)

    with _held(path, [ref], on_busy=busy):
        yield path


@contextmanager
def _held(path: Path, names: Sequence[str], *, on_busy: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock file at `path` while inside, recording this process and `names` in it.
    When another process holds it: `on_busy(its holder)` first (it logs, or raises to give
    up), then wait for it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if os.fstat(fd).st_uid == os.getuid():
            os.fchmod(fd, 0o666)  # every user of the engine shares it (umask aside)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_busy(holder(path))
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        record = {"pid": os.getpid(), "started": time.time(), "names": list(names)}
        os.pwrite(fd, json.dumps(record).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
