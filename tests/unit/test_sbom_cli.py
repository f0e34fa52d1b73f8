"""`invoke sbom` and `invoke diff` on bad input: one line naming the problem and the fix, exit
2, before any image is read (no Docker needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.conftest import Repo
from tests.unit.invoke_cli import run_invoke


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("sbom", "nosuch"), "error: unknown image 'nosuch'"),
        (("sbom", "base", "--platform", "linux/s390x"), "error: unknown platform 'linux/s390x'"),
        (("sbom", ","), "error: malformed image list ','"),
        (("sbom",), "error: name the images: NAME[,NAME...], all, or affected --base REF"),
        (("diff", "{tmp}/absent.json", "{tmp}/x.json"), "error: OLD {tmp}/absent.json: no such "
         "SBOM file; pass a file written by `invoke sbom` or an image ref"),
        (("diff", "{tmp}/spdx.json", "{tmp}/spdx.json"), "error: {tmp}/spdx.json is not a "
         'CycloneDX JSON document (no "bomFormat": "CycloneDX"); pass an SBOM that `invoke '
         "sbom` wrote, or an image ref"),
        (("diff",), "error: name an image (invoke diff NAME) or two (invoke diff OLD NEW)"),
        (("diff", "nosuch"), "error: unknown image 'nosuch'"),
        (("diff", "base,jupyter"), "error: `invoke diff NAME` compares one image, not "
         "'base,jupyter'; for several use `invoke release-notes NAMES`"),
        (("diff", "all"), "error: `all` is not a set this task takes"),
        (("diff", "{tmp}/x.json", "{tmp}/y.json", "--registry", "r"), "error: --registry and "
         "--platform go with `invoke diff NAME` only"),
        (("release-notes",), "error: name the images: NAME[,NAME...]"),
        (("release-notes", "base,nosuch"), "error: unknown image 'nosuch'"),
        (("release-notes", "base", "--platform", "linux/s390x"), "error: unknown platform"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    chain: Repo, tmp_path: Path, args: tuple[str, ...], error: str
) -> None:
    (tmp_path / "spdx.json").write_text('{"spdxVersion": "SPDX-2.3"}', encoding="utf-8")
    done = run_invoke(chain, *(a.format(tmp=tmp_path) for a in args))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(error.format(tmp=tmp_path)), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_diff_help_is_help_not_a_name(chain: Repo) -> None:
    done = run_invoke(chain, "diff", "--help")
    assert done.returncode == 0, done.stderr
    assert "invoke diff NAME [--markdown]      (NAME:previous against NAME:latest)" in done.stdout
