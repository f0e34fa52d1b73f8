"""The one grammar of NAMES (kfimages.names.parse): words, sets, the base ref, and the one-line
errors every names-taking task gives (their CLI: tests/unit/test_names_cli.py)."""

from __future__ import annotations

import pytest

from kfimages import names
from kfimages.errors import UserError
from kfimages.names import Names, parse

KNOWN = ("base", "jupyter", "pytorch.cpu")


def test_words_in_order_once() -> None:
    assert parse("jupyter", known=KNOWN) == Names(words=("jupyter",))
    assert parse("jupyter,base,jupyter", known=KNOWN).words == ("jupyter", "base")
    assert parse(" jupyter , pytorch.cpu ", known=KNOWN).words == ("jupyter", "pytorch.cpu")
    assert parse("all,jupyter", known=KNOWN).words == ("all", "jupyter")


def test_affected_takes_the_base_ref_from_base_else_the_environment() -> None:
    assert parse("affected", known=KNOWN, base="main") == Names(("affected",), "main")
    assert parse("affected", known=KNOWN, base_env="origin/main").base_ref == "origin/main"
    assert parse("affected", known=KNOWN, base="main", base_env="other").base_ref == "main"
    assert parse("jupyter", known=KNOWN, base_env="origin/main").base_ref is None


@pytest.mark.parametrize(
    ("value", "options", "error"),
    [
        (None, {}, names.MISSING),
        ("", {}, names.MISSING),
        ("  ", {}, names.MISSING),
        ("jupyter,,", {}, "malformed image list 'jupyter,,': an empty name; write NAME[,NAME...]"),
        (",jupyter", {}, "malformed image list ',jupyter'"),
        (",", {}, "malformed image list ','"),
        ("nope", {}, "unknown image 'nope'; valid names: base, jupyter, pytorch.cpu "
                     "(see `invoke list`)"),
        ("jupyter nope", {}, "unknown image 'jupyter nope'"),
        ("affected", {}, "`affected` needs a base ref: pass --base REF (e.g. origin/main)"),
        ("affected", {"base_env": ""}, "`affected` needs a base ref: pass --base REF "
                                       "(e.g. origin/main), or set $KFIMAGES_BASE_REF"),
        ("jupyter", {"base": "main"},
         "--base only goes with `affected` (e.g. affected --base main)"),
        ("built", {}, "`built` is not a set this task takes; name the images: NAME[,NAME...]"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(value: str | None, options: dict[str, str], error: str) -> None:
    with pytest.raises(UserError) as raised:
        parse(value, known=KNOWN, **options)
    assert str(raised.value).startswith(error)
    assert "\n" not in str(raised.value)


def test_every_error_says_what_to_write() -> None:
    assert names.MISSING == (
        "name the images: NAME[,NAME...], all, or affected --base REF (see `invoke list`)"
    )


def test_built_where_a_task_takes_it() -> None:
    takes = (*names.SETS, names.BUILT)
    parsed = parse("built,jupyter", known=KNOWN, takes=takes)
    assert parsed.has("built")
    assert parsed.images == ("jupyter",)
    assert parsed.without("built") == Names(("jupyter",))
    assert not parsed.single
    assert parse("jupyter", known=KNOWN).single


def test_an_image_called_like_a_pseudo_name() -> None:
    with pytest.raises(UserError, match="an image is called 'all', which is also a pseudo-name"):
        parse("all", known=(*KNOWN, "all"))


def test_the_image_name_rule() -> None:
    """Folder and variant names: what kfimages.repo.graph and `invoke new` accept."""
    assert names.NAME_RE.match("jupyter-scipy")
    assert names.NAME_RE.match("r2_d2")
    for bad in ("Jupyter", "-x", "_x", "a.b", "a b", ""):
        assert not names.NAME_RE.match(bad), bad
