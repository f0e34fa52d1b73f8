"""Comparing two versions of one package: which is newer, and the kind of the change
(major, minor or patch).

Debian versions (`[epoch:]upstream[-revision]`) compare as dpkg compares them (`~` sorts
before everything, letters before other characters); other ecosystems' versions (PyPI, npm,
CRAN) compare by their epoch (PEP 440's `1!`), their numeric release (`1.2` = `1.2.0`), then
pre-releases (`rc1`, `-beta.2`, `.dev0`) before the release and other suffixes (`.post1`,
`+local`) after it. The kind is where the numeric releases first differ: an epoch or the 1st
component major, the 2nd minor, any later one patch; a change of only a suffix or a Debian
revision (`2.41-5` -> `2.41-5+deb13u1`) counts as patch.
"""

from __future__ import annotations

import re
from itertools import zip_longest

DEB = "deb"
CRAN = "cran"
MAJOR, MINOR, PATCH = "major", "minor", "patch"

_DIGITS = "0123456789"
_PRE_RELEASE = re.compile(r"^[-._]?(?:a|alpha|b|beta|c|rc|pre|preview|dev)(?![a-z])", re.I)
_NATURAL = re.compile(r"\d+|\D+")

Key = tuple[object, ...]


def _order(char: str) -> int:
    """dpkg's weight of a non-digit character (`~` lowest, letters, then the rest)."""
    if char == "~":
        return -1
    if char.isascii() and char.isalpha():
        return ord(char)
    return ord(char) + 256


def dpkg_part_compare(a: str, b: str) -> int:
    """dpkg's comparison of two upstream versions or two revisions: <0, 0 or >0."""
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and a[i] not in _DIGITS) or (j < len(b) and b[j] not in _DIGITS):
            ac = _order(a[i]) if i < len(a) and a[i] not in _DIGITS else 0
            bc = _order(b[j]) if j < len(b) and b[j] not in _DIGITS else 0
            if ac != bc:
                return ac - bc
            i, j = i + 1, j + 1
        start_a, start_b = i, j
        while i < len(a) and a[i] in _DIGITS:
            i += 1
        while j < len(b) and b[j] in _DIGITS:
            j += 1
        number_a, number_b = int(a[start_a:i] or 0), int(b[start_b:j] or 0)
        if number_a != number_b:
            return -1 if number_a < number_b else 1
    return 0


def split_debian(version: str) -> tuple[int, str, str]:
    """`1:2.38-4+deb13u1` -> (1, "2.38", "4+deb13u1"); no epoch 0, no revision ""."""
    epoch, sep, rest = version.partition(":")
    if not sep or not epoch.isdigit():
        epoch, rest = "0", version
    upstream, sep, revision = rest.rpartition("-")
    if not sep:
        upstream, revision = rest, ""
    return int(epoch), upstream, revision


def _debian_compare(a: str, b: str) -> int:
    epoch_a, upstream_a, revision_a = split_debian(a)
    epoch_b, upstream_b, revision_b = split_debian(b)
    if epoch_a != epoch_b:
        return -1 if epoch_a < epoch_b else 1
    return dpkg_part_compare(upstream_a, upstream_b) or dpkg_part_compare(revision_a, revision_b)


def release(ecosystem: str, version: str) -> tuple[tuple[int, ...], str]:
    """The numeric release of a version and what follows it: `1.2.3rc1` -> ((1, 2, 3), "rc1")
    (a Debian version: its upstream part; CRAN's `1.2-3` has three components)."""
    text = split_debian(version)[1] if ecosystem == DEB else version.strip()
    text = text.lower().removeprefix("v")
    if ecosystem != DEB:
        text = text.split("!", 1)[-1]  # a PEP 440 epoch
    separators = "[.-]" if ecosystem == CRAN else r"\."
    match = re.match(rf"\d+(?:{separators}\d+)*", text)
    if match is None:
        return (), text
    numbers = tuple(int(n) for n in re.split(separators, match.group(0)))
    return numbers, text[match.end() :]


def _natural(text: str) -> Key:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _NATURAL.findall(text))


def epoch(ecosystem: str, version: str) -> int:
    """The epoch of a version: Debian's `1:`, PEP 440's `1!`; 0 without one."""
    if ecosystem == DEB:
        return split_debian(version)[0]
    head, sep, _ = version.partition("!")
    return int(head) if sep and head.strip().isdigit() else 0


def _generic_key(ecosystem: str, version: str) -> Key:
    numbers, rest = release(ecosystem, version)
    trimmed = list(numbers)
    while len(trimmed) > 1 and trimmed[-1] == 0:
        trimmed.pop()
    phase = 1 if not rest else 0 if _PRE_RELEASE.match(rest) else 2
    return (epoch(ecosystem, version), tuple(trimmed), phase, _natural(rest))


def compare(ecosystem: str, a: str, b: str) -> int:
    """-1, 0 or 1 as version `a` of a package of `ecosystem` is older, the same or newer
    than `b`."""
    if ecosystem == DEB:
        result = _debian_compare(a, b)
    else:
        key_a, key_b = _generic_key(ecosystem, a), _generic_key(ecosystem, b)
        result = 0 if key_a == key_b else -1 if key_a < key_b else 1
    return (result > 0) - (result < 0)


def change_kind(ecosystem: str, old: str, new: str) -> str:
    """major, minor or patch: where the numeric releases of `old` and `new` first differ."""
    if epoch(ecosystem, old) != epoch(ecosystem, new):
        return MAJOR
    pairs = zip_longest(release(ecosystem, old)[0], release(ecosystem, new)[0], fillvalue=0)
    for index, (a, b) in enumerate(pairs):
        if a != b:
            return (MAJOR, MINOR)[index] if index < 2 else PATCH
    return PATCH


def is_pre_release(ecosystem: str, version: str) -> bool:
    """Whether a version is a pre-release (`1.2.0rc1`, `2.0.0-beta.2`, `1.0.dev0`)."""
    return bool(_PRE_RELEASE.match(release(ecosystem, version)[1]))
