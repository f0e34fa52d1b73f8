"""The packages of an image's file system (kfimages.ship.imagefs + kfimages.ship.packages),
read from real tar streams of fixture trees."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from kfimages.ship.imagefs import read_tree
from kfimages.ship.packages import (
    Package,
    debian_packages,
    dep5_license,
    find_packages,
    npm_packages,
    parse_control,
    pep503_name,
    python_packages,
    r_packages,
)
from tests.unit.sbom_trees import dist_info, dpkg_status, tree_of

DEP5 = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: curl

Files: debian/*
Copyright: 1999 someone
License: MIT

Files: *
Copyright: 1996-2025 Daniel Stenberg
License: curl
 The text of the license,
 over several lines.
"""


def test_dpkg_status_lists_installed_packages_with_purl_and_copyright_license(
    tmp_path: Path,
) -> None:
    removed = (
        "Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0-1\n"
    )
    tree = tree_of(
        tmp_path,
        {
            "var/lib/dpkg/status": dpkg_status(
                ("bash", "5.2.37-2+b10", "amd64"),
                ("curl", "8.14.1-2+deb13u7", "arm64"),
                ("tzdata", "1:2025b-4", "all"),
                extra=removed,
            ),
            "usr/share/doc/curl/copyright": DEP5,
            "usr/share/doc/bash/copyright": "Bash is Copyright (C) the FSF.\nGPL-3+ text...\n",
            "usr/share/doc/libtinfo6/copyright": "Format: copyright-format/1.0\nLicense: GPL-2+\n",
        },
        # Debian's doc folders of one source point at each other:
        links={"usr/share/doc/tzdata": "libtinfo6"},
    )
    assert debian_packages(tree) == [
        Package("deb", "bash", "5.2.37-2+b10", "pkg:deb/debian/bash@5.2.37-2%2Bb10?arch=amd64",
                "", "var/lib/dpkg/status"),
        Package("deb", "curl", "8.14.1-2+deb13u7",
                "pkg:deb/debian/curl@8.14.1-2%2Bdeb13u7?arch=arm64", "curl",
                "var/lib/dpkg/status"),
        Package("deb", "tzdata", "1:2025b-4", "pkg:deb/debian/tzdata@1:2025b-4?arch=all",
                "GPL-2.0-or-later", "var/lib/dpkg/status"),
    ]  # fmt: skip


def test_dep5_license_names() -> None:
    assert dep5_license(DEP5) == "curl", "the Files: * paragraph, first line"
    header = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
    assert dep5_license(header + "License: GPL-2+ or Artistic\n") == "GPL-2.0-or-later OR Artistic"
    assert dep5_license(header + "\nFiles: *\nLicense: LGPL-2.1\n") == "LGPL-2.1-only"
    assert dep5_license(header + "\nFiles: *\nLicense: Expat\n") == "MIT"
    assert dep5_license(header + "\nFiles: src/*\nLicense: MIT\n") == "", "no Files: *"
    assert dep5_license("This is free software, GPL.\n") == "", "not machine-readable"


def test_parse_control_keeps_continuation_lines_and_paragraphs() -> None:
    text = "Package: a\nDescription: short\n long\n .\n more\n\n\nPackage: b\n"
    assert parse_control(text) == [
        {"Package": "a", "Description": "short\nlong\n.\nmore"},
        {"Package": "b"},
    ]


def test_python_distributions_of_every_environment(tmp_path: Path) -> None:
    venv = "opt/venv/lib/python3.13/site-packages"
    debian = "usr/lib/python3/dist-packages"
    tree = tree_of(
        tmp_path,
        {
            f"{venv}/jupyterlab-4.6.6.dist-info/METADATA": dist_info(
                "jupyterlab",
                "4.6.6",
                "License-Expression: BSD-3-Clause",
                "License: a long text\n        over lines",
            ),
            f"{venv}/Jinja2-3.1.6.dist-info/METADATA": dist_info(
                "Jinja2",
                "3.1.6",
                "Classifier: License :: OSI Approved :: BSD License",
                "Classifier: Programming Language :: Python",
            ),
            f"{venv}/zope.interface-7.0.dist-info/METADATA": dist_info(
                "zope.interface", "7.0", "License: ZPL-2.1"
            ),
            f"{venv}/no_version-1.dist-info/METADATA": "Metadata-Version: 2.1\nName: nov\n",
            f"{venv}/jupyterlab/METADATA": dist_info("not", "1.0"),
            f"{debian}/six-1.17.0.egg-info": dist_info("six", "1.17.0", "License: MIT"),
            f"{debian}/dbus_python-1.4.0.egg-info/PKG-INFO": dist_info(
                "dbus-python", "1.4.0", "License: UNKNOWN"
            ),
        },
    )
    found = {(p.purl, p.license, p.location) for p in python_packages(tree)}
    assert found == {
        ("pkg:pypi/jupyterlab@4.6.6", "BSD-3-Clause", venv),
        ("pkg:pypi/jinja2@3.1.6", "BSD License", venv),
        ("pkg:pypi/zope-interface@7.0", "ZPL-2.1", venv),
        ("pkg:pypi/six@1.17.0", "MIT", debian),
        ("pkg:pypi/dbus-python@1.4.0", "", debian),
    }


def test_pep503_name() -> None:
    assert pep503_name("Foo.Bar__baz-Qux") == "foo-bar-baz-qux"


def test_node_packages_of_every_node_modules_tree(tmp_path: Path) -> None:
    lib = "opt/code-server/lib/node_modules"
    tree = tree_of(
        tmp_path,
        {
            f"{lib}/code-server/package.json": json.dumps(
                {"name": "code-server", "version": "4.139.1", "license": "MIT"}
            ),
            f"{lib}/code-server/node_modules/@vscode/spdlog/package.json": json.dumps(
                {"name": "@vscode/spdlog", "version": "0.15.2", "license": {"type": "MIT"}}
            ),
            f"{lib}/code-server/node_modules/old/package.json": json.dumps(
                {"name": "old", "version": "0.1.0", "licenses": [{"type": "MIT"}, {"type": "GPL"}]}
            ),
            # not a package's root: a folder's module type, a template, an unnamed fixture
            f"{lib}/code-server/node_modules/old/lib/package.json": '{"type": "module"}',
            f"{lib}/code-server/node_modules/tmpl/package.json": "{{ name }}",
            f"{lib}/code-server/node_modules/fixture/package.json": '{"name": "fixture"}',
        },
    )
    assert {(p.purl, p.license, p.location) for p in npm_packages(tree)} == {
        ("pkg:npm/code-server@4.139.1", "MIT", f"{lib}/code-server"),
        ("pkg:npm/%40vscode/spdlog@0.15.2", "MIT",
         f"{lib}/code-server/node_modules/@vscode/spdlog"),
        ("pkg:npm/old@0.1.0", "MIT OR GPL", f"{lib}/code-server/node_modules/old"),
    }  # fmt: skip


def test_r_packages_of_every_library(tmp_path: Path) -> None:
    site = "usr/local/lib/R/site-library"
    tree = tree_of(
        tmp_path,
        {
            f"{site}/ggplot2/DESCRIPTION": "Package: ggplot2\nVersion: 3.5.2\nLicense: MIT +\n"
            "    file LICENSE\nBuilt: R 4.5.1; ; 2026-01-01; unix\n",
            "usr/lib/R/library/base/DESCRIPTION": "Package: base\nVersion: 4.5.1\n"
            "License: Part of R 4.5.1\n",
            "home/u/R/library/nover/DESCRIPTION": "Package: nover\n",
        },
    )
    assert {(p.purl, p.license, p.location) for p in r_packages(tree)} == {
        ("pkg:cran/ggplot2@3.5.2", "MIT + file LICENSE", site),
        ("pkg:cran/base@4.5.1", "Part of R 4.5.1", "usr/lib/R/library"),
    }


def test_find_packages_orders_by_ecosystem_and_name(tmp_path: Path) -> None:
    tree = tree_of(
        tmp_path,
        {
            "var/lib/dpkg/status": dpkg_status(("zlib1g", "1:1.3", "amd64")),
            "a/site-packages/Z-1.dist-info/METADATA": dist_info("Z", "1"),
            "a/site-packages/a-1.dist-info/METADATA": dist_info("a", "1"),
            "x/library/R6/DESCRIPTION": "Package: R6\nVersion: 2.5.1\n",
            "n/node_modules/b/package.json": '{"name": "b", "version": "1.0.0"}',
        },
    )
    found = [(p.ecosystem, p.name) for p in find_packages(tree)]
    assert found == [("deb", "zlib1g"), ("pypi", "a"), ("pypi", "Z"), ("npm", "b"), ("cran", "R6")]


def _tar(files: list[tuple[str, bytes]], hard_links: list[tuple[str, str]]) -> io.BytesIO:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        for name, content in files:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        for name, target in hard_links:
            link = tarfile.TarInfo(name)
            link.type, link.linkname = tarfile.LNKTYPE, target
            archive.addfile(link)
    data.seek(0)
    return data


def test_read_tree_keeps_only_the_metadata_files_and_follows_hard_links() -> None:
    metadata = dist_info("uv-installed", "1.0").encode()
    files = [
        ("./var/lib/dpkg/status", b"Package: a\n"),
        ("usr/bin/x", b"x"),
        ("root/.cache/uv/archive-v0/abc/uv_installed-1.0.dist-info/METADATA", metadata),
    ]
    links = [
        ("var/lib/dpkg/status.d/a", "var/lib/dpkg/status"),
        # a venv's file hard-linked to the installer's cache, which the stream had first
        ("opt/venv/lib/python3.13/site-packages/uv_installed-1.0.dist-info/METADATA",
         "root/.cache/uv/archive-v0/abc/uv_installed-1.0.dist-info/METADATA"),
    ]  # fmt: skip
    tree = read_tree(_tar(files, links))
    assert tree.files == {
        "var/lib/dpkg/status": b"Package: a\n",
        "var/lib/dpkg/status.d/a": b"Package: a\n",
    }
    assert tree.hard_links == dict(links[1:])
    complete = tree.with_hard_links(_tar(files, links))
    assert [p.purl for p in python_packages(complete)] == ["pkg:pypi/uv-installed@1.0"]
