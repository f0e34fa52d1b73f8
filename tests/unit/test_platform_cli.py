"""--platform on the command line and in the smoke selection: bad input is one line and exit
2 before anything is built (no Docker needed); `emulated_smoke` picks what CI tests under
QEMU, on a throwaway git repository."""

from __future__ import annotations

import pytest

from kfimages import platforms
from kfimages.errors import UserError
from kfimages.names import parse
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


def test_emulated_smoke_picks_the_images_of_a_set_that_list_the_platform(chain: Repo) -> None:
    host = platforms.host_platform()
    other = next(p for p in platforms.SUPPORTED if p != host)
    chain.write("base/image.yaml", f"emulated_smoke: [{other}]\n")
    chain.write("jupyter/image.yaml", "variants: {}\n")
    since = chain.commit("opt in")
    chain.append("base/Dockerfile")
    graph = chain.graph()

    def legs(value: str, platform: str = "") -> list[tuple[str, tuple[str, ...]]]:
        names = parse(value, known=graph.images, base=since if "affected" in value else "")
        return [(leg.platform, leg.names) for leg in smoke.legs(graph, names, platform=platform)]

    everything = ("base", "codeserver", "jupyter", "pytorch.cpu", "pytorch.cuda")
    assert legs("affected", host) == [(host, everything)]
    assert legs("affected", other) == [(other, ("base",))]
    # Without --platform: the host's, then each other platform the images opt into (what
    # CI's `nox -s smoke` runs); `all` as `affected`.
    assert legs("affected") == [(host, everything), (other, ("base",))]
    assert legs("all") == [(host, everything), (other, ("base",))]
    # Names are taken as given on the platform asked for; without one, on the host's only.
    assert legs("jupyter", other) == [(other, ("jupyter",))]
    assert legs("jupyter,affected", other) == [(other, ("jupyter", "base"))]
    assert legs("jupyter") == [(host, ("jupyter",))]
    assert legs("base") == [(host, ("base",))]


def test_emulated_smoke_must_name_known_platforms(chain: Repo) -> None:
    chain.write("base/image.yaml", "emulated_smoke: [linux/riscv64]\n")
    with pytest.raises(UserError, match="emulated_smoke must be a list of platforms"):
        chain.graph()


def _lock(*wheels: str) -> str:
    return (
        "numpy==2.3.0 \\\n    --hash=sha256:"
        + "a" * 64
        + "\n"
        + "".join(f"# wheel: numpy==2.3.0 {w}\n" for w in wheels)
    )


def test_a_lock_without_a_wheel_of_the_platform_stops_the_plan(chain: Repo) -> None:
    """Before anything builds (a dry run too): one line naming the lock, the package, the
    platform and the fix, exit 2."""
    chain.write("pytorch/requirements.in", "numpy==2.3.0\n")
    chain.write(
        "pytorch/requirements.lock.txt", _lock("numpy-2.3.0-cp313-cp313-manylinux_2_28_x86_64.whl")
    )
    done = run_invoke(chain, "build", "pytorch.cpu", "--platform", "linux/arm64", "--dry-run")
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "error: pytorch/requirements.in has no lock for linux/arm64 "
        "(pytorch/requirements.linux-arm64.lock.txt); run: invoke lock\n"
    )
    chain.write(
        "pytorch/requirements.linux-arm64.lock.txt",
        _lock("numpy-2.3.0-cp313-cp313-manylinux_2_28_x86_64.whl"),
    )
    done = run_invoke(chain, "build", "pytorch.cpu", "--platform", "linux/arm64", "--dry-run")
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "error: pytorch/requirements.linux-arm64.lock.txt: numpy==2.3.0 has no wheel for "
        "linux/arm64 (aarch64-manylinux_2_28); pin a version with one in "
        "pytorch/requirements.in, then run: invoke lock\n"
    )
    chain.write(
        "pytorch/requirements.linux-arm64.lock.txt",
        _lock("numpy-2.3.0-cp313-cp313-manylinux_2_28_aarch64.whl"),
    )
    done = run_invoke(chain, "build", "pytorch.cpu", "--platform", "linux/arm64", "--dry-run")
    assert "no wheel" not in done.stderr, done.stderr
    assert "no lock" not in done.stderr, done.stderr
