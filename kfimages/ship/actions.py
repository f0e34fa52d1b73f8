"""The GitHub actions a workflow uses, pinned: the one place of the pins (ACTIONS) and the
check that every `uses:` of the repository's workflow files is pinned by a full commit SHA
with its version in a comment (run by `invoke workflow --check`, hence `nox -s lint`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

WORKFLOWS = Path(".github/workflows")

ACTIONS: dict[str, tuple[str, str]] = {
    # https://github.com/actions/checkout tag v4.4.0
    "actions/checkout": ("11d5960a326750d5838078e36cf38b85af677262", "v4.4.0"),
    # https://github.com/actions/setup-python tag v5.6.0
    "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    # https://github.com/docker/setup-buildx-action tag v3.12.0
    "docker/setup-buildx-action": ("8d2750c68a42422c14e847fe6c8ac0403b4cbd6f", "v3.12.0"),
    # https://github.com/docker/login-action tag v3.7.0
    "docker/login-action": ("c94ce9fb468520275223c153574b00df6fe4bcc9", "v3.7.0"),
    # https://github.com/actions/upload-artifact tag v4.6.2
    "actions/upload-artifact": ("ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    # https://github.com/actions/download-artifact tag v4.3.0
    "actions/download-artifact": ("d3f86a106a0bac45b974a628896c90dbdf5c8093", "v4.3.0"),
    # https://github.com/aquasecurity/trivy-action tag v0.36.0 (read on 2026-12-04)
    "aquasecurity/trivy-action": ("ed142fd0673e97e23eac54620cfb913e5ce36c25", "v0.36.0"),
    # https://github.com/github/codeql-action tag v4.36.2 (read on 2026-12-04); the action
    # is its upload-sarif folder, pinned by the repository's commit
    "github/codeql-action/upload-sarif": ("8aad20d150bbac5944a9f9d289da16a4b0d87c1e", "v4.36.2"),
}
"""The one place of the workflow's action pins: action -> (commit, version). Each commit is
what the version's tag names in the action's own repository (the URL in the comment above
it): `git rev-parse <version>^{commit}` in a clone of it, read on 2026-12-03, for the newest
tag of the major version the workflow used before it was pinned. To move a pin, do the same
for the new tag; `render` refuses an action that has no pin here (KeyError)."""


def pin(action: str) -> str:
    """`owner/name@<commit> # <version>` of an action of ACTIONS."""
    commit, version = ACTIONS[action]
    return f"{action}@{commit} # {version}"


_SHA_PINNED_RE = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
_USES_LINE_RE = re.compile(
    r"""^\s*(?:-\s+)?uses:\s*(?P<q>['"]?)(?P<ref>[^\s'"#]+)(?P=q)\s*(?:#\s*(?P<note>\S.*))?$"""
)
_PIN_FIX = (
    "pin the full commit SHA with the version in a comment, e.g. `uses: actions/checkout@"
    "<40 hex> # v4.2.2` (the commit: `git rev-parse v4.2.2^{commit}` in the action's repository)"
)


def _uses(node: Any) -> Iterator[str]:
    """Every value of a `uses` key anywhere in a parsed workflow."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "uses" and isinstance(value, str):
                yield value
            else:
                yield from _uses(value)
    elif isinstance(node, list):
        for item in node:
            yield from _uses(item)


def _pinned(ref: str) -> bool:
    """A local action (`./path`, this commit's), an image by digest, or owner/repo@<sha>."""
    if ref.startswith("./"):
        return True
    if ref.startswith("docker://"):
        return "@sha256:" in ref
    return bool(_SHA_PINNED_RE.match(ref))


def unpinned(root: Path) -> list[str]:
    """One line per `uses:` of `root`'s .github/workflows/*.yml (or .yaml) that is not pinned
    by a full commit SHA (a tag or branch can be moved to other code) or has no version in a
    comment after its SHA."""
    folder = root / WORKFLOWS
    problems = []
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        rel = path.relative_to(root)
        text = path.read_text(encoding="utf-8")
        try:
            refs = list(_uses(yaml.safe_load(text)))
        except yaml.YAMLError:
            problems.append(f"{rel} is not valid YAML: fix it (actionlint {rel} shows where)")
            continue
        problems += [f"{rel}: `uses: {ref}` is pinned by tag only: {_PIN_FIX}"
                     for ref in refs if not _pinned(ref)]  # fmt: skip
        for number, line in enumerate(text.splitlines(), start=1):
            match = _USES_LINE_RE.match(line)
            if match and _SHA_PINNED_RE.match(match["ref"]) and not match["note"]:
                problems.append(
                    f"{rel}:{number}: `uses: {match['ref']}` names no version: add it in a "
                    "comment after the SHA, e.g. `# v4.2.2`"
                )
    return problems
