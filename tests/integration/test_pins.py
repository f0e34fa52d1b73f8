"""`invoke outdated` and `invoke bump` against the real registries and a real engine.

- In a clone of this repository (its committed HEAD): `invoke outdated` prints a row for
  every pin with the newest version of every pin whose registry answers here (PyPI, npm) and
  `unknown here` only for the others, and exits 0; `invoke bump` of one Python requirement
  (to another release PyPI has) rewrites its `.in` and its lock with hashes, keeps every lock
  current, and selects exactly the images built from that folder.
- `--fail-on security` on tiny images FROM the OS image: one with a package installed at
  the main suite's version, below the security suite's (it lacks that fix: exit 1, naming
  it), one upgraded from the security suite (exit 0). Images go under a unique registry
  prefix and are removed afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from kfimages.author import pins, registries
from kfimages.repo.graph import load_graph
from kfimages.ship import security, versions
from tests.integration.conftest import REPO_ROOT, Repo

REQUIREMENT = "seaborn"
"""Bumped in the clone: pinned in jupyter-pytorch-full's requirements-full.in only, so one
lock is rewritten (about 15 s) and only that folder's images are selected."""
_OUTER = {k: v for k, v in os.environ.items() if not k.startswith("KFIMAGES_")}
"""Hermetic: no build-arg or CA overrides of the caller's environment (proxies kept)."""
MAIN_INDEX = "http://deb.debian.org/debian/dists/{codename}/main/binary-{arch}/Packages.xz"


def _run(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=clone, env={**_OUTER, "PYTHONPATH": str(clone)},
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    path = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(path)], check=True)
    return path


def test_outdated_reads_every_pin_s_registry(clone: Path) -> None:
    done = _run(clone, "outdated")
    assert done.returncode == 0, done.stderr
    every = pins.discover(load_graph(clone))
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[2 : 2 + len(every)]}
    assert sorted(rows) == sorted({p.name for p in every})
    for pin in every:
        row = rows[pin.name]
        if pin.source.registry in (pins.PYPI, pins.NPM):
            assert re.match(r"^\d", row[2]), row  # a version, not "unknown"
        else:
            assert row[2] == "unknown" or re.match(r"^\d", row[2]), row
    assert "Debian security fixes (built images):" in done.stdout


def test_bump_relocks_one_requirement_and_selects_its_images(clone: Path) -> None:
    graph = load_graph(clone)
    (pin,) = pins.named(pins.discover(graph), REQUIREMENT)
    project = registries.pypi_project(REQUIREMENT)
    others = [v for v in project.releases if v != pin.version and project.releases[v]]
    to = registries.max_version(v for v in others if "rc" not in v and "b" not in v)
    done = _run(clone, "bump", REQUIREMENT, "--to", to)
    assert done.returncode == 0, done.stderr
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True,
                            text=True, check=True).stdout.split()  # fmt: skip
    folder = pin.places[0].path.rsplit("/", 1)[0]
    assert sorted(status[1::2]) == [f"{folder}/requirements-full.in",
                                    f"{folder}/requirements-full.linux-arm64.lock.txt",
                                    f"{folder}/requirements-full.lock.txt"]  # fmt: skip
    lock = (clone / folder / "requirements-full.lock.txt").read_text(encoding="utf-8")
    block = re.search(rf"^{REQUIREMENT}=={re.escape(to)} \\\n((?:    --hash=sha256:\w+.*\n)+)",
                      lock, re.M)  # fmt: skip
    assert block, f"{REQUIREMENT}=={to} with hashes not in the lock"
    wanted = {f.sha256 for f in project.files(to)}
    assert set(re.findall(r"sha256:(\w+)", block.group(1))) <= wanted
    assert _run(clone, "lock", "--check").returncode == 0
    table = done.stdout.split("images to rebuild (changes since HEAD):", 1)[1]
    selected = [line.split()[0] for line in table.strip().splitlines()[2:]]
    users = sorted(i.name for i in graph.images.values() if i.folder == folder)
    assert sorted(selected) == users


def _arg(dockerfile: Path, name: str) -> str:
    found = re.search(rf"^ARG {name}=(\S+)$", dockerfile.read_text(encoding="utf-8"), re.M)
    assert found, name
    return found.group(1)


def test_bump_moves_a_wheel_and_an_npm_tarball_with_their_hashes(clone: Path) -> None:
    """node (a PyPI wheel: URL and SHA-256) and code-server (npm: integrity), each to another
    release; the file the new URL names is downloaded and hashed here, npm's integrity is read
    from its full package document: both independent of the code under test."""
    (node,) = pins.named(pins.discover(load_graph(clone)), "node")
    project = registries.pypi_project(node.source.package)
    others = [v for v, files in project.releases.items() if files and v != node.version]
    node_to = registries.max_version(v for v in others if not re.search(r"[a-z]", v))
    npm = json.loads(urllib.request.urlopen("https://registry.npmjs.org/code-server").read())
    code_to = sorted(v for v in npm["versions"] if v != npm["dist-tags"]["latest"]
                     and re.fullmatch(r"[\d.]+", v))[-1]  # fmt: skip
    for pin, to in (("node", node_to), ("code-server", code_to)):
        done = _run(clone, "bump", pin, "--to", to)
        assert done.returncode == 0, done.stderr
    dockerfile = clone / "codeserver/Dockerfile"
    assert _arg(dockerfile, "NODE_WHEEL_VERSION") == node_to
    for arch in ("X86_64", "AARCH64"):  # one wheel pin per architecture, each moved
        url = _arg(dockerfile, f"NODE_WHEEL_URL_{arch}")
        assert url.startswith("https://files.pythonhosted.org/packages/")
        assert f"-{node_to}-" in url
        assert url.endswith(f"_{arch.lower()}.whl"), url
        wheel = urllib.request.urlopen(url, timeout=300).read()
        assert hashlib.sha256(wheel).hexdigest() == _arg(dockerfile, f"NODE_WHEEL_SHA256_{arch}")
    assert _arg(dockerfile, "CODE_SERVER_VERSION") == code_to
    assert (
        _arg(dockerfile, "CODE_SERVER_INTEGRITY") == npm["versions"][code_to]["dist"]["integrity"]
    )
    table = done.stdout.split("images to rebuild (changes since HEAD):", 1)[1]
    assert [line.split()[0] for line in table.strip().splitlines()[2:]] == ["codeserver"]


def _package_below_the_security_suite(os_image: str) -> tuple[str, str]:
    """A package of the OS image whose main-suite version is older than the security suite's
    (the archive's indexes of today): (name, the main suite's version)."""
    system = security.read_image_system(os_image)
    fixed = security.read_index(
        security.index_url(security.DEFAULT_SECURITY_URI, codename=system.codename,
                           arch=system.arch))  # fmt: skip
    main = security.read_index(MAIN_INDEX.format(codename=system.codename, arch=system.arch))
    below = sorted(
        (p.name, main[(p.name, arch)])
        for p in system.packages
        for arch in {p.arch, "all"}
        if (p.name, arch) in main and (p.name, arch) in fixed
        and versions.compare("deb", main[(p.name, arch)], fixed[(p.name, arch)]) < 0
    )  # fmt: skip
    if not below:
        pytest.skip(f"no package of {os_image} has a security fix newer than its main suite's")
    return below[0]


def test_fail_on_security_fails_for_an_image_lacking_a_fix(repo: Repo, os_image: str) -> None:
    package, version = _package_below_the_security_suite(os_image)
    repo.image("old", os_image, f"""
        RUN apt-get update && apt-get install -y --allow-downgrades --no-install-recommends \\
              {package}={version} && rm -rf /var/lib/apt/lists/*
        """)  # fmt: skip
    repo.image("fresh", os_image, """
        RUN . /etc/os-release \\
         && echo "deb http://deb.debian.org/debian-security $VERSION_CODENAME-security main" \\
              > /etc/apt/sources.list.d/security.list \\
         && apt-get update && apt-get upgrade -y && rm -rf /var/lib/apt/lists/*
        """)  # fmt: skip
    repo.commit("images")
    assert repo.build("old", "fresh").exit_code == 0
    common = ("--registry", repo.registry, "--tag", "t1", "--fail-on", "security")
    old = repo.invoke("outdated", "old", *common)
    assert old.returncode == 1, old.stderr
    assert old.stderr.strip() == "error: --fail-on security: old lacks security fixes"
    assert re.search(rf"^old: lacks \d+ security fix\(es\), .*\b{re.escape(package)} "
                     rf"{re.escape(version)} -> ", old.stdout, re.M), old.stdout  # fmt: skip
    fresh = repo.invoke("outdated", "fresh", *common)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert f"fresh: every security fix of its suite is in {repo.ref('fresh')}" in fresh.stdout
    missing = repo.invoke("outdated", "old", "--registry", "nowhere", "--fail-on", "security")
    assert missing.returncode == 0, missing.stderr  # not built: reported, nothing to judge
    assert "old: not built (nowhere/old:latest): not checked" in missing.stdout
