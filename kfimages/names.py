"""The grammar of NAMES, the argument of every task that takes images (`build`, `smoke`,
`bake`, `manifest`, the bench): split and checked here, in one function (`parse`).

    NAME[,NAME...]   images of the repository (`invoke list`), in the order given
    all              every image of the repository
    affected         the images affected by the changes since a base ref (kfimages.repo.changes):
                     `--base REF` (smoke: else $KFIMAGES_BASE_REF)
    built            (manifest only) every image of the repository that exists locally

Words combine (`affected,jupyter`); a repeated one counts once. `all`, `affected` and `built`
are pseudo-names: no image may be called like them (`invoke new` refuses them). Turning the
words into images needs the graph and the changes: `kfimages.build.plan.expand_names`.
Bad input is one `UserError` naming the fix (exit 2 on the command line).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from kfimages.errors import UserError
from kfimages.settings import BASE_REF

ALL = "all"
"""Pseudo-name: every image of the repository."""
AFFECTED = "affected"
"""Pseudo-name: the images affected by the changes since the base ref."""
BUILT = "built"
"""Pseudo-name of `invoke manifest`: the images of the repository that exist locally."""
PSEUDO_NAMES = (ALL, AFFECTED, BUILT)
SETS = (ALL, AFFECTED)
"""The pseudo-names every names-taking task reads (`takes` of `parse`)."""

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
"""A folder or variant name (an image is FOLDER or FOLDER.VARIANT): it becomes a repository
name."""

USAGE = "NAME[,NAME...], all, or affected --base REF"
MISSING = f"name the images: {USAGE} (see `invoke list`)"
"""The error of a task called without names (the same for every task)."""


@dataclass(frozen=True)
class Names:
    """A parsed NAMES argument: its words (image names and pseudo-names, in order, without
    repeats) and, with `affected`, the base ref."""

    words: tuple[str, ...]
    base_ref: str | None = None

    def has(self, word: str) -> bool:
        return word in self.words

    @property
    def images(self) -> tuple[str, ...]:
        """The image names given as such (not through a pseudo-name)."""
        return tuple(w for w in self.words if w not in PSEUDO_NAMES)

    @property
    def single(self) -> bool:
        """Whether the argument names exactly one image."""
        return len(self.words) == 1 and not set(self.words) & set(PSEUDO_NAMES)

    def without(self, word: str) -> Names:
        """The same argument without `word` (its words may become empty)."""
        words = tuple(w for w in self.words if w != word)
        return Names(words=words, base_ref=self.base_ref if AFFECTED in words else None)


def split(value: str | None) -> tuple[str, ...]:
    """The words of `NAME[,NAME...]` (blanks around a comma allowed), in order, without
    repeats; an empty argument or an empty word is a UserError."""
    text = (value or "").strip()
    if not text:
        raise UserError(MISSING)
    parts = [p.strip() for p in text.split(",")]
    if "" in parts:
        fixed = ",".join(p for p in parts if p)
        raise UserError(
            f"malformed image list '{text}': an empty name; write NAME[,NAME...] without "
            f"empty names{f' ({fixed})' if fixed else ''}"
        )
    return tuple(dict.fromkeys(parts))


def parse(
    value: str | None,
    *,
    known: Collection[str],
    base: str = "",
    base_env: str | None = None,
    takes: Collection[str] = SETS,
) -> Names:
    """Parse a NAMES argument of a task against the image names `known` (the graph's).

    `base`: the task's `--base` (only meaningful with `affected`). `base_env`: for a task
    that falls back on $KFIMAGES_BASE_REF (smoke), its value ("" when unset); None for the
    others. `takes`: the pseudo-names the task reads (every task: `all`, `affected`;
    manifest also `built`)."""
    words = split(value)
    for word in words:
        if word in PSEUDO_NAMES:
            _check_pseudo_name(word, known=known, takes=takes)
        elif word not in known:
            valid = ", ".join(sorted(known)) or "(none)"
            raise UserError(f"unknown image '{word}'; valid names: {valid} (see `invoke list`)")
    if AFFECTED not in words:
        if base:
            raise UserError(f"--base only goes with `affected` (e.g. affected --base {base})")
        return Names(words=words)
    base_ref = base or base_env or ""
    if not base_ref:
        also = f", or set ${BASE_REF}" if base_env is not None else ""
        raise UserError(f"`affected` needs a base ref: pass --base REF (e.g. origin/main){also}")
    return Names(words=words, base_ref=base_ref)


def _check_pseudo_name(word: str, *, known: Collection[str], takes: Collection[str]) -> None:
    if word in known:
        raise UserError(f"an image is called '{word}', which is also a pseudo-name; rename it")
    if word not in takes:
        raise UserError(f"`{word}` is not a set this task takes; name the images: {USAGE}")
