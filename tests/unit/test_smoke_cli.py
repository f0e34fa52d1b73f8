"""`invoke smoke` on the command line, as `nox -s smoke` and CI call it (no Docker needed:
these cases stop before building)."""

from __future__ import annotations

import pytest

from tests.unit.conftest import Repo
from tests.unit.invoke_cli import run_invoke


def test_affected_takes_the_base_ref_from_the_environment(
    chain: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI runs `nox -s smoke` (`invoke smoke affected`) with KFIMAGES_BASE_REF set."""
    monkeypatch.setenv("KFIMAGES_BASE_REF", "HEAD")
    done = run_invoke(chain, "smoke", "affected")
    assert done.returncode == 0, done.stderr
    assert "no image affected since HEAD: nothing to test" in done.stdout


def test_affected_without_a_base_ref_says_what_to_give(
    chain: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KFIMAGES_BASE_REF", raising=False)
    done = run_invoke(chain, "smoke", "affected")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: `affected` needs a base ref: pass --base REF (e.g. origin/main), "
        "or set $KFIMAGES_BASE_REF"
    )


def test_an_unknown_name_is_one_line(chain: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KFIMAGES_BASE_REF", raising=False)
    done = run_invoke(chain, "smoke", "nope")
    assert done.returncode == 2
    assert done.stderr.startswith("error: unknown image 'nope'; valid names: base, codeserver")
    assert len(done.stderr.strip().splitlines()) == 1
