"""`invoke smoke NAMES --dry-run` against the real engine (as `build --dry-run`, the plan reads
it: images to reuse, the OS image): per platform the build plan and the exact pytest
command lines, and no image built, tagged or run."""

from __future__ import annotations

import shlex
import sys

from kfimages import platforms
from tests.integration.conftest import Repo, docker

HOST = platforms.host_platform()
OTHER = next(p for p in platforms.SUPPORTED if p != HOST)


def _pytest(name: str, *extra: str, suite: str = "", workers: int = 2) -> str:
    junit = f"--junitxml=artifacts/smoke/{suite or name}.xml"
    spread = ["-n", str(workers), "--dist", "worksteal"] if workers > 1 else []
    return shlex.join(
        [sys.executable, "-m", "pytest", "tests/images", "--image", name, "-q", junit,
         "-o", "junit_family=xunit1", *spread, *extra]
    )  # fmt: skip


def _legs(stdout: str) -> dict[str, list[str]]:
    """The dry run's output cut at its `== smoke on PLATFORM...` headers."""
    out: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        if line.startswith("== smoke on "):
            current = out.setdefault(line.split()[3].rstrip(":"), [line])
        elif out:
            current.append(line)
    return out


def _pytest_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith(f"{sys.executable} -m pytest ")]


def _table(lines: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(lines) if line.startswith("IMAGE "))
    end = lines.index("", start)
    return lines[start:end]


def test_smoke_all_prints_each_platform_s_plan_and_pytest_lines(chain: Repo) -> None:
    """a opts into the other platform: `all` gives the host's leg, then a's emulated one."""
    chain.write("a/image.yaml", f"emulated_smoke: [{OTHER}]\n")
    chain.commit("a opts in")
    done = chain.invoke("smoke", "all", "--dry-run", "--pytest-arg=-x")
    assert done.returncode == 0, done.stderr
    legs = _legs(done.stdout)
    assert list(legs) == [HOST, OTHER]
    host, other = legs[HOST], legs[OTHER]
    assert host[0] == f"== smoke on {HOST}: a, b, c"
    assert other[0] == f"== smoke on {OTHER} (QEMU: its `emulated` tests): a"
    assert _pytest_lines(host) == [
        _pytest("a", "-x"), _pytest("b", "-x"), _pytest("c", "-x"),
    ]  # fmt: skip
    assert _pytest_lines(other) == [
        _pytest("a", "--platform", OTHER, "-x", suite=f"a@{platforms.arch(OTHER)}", workers=1)
    ]
    # The plan of each leg is `invoke build --dry-run`'s for its images, tag latest.
    build = chain.invoke("build", "all", "--dry-run", "--tag", "latest")
    assert build.returncode == 0, build.stderr
    assert _table(host) == _table(build.stdout.splitlines())
    assert [row.split()[0] for row in _table(other)[1:]] == [f"a@{platforms.arch(OTHER)}"]
    assert any(line.startswith("docker buildx build ") and f"--platform {OTHER}" in line
               for line in other)  # fmt: skip
    # Nothing was built or tagged: no ref of the plan exists.
    refs = [
        "kfnb/a:latest",
        "kfnb/b:latest",
        "kfnb/c:latest",
        f"kfnb/a:latest-{platforms.arch(OTHER)}",
    ]
    for ref in refs:
        assert docker("image", "inspect", ref, check=False).returncode != 0, ref


def test_smoke_affected_plans_the_affected_images_and_their_ancestors(chain: Repo) -> None:
    """c changed since HEAD~1: its plan builds a (its parent) too, its tests run for c only;
    no image opts into another platform, so there is one leg."""
    chain.write("c/payload.txt", "c changed\n")
    chain.commit("c changed")
    done = chain.invoke("smoke", "affected", "--base", "HEAD~1", "--dry-run")
    assert done.returncode == 0, done.stderr
    legs = _legs(done.stdout)
    assert list(legs) == [HOST]
    assert legs[HOST][0] == f"== smoke on {HOST}: c"
    assert [row.split()[0] for row in _table(legs[HOST])[1:]] == ["a", "c"]
    assert _pytest_lines(legs[HOST]) == [_pytest("c")]
    one = chain.invoke("smoke", "affected", "--base", "HEAD~1", "--dry-run", "--workers", "1")
    assert one.returncode == 0, one.stderr
    assert _pytest_lines(_legs(one.stdout)[HOST]) == [_pytest("c", workers=1)]
    bad = chain.invoke("smoke", "c", "--dry-run", "--workers", "0")
    assert bad.returncode == 2, bad.stderr
    assert bad.stderr.strip().splitlines()[-1].endswith("--workers must be at least 1, not 0")
    nothing = chain.invoke("smoke", "affected", "--base", "HEAD", "--dry-run")
    assert nothing.returncode == 0, nothing.stderr
    assert nothing.stdout == "smoke: no image affected since HEAD: nothing to test\n"
