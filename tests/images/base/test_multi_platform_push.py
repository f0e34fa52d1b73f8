"""The real base through the multi-platform push: built for linux/amd64 and linux/arm64 (the
latter under QEMU) and pushed with `--push` to a real local registry, where each tag is a
manifest list of both platforms. Runs in the emulated run (`invoke smoke base --platform
linux/arm64`, which CI does when base is affected); the mechanics on tiny images are in
tests/integration/test_ship.py."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kfimages.build.plan import BuildRequest
from kfimages.build.report import EXIT_OK
from kfimages.build.run import build_images
from kfimages.repo.graph import load_graph
from kfimages.settings import Settings
from kfimages.ship.push import publish
from tests.harness.registry import Registry, RegistryProcess
from tests.images.conftest import REPO_ROOT, emulated

pytestmark = [pytest.mark.emulated, pytest.mark.folder_image_only]

BOTH = ("linux/amd64", "linux/arm64")
NAMESPACE = "kfnb-smoke-push"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    process = RegistryProcess(tmp_path)
    process.start()
    try:
        yield Registry(host=process.host)
    finally:
        process.stop()
        listed = subprocess.run(
            ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}",
             "--filter", f"reference={process.host}/{NAMESPACE}/*"],
            capture_output=True, text=True, check=False,
        ).stdout.split()  # fmt: skip
        if listed:
            subprocess.run(["docker", "image", "rm", *listed], capture_output=True, check=False)


def test_base_for_two_platforms_is_one_manifest_list_per_tag(
    image_ref_under_test: str, registry: Registry, pytestconfig: pytest.Config
) -> None:
    if not emulated(pytestconfig):
        pytest.skip("runs with --platform linux/arm64 (the emulated run), where QEMU is set up")
    out = io.StringIO()
    report = build_images(
        load_graph(REPO_ROOT),
        ["base"],
        BuildRequest(
            registry=f"{registry.host}/{NAMESPACE}",
            tags=("sha-000000000000", "smoke"),
            push=True,
            allow_dirty=True,  # a throwaway registry: a work tree with changes may be tested
            platforms=BOTH,
        ),
        settings=Settings.from_environ(),
        stream=out,
        publish=publish,
    )
    print(out.getvalue()[-3000:])
    assert report.exit_code == EXIT_OK, [(r.name, r.reason) for r in report.results]
    repository = f"{NAMESPACE}/base"
    for tag in ("sha-000000000000", "smoke"):
        assert registry.platforms(repository, tag) == list(BOTH)
        tags = registry.tags(repository)
        assert {f"{tag}-amd64", f"{tag}-arm64"} <= set(tags), tags
