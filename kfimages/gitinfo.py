"""Facts about the git checkout that the build turns into tags and OCI labels."""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kfimages.errors import UserError

log = logging.getLogger(__name__)

SHA_LEN = 12


@dataclass(frozen=True)
class GitInfo:
    """HEAD, dirtiness and origin of the repository being built."""

    sha: str
    dirty: bool
    source: str

    @property
    def tag(self) -> str:
        """The git-derived tag: `sha-<12 hex>`, with `-dirty` for uncommitted changes."""
        return f"sha-{self.sha[:SHA_LEN]}{'-dirty' if self.dirty else ''}"


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            check=True,
            capture_output=True,
            text=True,
        )
    except FileNotFoundError as exc:
        raise UserError("git is not installed; install it (apt-get install git)") from exc
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise UserError(f"git {' '.join(args)} failed in {root}: {detail[0]}") from exc
    return done.stdout.strip()


def read_git_info(root: Path) -> GitInfo:
    """HEAD's sha, whether the tree differs from it (untracked, non-ignored files count),
    and the source: the URL of the `origin` remote (else the first remote, else the path)."""
    try:
        sha = _git(root, "rev-parse", "--verify", "HEAD")
    except UserError as exc:
        raise UserError(f"{root} has no commit yet; commit first ({exc})") from exc
    status = _git(root, "status", "--porcelain", "--untracked-files=normal")
    remotes = _git(root, "remote").split()
    if remotes:
        remote = "origin" if "origin" in remotes else remotes[0]
        source = _git(root, "remote", "get-url", remote)
    else:
        source = str(root.resolve())
    return GitInfo(sha=sha, dirty=bool(status), source=source)
