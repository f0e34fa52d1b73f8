"""Every git call of the package: one runner, one way to fail, no optional locks.

`git --no-optional-locks` keeps read-only queries from taking index.lock, which a
concurrent `git commit` in the same tree needs. A failing call raises `UserError` with
git's last line; a missing git says how to install it.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kfimages.errors import UserError
from kfimages.settings import strip_credentials

log = logging.getLogger(__name__)

SHA_LEN = 12


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `git -C root args...`; the completed process (no exception on a non-zero exit)."""
    try:
        return subprocess.run(
            ["git", "--no-optional-locks", "-C", str(root), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            check=False,
        )
    except FileNotFoundError:
        raise UserError("git is not installed; install it (e.g. `apt-get install git`)") from None


def output(root: Path, *args: str) -> str:
    """stdout of a git call that must succeed, else a UserError with git's last line."""
    proc = run(root, *args)
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()
        raise UserError(
            f"`git {' '.join(args)}` failed in {root}: {detail[-1] if detail else proc.returncode}"
        )
    return proc.stdout


def _nul_list(text: str) -> list[str]:
    return sorted({p for p in text.split("\0") if p})


def check_work_tree(root: Path) -> None:
    """Fail unless `root` is in a git work tree with at least one commit."""
    proc = run(root, "rev-parse", "--is-inside-work-tree")
    if proc.returncode != 0 or proc.stdout.strip() != "true":
        raise UserError(
            f"{root} is not a git repository (work tree); rebuild selection compares with a "
            "git base ref: run it inside a clone, or build images by name instead"
        )
    if run(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}").returncode != 0:
        raise UserError(f"{root}: HEAD has no commit yet; commit first, or build images by name")


def is_shallow(root: Path) -> bool:
    return run(root, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"


def merge_base(*, root: Path, base_ref: str) -> str:
    """The commit where HEAD forked from `base_ref`, or a UserError saying how to fetch it."""
    check_work_tree(root)
    if not base_ref or base_ref.startswith("-"):
        raise UserError(f"invalid base ref '{base_ref}'; give a branch, tag or commit")
    resolved = run(root, "rev-parse", "--verify", "--quiet", f"{base_ref}^{{commit}}")
    if resolved.returncode != 0:
        if is_shallow(root):
            raise UserError(
                f"base ref '{base_ref}' is not in this shallow clone; fetch it with "
                f"`git fetch --deepen=100 origin` or `git fetch --unshallow origin` "
                f"(for a branch: `git fetch origin {base_ref}`)"
            )
        raise UserError(
            f"base ref '{base_ref}' does not exist here; fetch it (e.g. "
            f"`git fetch origin {base_ref.removeprefix('origin/')}`) or check the name"
        )
    commit = resolved.stdout.strip()
    proc = run(root, "merge-base", commit, "HEAD")
    if proc.returncode != 0:
        if is_shallow(root):
            raise UserError(
                f"the merge-base of '{base_ref}' and HEAD is missing from this shallow clone; "
                "run `git fetch --unshallow origin` (or `git fetch --deepen=<n> origin` until "
                "the fork point is fetched)"
            )
        raise UserError(
            f"'{base_ref}' and HEAD have no common history; choose a base ref that HEAD "
            "descends from (e.g. origin/main)"
        )
    return proc.stdout.strip()


def changed_paths(*, root: Path, commit: str) -> list[str]:
    """Paths (relative to `root`, posix) that differ between `commit` and the work tree:
    committed, staged, unstaged and untracked-not-ignored; a rename gives both paths."""
    diff = output(root, "diff", "--name-only", "--no-renames", "--relative", "-z", commit, "--")
    untracked = output(root, "ls-files", "--others", "--exclude-standard", "-z")
    return sorted(set(_nul_list(diff)) | set(_nul_list(untracked)))


def repository_files(root: Path) -> list[str]:
    """Tracked and untracked, non-ignored files of the work tree (relative to `root`)."""
    proc = run(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return _nul_list(proc.stdout) if proc.returncode == 0 else []


def export_tree(*, root: Path, commit: str, target: Path) -> None:
    """Write the tree of `commit` (the part below `root`) into the folder `target`."""
    target.mkdir(parents=True, exist_ok=True)
    # run in `root`, `git archive` already limits the tree to the folder `root` is
    archive = subprocess.run(
        ["git", "--no-optional-locks", "-C", str(root), "archive", "--format=tar", commit],
        capture_output=True, check=False,
    )  # fmt: skip
    if archive.returncode != 0:
        detail = archive.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        raise UserError(f"`git archive {commit}` failed in {root}: {detail[0]}")
    untar = subprocess.run(
        ["tar", "-x", "-C", str(target)], input=archive.stdout, capture_output=True, check=False
    )
    if untar.returncode != 0:
        raise UserError(f"unpacking {commit} into {target} failed: {untar.stderr.decode()[-200:]}")


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


def read_info(root: Path) -> GitInfo:
    """HEAD's sha, whether the tree differs from it (untracked, non-ignored files count),
    and the source: the URL of the `origin` remote (else the first remote, else the path)."""
    proc = run(root, "rev-parse", "--verify", "HEAD")
    if proc.returncode != 0:
        raise UserError(f"{root} has no commit yet; commit first")
    status = output(root, "status", "--porcelain", "--untracked-files=normal")
    remotes = output(root, "remote").split()
    if remotes:
        remote = "origin" if "origin" in remotes else remotes[0]
        source = strip_credentials(output(root, "remote", "get-url", remote).strip())
    else:
        source = str(root.resolve())
    return GitInfo(sha=proc.stdout.strip(), dirty=bool(status.strip()), source=source)
