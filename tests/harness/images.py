"""Images that tests build themselves, always through `kfimages.build.buildx.build_adhoc`: small
images FROM an image under test (how users extend the images), stages of a Dockerfile."""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path

from kfimages.build.buildx import build_adhoc

log = logging.getLogger(__name__)

FileContent = str | bytes

DEFAULT_DOCKERFILE = """\
ARG BASE_IMG
FROM $BASE_IMG
COPY --chown=1000:0 s6/ /etc/
"""
"""docs/extending.md's recipe: the files' `s6/` folder (cont-init.d/, services.d/) into /etc."""


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by its relative path (a derived image's folder in the tests)."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def write_files(root: Path, files: Mapping[str, FileContent]) -> None:
    """Write `files` under `root`; a file starting with `#!` is executable (0775), others 0664."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        path.write_bytes(data)
        path.chmod(0o775 if data.startswith(b"#!") else 0o664)


def remove_image(ref: str) -> None:
    subprocess.run(
        ["docker", "image", "rm", "--force", ref], capture_output=True, check=False, timeout=120
    )


class DerivedImages:
    """Builds images FROM a parent ref out of a few files, once per content; `remove_all()`
    removes them (the `derived_image` fixture calls it at the end of the session)."""

    def __init__(self, *, repository: str = "kfnb-smoke/derived") -> None:
        self.repository = repository
        self.session = uuid.uuid4().hex[:8]
        self.built: dict[str, str] = {}

    def __call__(
        self,
        parent: str,
        files: Mapping[str, FileContent],
        dockerfile: str | None = None,
    ) -> str:
        """The ref of an image built with `dockerfile` (default: `files["Dockerfile"]`, else
        DEFAULT_DOCKERFILE) from a context holding `files`, with `BASE_IMG=parent`.
        Raises kfimages.build.buildx.AdhocBuildError with BuildKit's last lines on failure."""
        all_files = dict(files)
        if dockerfile is not None:
            all_files["Dockerfile"] = dockerfile
        all_files.setdefault("Dockerfile", DEFAULT_DOCKERFILE)
        digest = hashlib.sha256(parent.encode())
        for rel in sorted(all_files):
            content = all_files[rel]
            digest.update(f"\0{rel}\0".encode())
            digest.update(content.encode() if isinstance(content, str) else content)
        key = digest.hexdigest()[:12]
        if key in self.built:
            return self.built[key]
        tag = f"{self.repository}:{self.session}-{key}"
        context = Path(tempfile.mkdtemp(prefix="kfnb-derived-"))
        try:
            write_files(context, all_files)
            build_adhoc(context=context, tag=tag, build_args={"BASE_IMG": parent})
        finally:
            shutil.rmtree(context, ignore_errors=True)
        log.info("built %s FROM %s", tag, parent)
        self.built[key] = tag
        return tag

    def remove_all(self) -> None:
        for ref in self.built.values():
            remove_image(ref)
        self.built.clear()
