"""What `invoke build --dry-run` prints (the plan: reuse or build, the buildx command lines)
and the OS image lines of every build's summary."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from kfimages.build import buildx
from kfimages.build.bootstrap import describe_local
from kfimages.build.plan import Step
from kfimages.build.retag import find_reusable
from kfimages.platforms import runnable_notes
from kfimages.tables import text_table


def os_image_lines(steps: Sequence[Step], *, refresh: bool = False) -> list[str]:
    """A line per OS image of the plan (a root's own, and the host's that a cross-installing
    root's build stage runs FROM): its age and origin (bootstrap.describe); for a dry run with
    `refresh`, that it would be re-created first."""
    roots = [s for s in steps if s.parent is None]
    refs = sorted(
        {s.delivery.parent_ref for s in roots}
        | {s.delivery.build_parent_ref for s in roots if s.delivery.build_parent_ref}
    )
    lines = [describe_local(ref) for ref in refs]
    if refresh:
        lines = [
            f"OS image {ref}: would be refreshed first (pull, else debootstrap), so the plan's "
            f"root images are built; now {line.removeprefix(f'OS image {ref} ')}"
            for ref, line in zip(refs, lines, strict=True)
        ]
    return lines


def format_dry_run(steps: Sequence[Step], *, root: Path, refresh: bool = False) -> str:
    """The plan: per image its parent ref, input digest, reuse or build, and the command;
    then each OS image's age (and, with `refresh`, that it would be re-created)."""
    rows, commands = [], []
    for step in steps:
        reusable = find_reusable(step, tag=False)
        action = f"reuse {reusable}" if reusable else "build"
        rows.append((step.name, step.delivery.parent_ref, step.inputs.digest[:16], action))
        cmd = buildx.command(step.inputs, step.delivery, root=root)
        commands.append(f"# {step.name}\n{shlex.join(cmd)}")
    lines = text_table(("IMAGE", "PARENT REF", "INPUTS", "ACTION"), rows)
    notes = [
        *os_image_lines(steps, refresh=refresh),
        *runnable_notes({s.inputs.platform for s in steps}),
    ]
    return "\n".join([*lines, "", *commands, "", *notes])
