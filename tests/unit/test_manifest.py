"""The build manifest (kfimages.ship.manifest): parsing the probe, the Markdown."""

from __future__ import annotations

from typing import Any

import pytest

from kfimages.errors import UserError
from kfimages.ship.manifest import read_manifest, render_markdown, split_sections

PROBE_OUTPUT = """\
@@kfimages-section os-release
PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
VERSION_ID="13"
@@kfimages-section debian
bash\t5.2.37-2
apt\t3.0.4
@@kfimages-section python
jupyterlab\t4.6.6
Jinja2\t3.1.6
jupyterlab\t4.6.6
@@kfimages-section code-server
4.139.1 abcdef with Code 1.106.0
@@kfimages-section code-server-extensions
ms-python.python\t2026.1.0
@@kfimages-section r
@@kfimages-section end
"""

INSPECT: dict[str, Any] = {
    "Id": "sha256:abc",
    "Os": "linux",
    "Architecture": "amd64",
    "RepoDigests": ["reg/ns/jupyter@sha256:def"],
    "Size": 539_000_000,
    "Created": "2026-11-27T20:59:22Z",
    "Config": {"Labels": {"io.kfimages.inputs": "123", "a|b": "x"}},
}


def test_manifest_from_inspect_and_probe() -> None:
    m = read_manifest(
        name="jupyter",
        ref="reg/ns/jupyter:t1",
        run=lambda ref, script: (0, PROBE_OUTPUT),
        inspect=lambda ref: INSPECT,
    )
    assert m.platform == "linux/amd64"
    assert m.os_release["PRETTY_NAME"] == "Debian GNU/Linux 13 (trixie)"
    assert m.debian == (("apt", "3.0.4"), ("bash", "5.2.37-2"))
    assert m.python == (("Jinja2", "3.1.6"), ("jupyterlab", "4.6.6")), "sorted, unique"
    assert m.code_server == "4.139.1"
    assert m.extensions == (("ms-python.python", "2026.1.0"),)
    assert m.r == ()
    text = render_markdown(m)
    assert text.startswith("# Build manifest: jupyter\n")
    row = "| linux/amd64 | `reg/ns/jupyter:t1` | `sha256:abc` | `reg/ns/jupyter@sha256:def` |"
    assert row in text
    assert "## Python packages (2)" in text
    assert "| jupyterlab | 4.6.6 |" in text
    assert "- OS: Debian GNU/Linux 13 (trixie)" in text
    assert "code-server 4.139.1" in text
    assert "## R packages\n\n_no R_" in text
    assert "| a\\|b | x |" in text, "pipes in cells are escaped"


def test_missing_image_and_failed_probe_are_errors() -> None:
    with pytest.raises(UserError, match="no local image reg/a:t1; build it first"):
        read_manifest(name="a", ref="reg/a:t1", run=lambda r, s: (0, ""), inspect=lambda r: None)
    with pytest.raises(UserError, match=r"the manifest probe failed in reg/a:t1 \(exit 127\)"):
        read_manifest(name="a", ref="reg/a:t1", run=lambda r, s: (127, "sh: not found"),
                      inspect=lambda r: INSPECT)  # fmt: skip


def test_split_sections_ignores_text_before_the_first_marker() -> None:
    assert split_sections("noise\n@@kfimages-section a\nx\n\n@@kfimages-section b\n") == {
        "a": ["x"],
        "b": [],
    }
