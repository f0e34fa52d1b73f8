"""The CycloneDX document of an inventory (kfimages.ship.sbom): valid against the schema the
library ships, the image in its metadata, packages with purl, license and location, and
read back as written."""

from __future__ import annotations

import json
from pathlib import Path

from kfimages.ship.packages import find_packages
from kfimages.ship.sbom import (
    ImageFacts,
    Inventory,
    content_tags,
    read_document,
    render,
    schema_problem,
)
from tests.unit.sbom_trees import dist_info, dpkg_status, tree_of

FACTS = ImageFacts(
    ref="registry.example:5000/kfnb/jupyter:latest-arm64",
    image_id="sha256:" + "b" * 64,
    platform="linux/arm64",
    repo_digests=("registry.example:5000/kfnb/jupyter@sha256:" + "d" * 64,),
    inputs="5d284ddb",
    size=538_938_526,
    content_tags=("lab-4.6.6", "python-3.13.5"),
    os_release={"ID": "debian", "VERSION_ID": "13", "PRETTY_NAME": "Debian GNU/Linux 13"},
)


VENV = "opt/venv/lib/python3.13/site-packages"
DEBIAN_PYTHON = "usr/lib/python3/dist-packages"
DEP5 = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
FILES = {
    "var/lib/dpkg/status": dpkg_status(("bash", "5.2.37-2+b10", "arm64")),
    "usr/share/doc/bash/copyright": f"{DEP5}\nFiles: *\nLicense: GPL-3+\n",
    # the same distribution in two environments: two components
    f"{VENV}/jupyterlab-4.6.6.dist-info/METADATA": dist_info(
        "jupyterlab", "4.6.6", "License-Expression: BSD-3-Clause AND MIT"
    ),
    f"{DEBIAN_PYTHON}/jupyterlab-4.6.6.dist-info/METADATA": dist_info(
        "jupyterlab", "4.6.6", "License: Modified BSD"
    ),
    "n/node_modules/@types/node/package.json": json.dumps(
        {"name": "@types/node", "version": "24.0.0", "license": "MIT"}
    ),
    "usr/local/lib/R/site-library/R6/DESCRIPTION": (
        "Package: R6\nVersion: 2.6.1\nLicense: MIT + file LICENSE\n"
    ),
}


def inventory(tmp_path: Path) -> Inventory:
    tree = tree_of(tmp_path, FILES)
    return Inventory(image=FACTS, packages=tuple(find_packages(tree)))


def test_document_is_valid_cyclonedx_1_6_with_the_image_and_its_packages(tmp_path: Path) -> None:
    text = render(inventory(tmp_path))
    assert schema_problem(text) is None
    doc = json.loads(text)
    assert (doc["bomFormat"], doc["specVersion"]) == ("CycloneDX", "1.6")
    image = doc["metadata"]["component"]
    assert (image["type"], image["name"], image["version"]) == (
        "container", "registry.example:5000/kfnb/jupyter", "latest-arm64",
    )  # fmt: skip
    assert image["purl"] == (
        f"pkg:oci/jupyter@sha256:{'d' * 64}"
        "?arch=arm64&repository_url=registry.example:5000/kfnb/jupyter"
    )
    props = {(p["name"], p["value"]) for p in doc["metadata"]["properties"]}
    assert props == {
        ("kfimages:image:ref", FACTS.ref),
        ("kfimages:image:id", FACTS.image_id),
        ("kfimages:image:platform", "linux/arm64"),
        ("kfimages:image:inputs", "5d284ddb"),
        ("kfimages:image:size", "538938526"),
        ("kfimages:image:repo-digest", FACTS.repo_digests[0]),
        ("kfimages:image:content-tag", "lab-4.6.6"),
        ("kfimages:image:content-tag", "python-3.13.5"),
    }
    by_ref = {c["bom-ref"]: c for c in doc["components"]}
    assert by_ref["os:debian"]["type"] == "operating-system"
    assert by_ref["os:debian"]["version"] == "13"
    bash = by_ref["pkg:deb/debian/bash@5.2.37-2%2Bb10?arch=arm64"]
    assert bash["licenses"] == [{"license": {"id": "GPL-3.0-or-later",
                                             "acknowledgement": "declared"}}]  # fmt: skip
    assert bash["evidence"] == {"occurrences": [{"location": "/var/lib/dpkg/status"}]}
    venv = by_ref[f"pkg:pypi/jupyterlab@4.6.6#/{VENV}"]
    assert venv["licenses"] == [
        {"expression": "BSD-3-Clause AND MIT", "acknowledgement": "declared"}
    ]
    debian = by_ref[f"pkg:pypi/jupyterlab@4.6.6#/{DEBIAN_PYTHON}"]
    assert debian["licenses"][0]["license"]["name"] == "Modified BSD"
    assert by_ref["pkg:npm/%40types/node@24.0.0"]["name"] == "@types/node"
    assert by_ref["pkg:cran/R6@2.6.1"]["licenses"][0]["license"]["name"] == "MIT + file LICENSE"
    root_deps = next(d for d in doc["dependencies"] if d["ref"] == FACTS.image_id)
    assert len(root_deps["dependsOn"]) == len(doc["components"])


def test_a_document_reads_back_as_written(tmp_path: Path) -> None:
    written = inventory(tmp_path)
    path = tmp_path / "jupyter@arm64.cdx.json"
    path.write_text(render(written), encoding="utf-8")
    read = read_document(path)
    assert sorted(read.packages, key=lambda p: (p.purl, p.location)) == sorted(
        written.packages, key=lambda p: (p.purl, p.location)
    )
    expected = FACTS.__class__(**{**FACTS.__dict__, "os_release": {}})
    assert read.image == expected


def test_schema_problem_names_what_is_wrong() -> None:
    problem = schema_problem('{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 0}')
    assert problem is not None
    assert "0" in problem


def test_content_tags_of_an_image_refs() -> None:
    refs = [
        "kfnb/jupyter:latest", "kfnb/jupyter:sha-56102a49a62f", "kfnb/jupyter:python-3.13.5",
        "kfnb/jupyter:lab-4.6.6-arm64", "kfnb/jupyter:2026-12-03", "reg/kfnb/jupyter:debian-13",
        "kfnb/jupyter:python-3.13.5", "kfnb/jupyter:lab-latest",
    ]  # fmt: skip
    assert content_tags(refs) == ("2026-12-03", "debian-13", "lab-4.6.6", "python-3.13.5")
