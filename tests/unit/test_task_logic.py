"""What tasks.py used to compute itself and now calls: the OS image `invoke bootstrap` makes
(kfimages.build.bootstrap.os_image_of), the images and refs of `invoke manifest`
(kfimages.ship.manifest.local_refs), the record files of `invoke lists`
(kfimages.ship.push.record_files). No Docker: the local images are an inspector's answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kfimages import names, platforms
from kfimages.build.bootstrap import os_image_of
from kfimages.errors import UserError
from kfimages.ship.manifest import local_refs
from kfimages.ship.push import record_files
from tests.unit.conftest import Repo

HOST = platforms.host_platform()
OTHER = next(p for p in platforms.SUPPORTED if p != HOST)
ARCH = platforms.arch(OTHER)


def test_bootstrap_makes_the_roots_parent_or_the_one_given(chain: Repo) -> None:
    graph = chain.graph()
    assert os_image_of(graph, platform=HOST) == "debian:trixie-slim"
    assert os_image_of(graph, platform=OTHER) == f"debian:trixie-slim-{ARCH}"
    assert os_image_of(graph, given="debian:forky-slim", platform=HOST) == "debian:forky-slim"
    chain.image("other", "debian:bookworm-slim")
    with pytest.raises(UserError, match=r"several OS images in use \(debian:bookworm-slim, "):
        os_image_of(chain.graph(), platform=HOST)


def _manifest(chain: Repo, value: str, *, local: set[str], platform: str = HOST) -> Any:
    graph = chain.graph()
    takes = (*names.SETS, names.BUILT)
    parsed = names.parse(value, known=graph.images, takes=takes)
    return local_refs(
        graph, parsed, registry="reg", tag="t1", platform=platform,
        inspect=lambda ref: {"Id": ref} if ref in local else None,
    )  # fmt: skip


def test_manifest_of_named_images_parents_first(chain: Repo) -> None:
    refs, skipped = _manifest(chain, "jupyter,base", local=set())
    assert refs == {"base": "reg/base:t1", "jupyter": "reg/jupyter:t1"}
    assert skipped == [], "a named image must exist: read_manifest says how to build it"


def test_manifest_built_takes_the_local_images_and_names_the_others(chain: Repo) -> None:
    refs, skipped = _manifest(chain, "built", local={"reg/base:t1", "reg/pytorch-cpu:t1"})
    assert refs == {"base": "reg/base:t1", "pytorch.cpu": "reg/pytorch-cpu:t1"}
    assert skipped == ["codeserver", "jupyter", "pytorch.cuda"]
    refs, skipped = _manifest(chain, "codeserver,built", local={"reg/base:t1"})
    assert list(refs) == ["base", "codeserver"]
    assert "codeserver" not in skipped


def test_manifest_on_another_platform_reads_its_suffixed_refs(chain: Repo) -> None:
    refs, skipped = _manifest(chain, "built", local={f"reg/base:t1-{ARCH}"}, platform=OTHER)
    assert refs == {f"base@{ARCH}": f"reg/base:t1-{ARCH}"}
    assert f"jupyter@{ARCH}" in skipped


def test_lists_reads_files_and_folders_of_records(tmp_path: Path) -> None:
    (tmp_path / "pushed").mkdir()
    for name in ("b.json", "a.json", "notes.txt"):
        (tmp_path / "pushed" / name).write_text("[]\n")
    one = tmp_path / "one.json"
    one.write_text("[]\n")
    assert record_files(f"{tmp_path / 'pushed'},{one}") == [
        tmp_path / "pushed" / "a.json", tmp_path / "pushed" / "b.json", one,
    ]  # fmt: skip
    with pytest.raises(UserError, match=r"push record .*missing\.json does not exist"):
        record_files(str(tmp_path / "missing.json"))
