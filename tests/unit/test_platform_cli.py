"""--platform on the command line and in the smoke selection: bad input is one line and exit
2 before anything is built (no Docker needed); `emulated_smoke` picks what CI tests under
QEMU, on a throwaway git repository."""

from __future__ import annotations

import pytest

from kfimages.errors import UserError
from kfimages.verify import smoke
from tests.unit.conftest import Repo
from tests.unit.invoke_cli import run_invoke


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ("build", "base", "--platform", "linux/s390x"),
            "error: unknown platform 'linux/s390x'; use one or more of linux/amd64, linux/arm64",
        ),
        (
            ("build", "base", "--platform", "linux/amd64,linux/arm64", "--push"),
            "error: --push needs a registry: pass --registry HOST[:PORT]/NAMESPACE",
        ),
        (
            ("smoke", "base", "--platform", "linux/amd64,linux/arm64"),
            "error: smoke tests run on one platform at a time, not linux/amd64, linux/arm64",
        ),
        (
            ("bake", "base", "--platform", "windows/amd64"),
            "error: unknown platform 'windows/amd64'",
        ),
    ],
)
def test_bad_platform_input_is_one_line_and_exit_2(
    chain: Repo, args: tuple[str, ...], error: str
) -> None:
    done = run_invoke(chain, *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(error), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_emulated_smoke_picks_the_affected_images_that_list_the_platform(chain: Repo) -> None:
    chain.write("base/image.yaml", "emulated_smoke: [linux/arm64]\n")
    chain.write("jupyter/image.yaml", "variants: {}\n")
    since = chain.commit("opt in")
    chain.append("base/Dockerfile")
    graph = chain.graph()
    everything = smoke.select(graph, names=[], base_ref=since, platform="linux/amd64")
    assert everything == ["base", "codeserver", "jupyter", "pytorch.cpu", "pytorch.cuda"]
    assert smoke.select(graph, names=[], base_ref=since, platform="linux/arm64") == ["base"]
    # Names are taken as given, on any platform.
    assert smoke.select(graph, names=["jupyter"], base_ref="", platform="linux/arm64") == [
        "jupyter"
    ]


def test_emulated_smoke_must_name_known_platforms(chain: Repo) -> None:
    chain.write("base/image.yaml", "emulated_smoke: [linux/riscv64]\n")
    with pytest.raises(UserError, match="emulated_smoke must be a list of platforms"):
        chain.graph()
