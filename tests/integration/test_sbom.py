"""`invoke sbom` and `invoke diff` against the real engine, on tiny throwaway images: a derived
image's packages with their purls in a valid document; another platform's image read without
running it; two builds with one changed version differ by exactly that change."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from kfimages import engine
from kfimages.build.report import EXIT_OK
from kfimages.repo.inputs import INPUTS_LABEL
from kfimages.ship.sbom import schema_problem
from tests.integration.conftest import Repo, docker

SITE = "opt/venv/lib/python3.13/site-packages"
DEP5 = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: kfit-hello

Files: *
Copyright: 2026 nobody
License: GPL-2+
"""

# A real dpkg install of a package made in the build (no network), plus a Python
# distribution, a Node package and an R package as their installers leave them.
DOCKERFILE = """\
COPY tree/ /
RUN mkdir -p /tmp/pkg/DEBIAN /tmp/pkg/usr/share/doc/kfit-hello \\
 && printf 'Package: kfit-hello\\nVersion: 1:2.0-1\\nArchitecture: all\\nMaintainer: it <it@example.org>\\nDescription: a test package\\n' > /tmp/pkg/DEBIAN/control \\
 && mv /kfit-copyright /tmp/pkg/usr/share/doc/kfit-hello/copyright \\
 && dpkg-deb --build /tmp/pkg /tmp/kfit-hello.deb >/dev/null \\
 && dpkg -i /tmp/kfit-hello.deb \\
 && rm -rf /tmp/pkg /tmp/kfit-hello.deb
"""  # noqa: E501 (one shell line)


def write_image(repo: Repo, os_image: str, *, python_version: str) -> None:
    repo.image("a", os_image, DOCKERFILE)
    for old in (repo.path / "a" / "tree").rglob("*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    metadata = f"Metadata-Version: 2.4\nName: kfit_demo\nVersion: {python_version}\n"
    repo.write(f"a/tree/{SITE}/kfit_demo-{python_version}.dist-info/METADATA",
               metadata + "License-Expression: Apache-2.0\n")  # fmt: skip
    repo.write("a/tree/opt/app/node_modules/@kfit/hello/package.json",
               '{"name": "@kfit/hello", "version": "0.3.0", "license": "ISC"}\n')  # fmt: skip
    repo.write("a/tree/usr/local/lib/R/site-library/kfitR/DESCRIPTION",
               "Package: kfitR\nVersion: 0.1-2\nLicense: MIT + file LICENSE\n")  # fmt: skip
    repo.write("a/tree/kfit-copyright", DEP5)


def components(path: Path) -> dict[str, dict[str, Any]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {c["purl"]: c for c in doc["components"] if "purl" in c}


def test_sbom_of_a_derived_image_lists_its_packages_with_purls(
    repo: Repo, os_image: str, tmp_path: Path
) -> None:
    write_image(repo, os_image, python_version="1.0.0")
    repo.commit("a")
    assert repo.build("a").exit_code == EXIT_OK
    out = tmp_path / "sbom"
    done = repo.invoke("sbom", "a", "--registry", repo.registry, "--tag", "t1",
                       "--output", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    path = out / "a.cdx.json"
    assert done.stdout.startswith(f"{path}: "), done.stdout
    text = path.read_text(encoding="utf-8")
    assert schema_problem(text) is None
    found = components(path)
    hello = found["pkg:deb/debian/kfit-hello@1:2.0-1?arch=all"]
    assert hello["licenses"] == [{"license": {"id": "GPL-2.0-or-later",
                                              "acknowledgement": "declared"}}]  # fmt: skip
    assert found["pkg:pypi/kfit-demo@1.0.0"]["licenses"][0]["license"]["id"] == "Apache-2.0"
    assert found["pkg:pypi/kfit-demo@1.0.0"]["evidence"]["occurrences"] == [
        {"location": f"/{SITE}"}
    ]
    assert found["pkg:npm/%40kfit/hello@0.3.0"]["name"] == "@kfit/hello"
    assert "pkg:cran/kfitR@0.1-2" in found
    arch = engine.image_platform(engine.inspect_image(os_image) or {}).split("/")[1]
    assert any(p.startswith("pkg:deb/debian/bash@") and p.endswith(f"?arch={arch}") for p in found)
    data = engine.inspect_image(repo.ref("a")) or {}
    props = {p["name"]: p["value"] for p in json.loads(text)["metadata"]["properties"]}
    assert props["kfimages:image:ref"] == repo.ref("a")
    assert props["kfimages:image:id"] == data["Id"]
    assert props["kfimages:image:platform"] == f"linux/{arch}"
    assert props["kfimages:image:inputs"] == data["Config"]["Labels"][INPUTS_LABEL]


def _rootfs_tar(files: dict[str, str]) -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    return data.getvalue()


def test_sbom_of_another_platforms_image_reads_it_without_running_it(
    repo: Repo, os_image: str, tmp_path: Path
) -> None:
    """An arm64 image holding nothing but package metadata (no shell, no binary: nothing
    could run it, emulated or not) under the ref `invoke sbom --platform` reads."""
    repo.image("a", os_image)
    repo.commit("a")
    status = ("Package: bash\nStatus: install ok installed\nArchitecture: arm64\n"
              "Version: 5.2.37-2+b10\n")  # fmt: skip
    metadata = "Metadata-Version: 2.4\nName: jupyterlab\nVersion: 4.6.6\n"
    tar = _rootfs_tar(
        {"var/lib/dpkg/status": status, f"{SITE}/jupyterlab-4.6.6.dist-info/METADATA": metadata}
    )
    ref = repo.ref("a", "t1-arm64")
    imported = docker_input("import", "--platform", "linux/arm64", "-", ref, data=tar)
    assert imported.returncode == 0, imported.stderr
    out = tmp_path / "sbom"
    done = repo.invoke("sbom", "a", "--platform", "linux/arm64", "--registry", repo.registry,
                       "--tag", "t1", "--output", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    path = out / "a@arm64.cdx.json"
    assert set(components(path)) == {
        "pkg:deb/debian/bash@5.2.37-2%2Bb10?arch=arm64",
        "pkg:pypi/jupyterlab@4.6.6",
    }
    props = {p["name"]: p["value"] for p in json.loads(path.read_text())["metadata"]["properties"]}
    assert props["kfimages:image:platform"] == "linux/arm64"
    leftover = docker("ps", "--all", "--quiet", "--filter", f"ancestor={ref}")
    assert leftover.stdout.strip() == "", "the never-started container is removed"


def docker_input(*args: str, data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["docker", *args], input=data, capture_output=True, check=False)


def test_diff_of_two_builds_reports_exactly_the_changed_version(
    repo: Repo, os_image: str, tmp_path: Path
) -> None:
    write_image(repo, os_image, python_version="1.0.0")
    repo.commit("a 1.0.0")
    assert repo.build("a").exit_code == EXIT_OK
    write_image(repo, os_image, python_version="1.1.0")
    repo.commit("a 1.1.0")
    assert repo.build("a", tags=("t2",)).exit_code == EXIT_OK
    old, new = repo.ref("a", "t1"), repo.ref("a", "t2")
    done = repo.invoke("diff", old, new)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"old: {old}  sha256:")
    assert lines[2].startswith("size: ")
    assert lines[3:] == [
        "packages: 1 upgraded",
        "",
        "change    type  package    old    new    kind",
        "upgraded  pypi  kfit_demo  1.0.0  1.1.0  minor",
    ]
    notes = repo.invoke("diff", old, new, "--markdown")
    assert notes.returncode == 0, notes.stderr
    assert "| pypi | kfit_demo | 1.0.0 | 1.1.0 | minor |" in notes.stdout
    out = tmp_path / "sbom"
    for tag in ("t1", "t2"):
        written = repo.invoke("sbom", "a", "--registry", repo.registry, "--tag", tag,
                              "--output", str(out / tag))  # fmt: skip
        assert written.returncode == 0, written.stderr
    files = repo.invoke("diff", str(out / "t1" / "a.cdx.json"), str(out / "t2" / "a.cdx.json"))
    assert files.returncode == 0, files.stderr
    assert files.stdout.splitlines()[3:] == lines[3:]
    missing = repo.invoke("diff", repo.ref("a", "nosuch"), new)
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"error: OLD {repo.ref('a', 'nosuch')}: no such image in "
                                     "the local store and no such file; pass a ref")  # fmt: skip
    assert len(missing.stderr.strip().splitlines()) == 1
