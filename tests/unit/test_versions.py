"""Version order and the kind of a change (kfimages.ship.versions)."""

from __future__ import annotations

import pytest

from kfimages.ship.versions import change_kind, compare, split_debian


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("5.2.37-2", "5.2.37-2+b10"),
        ("2.41-12", "2.41-12+deb13u5"),
        ("1.0~rc1-1", "1.0-1"),  # ~ sorts before the end
        ("1.0-1", "1.0+dfsg-1"),
        ("1.0a-1", "1.0+-1"),  # letters before other characters
        ("9.9-9", "1:0.1-1"),  # the epoch first
        ("1.2-1", "1.10-1"),  # numbers, not text
        ("1.0-2", "1.0-10"),
        ("1.0", "1.0-0.1"),
        ("3.0.4", "3.0.4.1"),
    ],
)
def test_debian_order(older: str, newer: str) -> None:
    assert compare("deb", older, newer) == -1
    assert compare("deb", newer, older) == 1
    assert compare("deb", older, older) == 0


def test_debian_equal_versions_differing_in_leading_zeros() -> None:
    assert compare("deb", "1.01-1", "1.1-1") == 0


@pytest.mark.parametrize(
    ("ecosystem", "older", "newer"),
    [
        ("pypi", "4.6.5", "4.6.6"),
        ("pypi", "2.0.0rc1", "2.0.0"),
        ("pypi", "2.0.0.dev0", "2.0.0a1"),
        ("pypi", "2.0.0", "2.0.0.post1"),
        ("pypi", "2.11.0", "2.11.0+cu130"),
        ("pypi", "1.9", "1.10"),
        ("pypi", "2026.1.4", "1!0.1"),  # the epoch (numeric releases compared after it)
        ("npm", "1.2.3-beta.2", "1.2.3"),
        ("npm", "1.2.3-beta.2", "1.2.3-beta.10"),
        ("cran", "1.2-3", "1.2-10"),
        ("cran", "0.9.1", "1.0-0"),
    ],
)
def test_other_ecosystems_order(ecosystem: str, older: str, newer: str) -> None:
    assert compare(ecosystem, older, newer) == -1
    assert compare(ecosystem, newer, older) == 1


def test_trailing_zeros_do_not_make_a_version_newer() -> None:
    assert compare("pypi", "1.2", "1.2.0") == 0


@pytest.mark.parametrize(
    ("ecosystem", "old", "new", "kind"),
    [
        ("pypi", "4.6.5", "4.6.6", "patch"),
        ("pypi", "4.5.9", "4.6.0", "minor"),
        ("pypi", "3.9", "4.0", "major"),
        ("pypi", "1.2", "1.2.1", "patch"),
        ("pypi", "2.0.0rc1", "2.0.0", "patch"),
        ("npm", "0.15.2", "0.16.0", "minor"),
        ("cran", "1.2-3", "1.2-4", "patch"),
        ("cran", "1.2-3", "1.3-0", "minor"),
        ("deb", "5.2.37-2", "5.2.37-2+b10", "patch"),  # only the Debian revision
        ("deb", "8.14.1-2", "8.15.0-1", "minor"),
        ("deb", "2.41-12", "1:2.41-12", "major"),  # an epoch
        ("pypi", "2026.1", "1!0.1", "major"),
        ("deb", "3.13.5-2", "3.14.0-1", "minor"),
        ("deb", "12.4-1", "13.0-1", "major"),
    ],
)
def test_change_kind(ecosystem: str, old: str, new: str, kind: str) -> None:
    assert change_kind(ecosystem, old, new) == kind


def test_split_debian() -> None:
    assert split_debian("1:2.38-4+deb13u1") == (1, "2.38", "4+deb13u1")
    assert split_debian("2.38-1-2") == (0, "2.38-1", "2")
    assert split_debian("20240203") == (0, "20240203", "")
