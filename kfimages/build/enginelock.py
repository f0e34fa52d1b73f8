"""One build at a time per engine: a lock file held for the whole of `invoke build`.

Two builds on one engine share its tags: one could build a child FROM a parent ref that the
other just moved. So a build (not a `--dry-run`) holds an `fcntl.flock` on a file keyed by
the engine (`$DOCKER_HOST`, else the default socket) in `/run/lock` (else the temporary
folder); a second build waits for it, saying whose it is, or with `--no-wait` fails at once.
The kernel releases the lock when its holder ends, however it ends.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from kfimages.errors import UserError

log = logging.getLogger(__name__)

DEFAULT_ENGINE = "unix:///var/run/docker.sock"
LOCK_DIRS = (Path("/run/lock"),)


def engine_key(environ: Mapping[str, str]) -> str:
    """The engine the docker CLI talks to: `$DOCKER_HOST`, else the default socket."""
    return environ.get("DOCKER_HOST") or DEFAULT_ENGINE


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
    wait: bool = True,
    environ: Mapping[str, str] | None = None,
    directory: Path | None = None,
) -> Iterator[Path]:
    """Hold the engine's build lock while inside; a held one is waited for (logged, naming
    its holder) or, without `wait`, a UserError at once."""
    key = engine_key(os.environ if environ is None else environ)
    path = lock_path(key, directory=directory)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if os.fstat(fd).st_uid == os.getuid():
            os.fchmod(fd, 0o666)  # every user of the engine shares it (umask aside)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = holder(path)
            if not wait:
                raise UserError(
                    f"another build runs on the engine {key}: {other}; wait for it, or drop "
                    f"--no-wait to wait (lock {path})"
                ) from None
            log.warning("waiting for the build of %s to finish; --no-wait fails at once", other)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        record = {"pid": os.getpid(), "started": time.time(), "names": list(names)}
        os.pwrite(fd, json.dumps(record).encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock
