"""Discovery, naming, parents and validation of the image graph (kfimages.repo.graph, .config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfimages.errors import UserError
from kfimages.repo.config import Artifact, ImageConfig
from kfimages.repo.graph import (
    DEFAULT_REGISTRY,
    DEFAULT_TAG,
    Image,
    image_ref,
    parse_parent,
)
from tests.unit.conftest import Repo

# -------------------------------------------------------------------- discovery


def test_discovery_and_variant_naming(chain: Repo) -> None:
    chain.write("docs/Dockerfile.txt", "not a Dockerfile\n")
    chain.write(".hidden/Dockerfile", "ARG BASE_IMG=x:y\nFROM $BASE_IMG\n")
    chain.write("pytorch/.Dockerfile", "ignored: no variant name\n")
    chain.write("base/nested/Dockerfile", "not top-level: part of base's context\n")
    graph = chain.graph()
    assert sorted(graph.images) == ["base", "codeserver", "jupyter", "pytorch.cpu", "pytorch.cuda"]
    cuda = graph.get("pytorch.cuda")
    assert (cuda.folder, cuda.variant, cuda.dockerfile) == (
        "pytorch",
        "cuda",
        "pytorch/cuda.Dockerfile",
    )
    assert cuda.repository == "pytorch-cuda"
    assert cuda.parent == "jupyter"
    base = graph.get("base")
    assert (base.folder, base.variant, base.repository) == ("base", None, "base")
    assert base.dockerfile == "base/Dockerfile"


def test_folder_with_plain_and_variant_dockerfiles(repo: Repo) -> None:
    repo.image("base", "debian:trixie-slim")
    repo.image("base", "base", variant="dev")
    graph = repo.graph()
    assert sorted(graph.images) == ["base", "base.dev"]
    assert graph.get("base.dev").repository == "base-dev"


def test_image_refs() -> None:
    graph_image = Image(
        name="pt.cpu",
        folder="pt",
        variant="cpu",
        dockerfile="pt/cpu.Dockerfile",
        parent="base",
        config=ImageConfig(),
    )
    assert (
        image_ref(graph_image, registry=DEFAULT_REGISTRY, tag=DEFAULT_TAG) == "kfnb/pt-cpu:latest"
    )
    assert image_ref(graph_image, registry="", tag="sha-0123456789ab") == "pt-cpu:sha-0123456789ab"
    assert (
        image_ref(graph_image, registry="localhost:5000/ns/", tag="t")
        == "localhost:5000/ns/pt-cpu:t"
    )


def test_navigation(chain: Repo) -> None:
    graph = chain.graph()
    assert [i.name for i in graph.ancestors("pytorch.cpu")] == ["base", "jupyter"]
    assert [i.name for i in graph.children("jupyter")] == ["pytorch.cpu", "pytorch.cuda"]
    assert graph.descendants(["jupyter"]) == {"jupyter", "pytorch.cpu", "pytorch.cuda"}
    assert graph.with_ancestors(["pytorch.cuda"]) == {"base", "jupyter", "pytorch.cuda"}
    assert [i.name for i in graph.roots()] == ["base"]
    assert graph.parent_of("base") is None
    order = [i.name for i in graph.build_order(["pytorch.cuda", "base", "codeserver"])]
    assert order == ["base", "codeserver", "pytorch.cuda"]


# ---------------------------------------------------------------------- parents


@pytest.mark.parametrize(
    ("text", "parent"),
    [
        ("ARG BASE_IMG=base\nFROM $BASE_IMG\n", "base"),
        ('ARG BASE_IMG="debian:trixie-slim"\nFROM $BASE_IMG\n', "debian:trixie-slim"),
        ("ARG BASE_IMG='jupyter'\nFROM ${BASE_IMG}\n", "jupyter"),
        ("# comment\narg  BASE_IMG = base\nfrom ${BASE_IMG} AS final\n", "base"),
        (
            "ARG BASE_IMG=base\nFROM scratch AS ca-certs\nFROM --platform=linux/amd64 $BASE_IMG\n",
            "base",
        ),
        (
            "ARG VERSION=1\nARG BASE_IMG=a/b:c@sha256:00\nFROM $BASE_IMG\nARG BASE_IMG=no\n",
            "a/b:c@sha256:00",
        ),
    ],
)
def test_parse_parent(tmp_path: Path, text: str, parent: str) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(text, encoding="utf-8")
    assert parse_parent(path) == parent


@pytest.mark.parametrize(
    "text",
    [
        "FROM $BASE_IMG\n",  # no ARG
        "ARG BASE_IMG\nFROM $BASE_IMG\n",  # ARG without default
        "ARG BASE_IMG=base\nFROM debian:trixie-slim\n",  # ARG not used by FROM
        "FROM base\nARG BASE_IMG=base\nFROM $BASE_IMG\n",  # ARG after the first FROM
        "# ARG BASE_IMG=base\nFROM $BASE_IMG\n",  # commented out
    ],
)
def test_parse_parent_missing(tmp_path: Path, text: str) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=r"no parent found; declare `ARG BASE_IMG=<parent>`"):
        parse_parent(path)


def test_missing_parent_arg_fails_discovery(repo: Repo) -> None:
    repo.write("base/Dockerfile", "FROM debian:trixie-slim\n")
    with pytest.raises(UserError, match=r"base/Dockerfile: no parent found"):
        repo.graph()


# -------------------------------------------------------------------- bad input


def test_unknown_image_name_lists_valid_names(chain: Repo) -> None:
    graph = chain.graph()
    with pytest.raises(UserError) as err:
        graph.get("jupyterlab")
    assert str(err.value) == (
        "unknown image 'jupyterlab'; valid names: "
        "base, codeserver, jupyter, pytorch.cpu, pytorch.cuda"
    )
    with pytest.raises(UserError, match="unknown image 'nope'"):
        graph.descendants(["nope"])
    with pytest.raises(UserError, match="unknown image 'nope'"):
        graph.build_order(["base", "nope"])


CYCLE_FIX = "; one image must build FROM an external one"


def cycle_message(repo: Repo) -> str:
    with pytest.raises(UserError) as err:
        repo.graph()
    return str(err.value)


def test_cycle(repo: Repo) -> None:
    """The whole message, not a search in it: a cycle found late (after many hops round
    it) would still contain `a -> c -> b -> a` somewhere in a longer message."""
    repo.image("base", "debian:trixie-slim")
    repo.image("a", "c")
    repo.image("b", "a")
    repo.image("c", "b")
    assert cycle_message(repo) in {
        f"parent cycle {cycle}{CYCLE_FIX}"
        for cycle in ("a -> c -> b -> a", "b -> a -> c -> b", "c -> b -> a -> c")
    }


def test_a_cycle_is_named_without_the_image_that_leads_into_it(repo: Repo) -> None:
    repo.image("a", "x")
    repo.image("x", "y")
    repo.image("y", "x")
    assert cycle_message(repo) in {
        f"parent cycle {c}{CYCLE_FIX}" for c in ("x -> y -> x", "y -> x -> y")
    }


def test_self_parent_is_a_cycle(repo: Repo) -> None:
    repo.image("a", "a")
    assert cycle_message(repo) == f"parent cycle a -> a{CYCLE_FIX}"


@pytest.mark.parametrize("parent", ["jupyterx", "pytorch.gpu", "Base"])
def test_parent_neither_repo_image_nor_external(chain: Repo, parent: str) -> None:
    chain.image("rstudio", parent)
    with pytest.raises(UserError) as err:
        chain.graph()
    message = str(err.value)
    assert (
        f"rstudio/Dockerfile: parent '{parent}' is neither an image of this repository" in message
    )
    assert "debian:trixie-slim" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "parent", ["kfnb/jupyter:latest", "localhost:5000/x/base:sha-1", "base@sha256:00"]
)
def test_parent_given_as_ref_of_a_repo_image(chain: Repo, parent: str) -> None:
    chain.image("rstudio", parent)
    with pytest.raises(
        UserError, match=r"is a ref of the repository image '(jupyter|base)'; write"
    ):
        chain.graph()


def test_external_parent_with_other_name_is_fine(chain: Repo) -> None:
    chain.image("rstudio", "docker.io/rocker/r-ver:4.5")
    assert chain.graph().parent_of("rstudio") is None


def test_same_repository_from_two_folders(repo: Repo) -> None:
    repo.image("a-b", "debian:trixie-slim")
    repo.image("a", "debian:trixie-slim", variant="b")
    with pytest.raises(
        UserError,
        match=r"a/b\.Dockerfile and a-b/Dockerfile both produce the repository 'a-b'; rename one",
    ):
        repo.graph()


def test_folder_name_with_dot_is_rejected(repo: Repo) -> None:
    # `a.b/Dockerfile` would produce the name of variant `a/b.Dockerfile`
    repo.image("a.b", "debian:trixie-slim")
    repo.image("a", "debian:trixie-slim", variant="b")
    with pytest.raises(UserError, match=r"'a\.b' is not a valid image name part"):
        repo.graph()


@pytest.mark.parametrize("folder", ["Upper", "-dash", "sp ace"])
def test_invalid_folder_names(repo: Repo, folder: str) -> None:
    repo.image(folder, "debian:trixie-slim")
    with pytest.raises(UserError, match="not a valid image name part"):
        repo.graph()


def test_invalid_variant_name(repo: Repo) -> None:
    repo.image("pt", "debian:trixie-slim", variant="CUDA")
    with pytest.raises(UserError, match="'CUDA' is not a valid image name part"):
        repo.graph()


# ------------------------------------------------------------------- image.yaml


def test_image_yaml_full(repo: Repo) -> None:
    repo.image("pt", "debian:trixie-slim", variant="cpu")
    repo.image("pt", "debian:trixie-slim", variant="cuda")
    repo.write(
        "pt/image.yaml",
        """\
paths: [shared/**]
build_args: {TORCH_VERSION: 2.5, INDEX: cpu}
size_budget_mb: 4000
artifacts:
  - {name: wheel, url: "https://example.invalid/w.whl", build_arg: WHEEL_URL}
variants:
  cuda:
    build_args: {INDEX: cu124}
    size_budget_mb: 9000
""",
    )
    graph = repo.graph()
    cpu, cuda = graph.get("pt.cpu").config, graph.get("pt.cuda").config
    assert cpu.extra_paths == cuda.extra_paths == ("shared/**",)
    assert dict(cpu.build_args) == {"TORCH_VERSION": "2.5", "INDEX": "cpu"}
    assert dict(cuda.build_args) == {"TORCH_VERSION": "2.5", "INDEX": "cu124"}
    assert (cpu.size_budget_mb, cuda.size_budget_mb) == (4000, 9000)
    assert not hasattr(cuda, "smoke"), "the smoke key was removed: nothing read it"
    assert (
        cuda.artifacts
        == cpu.artifacts
        == (Artifact("wheel", "https://example.invalid/w.whl", "WHEEL_URL"),)
    )


def test_empty_image_yaml_is_defaults(repo: Repo) -> None:
    repo.image("a", "debian:trixie-slim")
    repo.write("a/image.yaml", "# nothing yet\n")
    config = repo.graph().get("a").config
    assert (config.extra_paths, dict(config.build_args), config.size_budget_mb) == ((), {}, None)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("paths: [a\n", r"is not valid YAML at line \d"),
        ("- just\n- a list\n", "the file must be a mapping"),
        ("size_budget: 10\n", r"unknown key\(s\) \['size_budget'\] in the file; allowed: "),
        ("size_budget_mb: big\n", "size_budget_mb must be a positive whole number"),
        ("size_budget_mb: -5\n", "size_budget_mb must be a positive whole number"),
        ("size_budget_mb: true\n", "size_budget_mb must be a positive whole number"),
        ("paths: shared\n", "paths must be a list"),
        ("paths: ['']\n", "paths must be a list"),
        ("build_args: [A, B]\n", "build_args must be a mapping"),
        ("build_args: {A: [1]}\n", r"build_args\.A must be a string or number"),
        ("smoke: {python: '3.13'}\n", r"unknown key\(s\) \['smoke'\] in the file"),
        ("variants: {a: {smoke: {}}}\n", r"unknown key\(s\) \['smoke'\] in variants\.a"),
        ("artifacts: {name: x}\n", "artifacts must be a list"),
        ("artifacts: [{name: x}]\n", r"artifacts\[0\] needs string 'name' and 'url'"),
        (
            "artifacts: [{name: x, url: y, sha: z}]\n",
            r"unknown key\(s\) \['sha'\] in artifacts\[0\]",
        ),
        ("variants: {nope: {}}\n", "variant 'nope' has no nope.Dockerfile"),
        ("variants: {a: {paths: [x]}}\n", r"unknown key\(s\) \['paths'\] in variants\.a"),
        ("variants: {a: {size_budget_mb: 1.5}}\n", r"variants\.a\.size_budget_mb must be"),
    ],
)
def test_malformed_image_yaml(repo: Repo, text: str, problem: str) -> None:
    repo.image("f", "debian:trixie-slim", variant="a")
    repo.write("f/image.yaml", text)
    with pytest.raises(UserError, match=problem) as err:
        repo.graph()
    message = str(err.value)
    assert message.startswith(str(repo.root / "f" / "image.yaml"))
    assert "\n" not in message
