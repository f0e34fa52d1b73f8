"""image.yaml that is not UTF-8 or gives a key twice: one line naming the file and the fix
(kfimages.repo.config), from the loader and from the invoke CLI (exit 2, no traceback)."""

from __future__ import annotations

import pytest

from kfimages.errors import UserError
from tests.unit.conftest import Repo
from tests.unit.invoke_cli import run_invoke


def _problem(repo: Repo, raw: bytes) -> str:
    repo.image("f", "debian:trixie-slim", variant="a")
    (repo.root / "f" / "image.yaml").write_bytes(raw)
    with pytest.raises(UserError) as err:
        repo.graph()
    message = str(err.value)
    assert message.startswith(f"{repo.root / 'f' / 'image.yaml'}: ")
    assert "\n" not in message
    return message


def test_image_yaml_that_is_not_utf8_is_one_line(repo: Repo) -> None:
    message = _problem(repo, b"build_args:\n  NAME: caf\xe9\n")
    assert "is not UTF-8 text (byte 0xe9 on line 2); save it as UTF-8" in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("size_budget_mb: 100\nsize_budget_mb: 200\n",
         "key 'size_budget_mb' is given twice in one mapping (lines 1 and 2)"),
        ("build_args:\n  A: '1'\n  B: '2'\n  A: '3'\n",
         "key 'A' is given twice in one mapping (lines 2 and 4)"),
        ("variants:\n  a: {size_budget_mb: 1, size_budget_mb: 2}\n",
         "key 'size_budget_mb' is given twice in one mapping (lines 2 and 2)"),
    ],
)  # fmt: skip
def test_a_key_given_twice_is_refused(repo: Repo, text: str, problem: str) -> None:
    message = _problem(repo, text.encode())
    assert problem in message
    assert message.endswith("keep one of them (see docs/build-system.md, 'image.yaml')")


def test_the_same_key_in_different_mappings_and_merge_keys_are_fine(repo: Repo) -> None:
    repo.image("f", "debian:trixie-slim", variant="a")
    repo.write(
        "f/image.yaml",
        "build_args: &common\n  A: '1'\n  B: '2'\n"
        "variants:\n  a:\n    build_args:\n      <<: *common\n      A: '9'\n",
    )
    assert dict(repo.graph().get("f.a").config.build_args) == {"A": "9", "B": "2"}


def test_the_cli_says_it_in_one_line_with_exit_2(chain: Repo) -> None:
    (chain.root / "base" / "image.yaml").write_bytes(b"paths: [caf\xe9]\n")
    done = run_invoke(chain, "list")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: {chain.root / 'base' / 'image.yaml'}: is not UTF-8 text (byte 0xe9 on line 1); "
        "save it as UTF-8 (see docs/build-system.md, 'image.yaml')"
    ]
