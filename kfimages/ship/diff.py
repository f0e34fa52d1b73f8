"""`invoke diff OLD NEW`: what changed between two images (two refs of the local store, two
SBOM files of `invoke sbom`, or one of each), as a text table or as Markdown release notes.

Packages are matched by ecosystem and name (a Python name as PEP 503 normalises it): added,
removed, upgraded or downgraded with the kind of change (major, minor, patch:
kfimages.ship.versions). A name with several versions in one image (a Node tree's copies,
two Python environments) compares its set of versions: the versions that stay are no change,
one version replaced by one other is an upgrade or a downgrade, more are `changed`. The size
and the content tags (`python-3.13.5` -> `python-3.13.6`) are compared where both sides
state them (refs always do; an SBOM of `invoke sbom` does too).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cmp_to_key, partial
from pathlib import Path

from kfimages import engine
from kfimages.build.taggers import TAGGERS
from kfimages.errors import UserError
from kfimages.ship.packages import DEB, PYPI, Package, pep503_name
from kfimages.ship.sbom import ImageFacts, Inventory, read_document, read_image
from kfimages.ship.versions import change_kind, compare

UPGRADED, DOWNGRADED, CHANGED, ADDED, REMOVED = (
    "upgraded", "downgraded", "changed", "added", "removed",
)  # fmt: skip
_ORDER = {UPGRADED: 0, DOWNGRADED: 1, CHANGED: 2, ADDED: 3, REMOVED: 4}
_ECOSYSTEMS = {DEB: 0, PYPI: 1, "npm": 2, "cran": 3}
_HEADERS = ("change", "type", "package", "old", "new", "kind")


@dataclass(frozen=True)
class Change:
    """One package that differs: its versions on each side (", "-joined; "" for none)."""

    change: str
    ecosystem: str
    name: str
    old: str
    new: str
    kind: str = ""

    def row(self) -> tuple[str, ...]:
        return (self.change, self.ecosystem, self.name, self.old, self.new, self.kind)


@dataclass(frozen=True)
class ImageDiff:
    """What changed from one image to the other."""

    old: ImageFacts
    new: ImageFacts
    changes: tuple[Change, ...]
    tags: tuple[tuple[str, str], ...]
    """Content tags that differ, per tagger: (old tag or "", new tag or "")."""
    tags_compared: bool = False
    """Whether both sides state their content tags."""

    def counts(self) -> dict[str, int]:
        return dict(Counter(c.change for c in self.changes))


def _key(package: Package) -> tuple[str, str]:
    name = pep503_name(package.name) if package.ecosystem == PYPI else package.name
    return package.ecosystem, name


def _version_list(versions: Counter[str], ecosystem: str) -> list[str]:
    """The versions (with repeats), oldest first."""
    return sorted(versions.elements(), key=cmp_to_key(partial(compare, ecosystem)))


def package_changes(old: Sequence[Package], new: Sequence[Package]) -> list[Change]:
    """Every package that differs between two package lists, in report order (upgraded,
    downgraded, changed, added, removed; then ecosystem and name)."""
    before: dict[tuple[str, str], Counter[str]] = {}
    after: dict[tuple[str, str], Counter[str]] = {}
    names: dict[tuple[str, str], str] = {}
    for side, packages in ((before, old), (after, new)):
        for p in packages:
            side.setdefault(_key(p), Counter())[p.version] += 1
            names.setdefault(_key(p), p.name)
    changes = []
    for key in set(before) | set(after):
        ecosystem = key[0]
        was, now = before.get(key, Counter()), after.get(key, Counter())
        gone, came = was - now, now - was
        if not gone and not came:
            continue
        old_text = ", ".join(_version_list(gone, ecosystem))
        new_text = ", ".join(_version_list(came, ecosystem))
        if not was or not gone:
            change, kind = ADDED, ""
        elif not now or not came:
            change, kind = REMOVED, ""
        elif gone.total() == 1 and came.total() == 1:
            order = compare(ecosystem, old_text, new_text)
            change = UPGRADED if order < 0 else DOWNGRADED if order > 0 else CHANGED
            kind = change_kind(ecosystem, old_text, new_text)
        else:
            change, kind = CHANGED, ""
        changes.append(Change(change, ecosystem, names[key], old_text, new_text, kind))
    return sorted(changes, key=lambda c: (_ORDER[c.change], _ECOSYSTEMS.get(c.ecosystem, 9),
                                          c.name.lower()))  # fmt: skip


def _tagger_of(tag: str) -> str:
    return next((t.name for t in TAGGERS.values() if t.owns(tag)), tag)


def tag_changes(old: Sequence[str], new: Sequence[str]) -> list[tuple[str, str]]:
    """The content tags that differ, matched by the tagger that gives them."""
    before = {_tagger_of(t): t for t in old}
    after = {_tagger_of(t): t for t in new}
    order = list(TAGGERS)
    keys = sorted(set(before) | set(after), key=lambda k: (order.index(k) if k in order else 99, k))
    return [(before.get(k, ""), after.get(k, "")) for k in keys if before.get(k) != after.get(k)]


def diff(old: Inventory, new: Inventory) -> ImageDiff:
    """The differences between two inventories."""
    has_tags = bool(old.image.content_tags and new.image.content_tags)
    return ImageDiff(
        old=old.image,
        new=new.image,
        changes=tuple(package_changes(old.packages, new.packages)),
        tags=tuple(tag_changes(old.image.content_tags, new.image.content_tags)) if has_tags else (),
        tags_compared=has_tags,
    )


def load(arg: str, *, which: str) -> Inventory:
    """One side of `invoke diff`: an SBOM file if `arg` names one, else a local image ref."""
    path = Path(arg)
    if path.is_file():
        return read_document(path)
    if arg.endswith(".json") or path.is_dir():
        raise UserError(f"{which} {arg}: no such SBOM file; pass a file written by "
                        "`invoke sbom` or an image ref")  # fmt: skip
    engine.check_docker()
    if engine.inspect_image(arg) is None:
        raise UserError(f"{which} {arg}: no such image in the local store and no such file; "
                        "pass a ref `docker image ls` lists (build or pull it first) or an "
                        "SBOM file written by `invoke sbom`")  # fmt: skip
    return read_image(arg)


def _summary(counts: dict[str, int]) -> str:
    parts = [f"{counts[c]} {c}" for c in _ORDER if counts.get(c)]
    return ", ".join(parts) if parts else "no change"


def _size(facts: ImageFacts) -> str:
    return f"{(facts.size or 0) / 1e6:.1f} MB"


def size_change(d: ImageDiff) -> str:
    """`538.9 MB -> 541.0 MB (+2.1 MB)`, or "" when a side does not state its size."""
    if d.old.size is None or d.new.size is None:
        return ""
    delta = (d.new.size - d.old.size) / 1e6
    return f"{_size(d.old)} -> {_size(d.new)} ({delta:+.1f} MB)"


def _tag_text(pair: tuple[str, str], *, quote: str = "") -> str:
    old, new = (f"{quote}{t}{quote}" if t else "(none)" for t in pair)
    return f"{old} -> {new}"


def _describe(facts: ImageFacts) -> str:
    parts = [facts.ref, facts.image_id[:19], facts.platform]
    return "  ".join(p for p in parts if p)


def text_table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> list[str]:
    """Rows as left-aligned columns under a header line."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in [headers, *rows]]  # fmt: skip


def render_text(d: ImageDiff) -> str:
    """The diff as text: the two images, size, content tags, then one table row per change."""
    lines = [f"old: {_describe(d.old)}", f"new: {_describe(d.new)}"]
    if size := size_change(d):
        lines.append(f"size: {size}")
    if d.tags_compared:
        lines.append("content tags: " + (", ".join(map(_tag_text, d.tags)) or "no change"))
    lines.append(f"packages: {_summary(d.counts())}")
    if d.changes:
        lines += ["", *text_table([c.row() for c in d.changes], _HEADERS)]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return [*lines, *("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows), ""]


def render_markdown(d: ImageDiff) -> str:
    """The diff as Markdown release notes: a summary list, then a table per kind of change."""
    old_id = f" (`{d.old.image_id[:19]}`)" if d.old.image_id else ""
    new_id = f" (`{d.new.image_id[:19]}`)" if d.new.image_id else ""
    platform = f", {d.new.platform}" if d.new.platform else ""
    intro = f"Changes from `{d.old.ref}`{old_id} to `{d.new.ref}`{new_id}{platform}."
    lines = [f"## `{d.new.ref}`", "", intro, ""]
    if size := size_change(d):
        lines.append(f"- Size: {size.replace('->', '→')}")
    if d.tags_compared:
        shown = ", ".join(_tag_text(t, quote="`").replace("->", "→") for t in d.tags)
        lines.append(f"- Content tags: {shown or 'no change'}")
    lines += [f"- Packages: {_summary(d.counts())}", ""]
    for change in _ORDER:
        chosen = [c for c in d.changes if c.change == change]
        if not chosen:
            continue
        lines += [f"### {change.capitalize()} ({len(chosen)})", ""]
        if change == ADDED:
            lines += _md_table(("type", "package", "version"),
                               [(c.ecosystem, c.name, c.new) for c in chosen])  # fmt: skip
        elif change == REMOVED:
            lines += _md_table(("type", "package", "version"),
                               [(c.ecosystem, c.name, c.old) for c in chosen])  # fmt: skip
        else:
            lines += _md_table(("type", "package", "old", "new", "kind"),
                               [c.row()[1:] for c in chosen])  # fmt: skip
    return "\n".join(lines).rstrip() + "\n"
