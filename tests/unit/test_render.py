"""Output of list, graph and affected (kfimages.repo.render)."""

from __future__ import annotations

import json

import pytest

from kfimages.errors import UserError
from kfimages.repo.changes import explain
from kfimages.repo.render import (
    affected_json,
    affected_text,
    list_json,
    list_rows,
    render_graph,
    render_list_text,
)
from tests.unit.conftest import Repo

LIST_KEYS = {"name", "folder", "variant", "dockerfile", "parent", "parent_in_repo", "ref"}


def test_list_rows(chain: Repo) -> None:
    rows = list_rows(chain.graph(), registry="reg.example/ns", tag="sha-abc")
    assert [r["name"] for r in rows] == [
        "base",
        "codeserver",
        "jupyter",
        "pytorch.cpu",
        "pytorch.cuda",
    ]
    by_name = {r["name"]: r for r in rows}
    assert set(by_name["base"]) >= LIST_KEYS
    assert by_name["base"]["parent"] == "debian:trixie-slim"
    assert by_name["base"]["parent_in_repo"] is False
    assert by_name["base"]["parent_ref"] == "debian:trixie-slim"
    cuda = by_name["pytorch.cuda"]
    assert cuda["folder"] == "pytorch"
    assert cuda["variant"] == "cuda"
    assert cuda["dockerfile"] == "pytorch/cuda.Dockerfile"
    assert cuda["ref"] == "reg.example/ns/pytorch-cuda:sha-abc"
    assert cuda["parent"] == "jupyter"
    assert cuda["parent_in_repo"] is True
    assert cuda["parent_ref"] == "reg.example/ns/jupyter:sha-abc"
    assert cuda["depth"] == 2


def test_list_json_is_the_rows(chain: Repo) -> None:
    graph = chain.graph()
    data = json.loads(list_json(graph, registry="kfnb", tag="latest"))
    assert data == list_rows(graph, registry="kfnb", tag="latest")
    # Not only the same function's output: the array a CI reads, with literal values.
    assert [row["name"] for row in data] == [
        "base",
        "codeserver",
        "jupyter",
        "pytorch.cpu",
        "pytorch.cuda",
    ]
    cpu = data[3]
    assert cpu["ref"] == "kfnb/pytorch-cpu:latest"
    assert cpu["parent_ref"] == "kfnb/jupyter:latest"
    assert (cpu["variant"], cpu["parent_in_repo"], cpu["depth"]) == ("cpu", True, 2)
    assert data[0]["variant"] is None


def test_list_text(chain: Repo) -> None:
    text = render_list_text(chain.graph(), registry="kfnb", tag="latest")
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "PARENT", "REF", "DOCKERFILE"]
    assert lines[2].split() == [
        "base",
        "debian:trixie-slim",
        "(external)",
        "kfnb/base:latest",
        "base/Dockerfile",
    ]
    assert "pytorch.cuda  jupyter" in text
    assert len(lines) == 2 + 5


def test_list_text_without_images(repo: Repo) -> None:
    assert "no images found" in render_list_text(repo.graph(), registry="kfnb", tag="latest")


def test_graph_text_tree(chain: Repo) -> None:
    assert render_graph(chain.graph(), fmt="text") == (
        "debian:trixie-slim (external)\n"
        "└── base\n"
        "    ├── codeserver\n"
        "    └── jupyter\n"
        "        ├── pytorch.cpu\n"
        "        └── pytorch.cuda"
    )


def test_graph_text_with_two_external_roots(repo: Repo) -> None:
    repo.image("a", "debian:trixie-slim")
    repo.image("b", "ubuntu:24.04")
    text = render_graph(repo.graph(), fmt="text")
    assert text.splitlines() == [
        "debian:trixie-slim (external)",
        "└── a",
        "ubuntu:24.04 (external)",
        "└── b",
    ]


def test_graph_mermaid(chain: Repo) -> None:
    text = render_graph(chain.graph(), fmt="mermaid")
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "graph TD"
    ids = {}
    for line in lines[1:]:
        if "[" in line:
            node, label = line.split("[", 1)
            ids[label.strip('[]()"')] = node
    assert set(ids) == {
        "debian:trixie-slim",
        "base",
        "codeserver",
        "jupyter",
        "pytorch.cpu",
        "pytorch.cuda",
    }
    for parent, child in [
        ("debian:trixie-slim", "base"),
        ("jupyter", "pytorch.cuda"),
        ("base", "codeserver"),
    ]:
        assert f"{ids[parent]} --> {ids[child]}" in lines
    assert sum("-->" in line for line in lines) == 5


def test_graph_dot(chain: Repo) -> None:
    text = render_graph(chain.graph(), fmt="dot")
    assert text.startswith("digraph images {")
    assert text.rstrip().endswith("}")
    assert '"debian:trixie-slim" -> "base";' in text
    assert '"jupyter" -> "pytorch.cpu";' in text
    assert '"debian:trixie-slim" [style=dashed];' in text
    assert text.count("->") == 5


def test_unknown_graph_format(chain: Repo) -> None:
    with pytest.raises(
        UserError, match="unknown graph format 'svg'; choose one of: text, mermaid, dot"
    ):
        render_graph(chain.graph(), fmt="svg")


def test_affected_json_is_a_ci_matrix(chain: Repo) -> None:
    chain.append("jupyter/Dockerfile")
    chain.write("codeserver/x")
    sel = explain(chain.graph(), base_ref="main")
    matrix = affected_json(
        sel.images, graph=chain.graph(), registry="kfnb", tag="t", reasons=sel.reasons
    )
    data = json.loads(matrix)
    assert data["names"] == ["codeserver", "jupyter", "pytorch.cpu", "pytorch.cuda"]
    assert data["count"] == 4
    assert data["stages"] == [["codeserver", "jupyter"], ["pytorch.cpu", "pytorch.cuda"]]
    # depth 0 is the top of the selection; a root is built FROM the OS image: none here
    assert data["roots"] == []
    entry = data["include"][2]
    assert entry == {
        "name": "pytorch.cpu",
        "folder": "pytorch",
        "variant": "cpu",
        "repository": "pytorch-cpu",
        "dockerfile": "pytorch/cpu.Dockerfile",
        "ref": "kfnb/pytorch-cpu:t",
        "parent": "jupyter",
        "parent_in_selection": True,
        "depth": 1,
        "reason": "descendant of jupyter",
    }
    jupyter = data["include"][1]
    assert (jupyter["depth"], jupyter["parent_in_selection"]) == (0, False)
    assert jupyter["reason"] == "changed: jupyter/Dockerfile"
    assert data["include"][0]["reason"] == "changed: codeserver/x"


def test_affected_json_names_the_root_a_change_under_it_reaches(chain: Repo) -> None:
    """A change in the root image's folder affects the whole tree: `roots` says so (`.ci/run`
    wants more room then), where a change below it leaves `roots` empty although its top has
    depth 0."""
    chain.write("base/s6/cont-init.d/10-home", "#!/bin/sh\necho home\n")
    graph = chain.graph()
    sel = explain(graph, base_ref="main")
    data = json.loads(affected_json(sel.images, graph=graph, registry="kfnb", tag="t"))
    assert data["count"] == len(graph.images)
    assert data["roots"] == ["base"]


def test_affected_json_empty_and_without_reasons(chain: Repo) -> None:
    graph = chain.graph()
    data = json.loads(affected_json([], graph=graph, registry="kfnb", tag="t"))
    assert data == {"include": [], "names": [], "stages": [], "count": 0, "roots": []}
    data = json.loads(
        affected_json(graph.build_order(["base"]), graph=graph, registry="kfnb", tag="t")
    )
    assert "reason" not in data["include"][0]
    assert data["roots"] == ["base"]


def test_affected_text(chain: Repo) -> None:
    chain.append("pytorch/cuda.Dockerfile")
    sel = explain(chain.graph(), base_ref="main")
    text = affected_text(sel.images, registry="kfnb", tag="t", reasons=sel.reasons)
    assert text.splitlines()[0].split() == ["NAME", "REF", "REASON"]
    assert "pytorch.cuda  kfnb/pytorch-cuda:t  changed: pytorch/cuda.Dockerfile" in text
    assert affected_text([], registry="kfnb", tag="t") == "no image affected"
