"""Output of `invoke list`, `invoke graph` and `invoke affected`: text, JSON, mermaid, dot.

`affected_json` is shaped to be a CI matrix as is::

    {
      "include": [                       # one entry per affected image, parents first
        {"name": "jupyter", "folder": "jupyter", "variant": null,
         "repository": "jupyter", "dockerfile": "jupyter/Dockerfile",
         "ref": "kfnb/jupyter:latest", "parent": "base",
         "parent_in_selection": true, "depth": 1, "reason": "descendant of base"},
        ...
      ],
      "names": ["base", "jupyter", ...],  # the same images, parents first
      "stages": [["base"], ["jupyter", "codeserver"], ...],
      "count": 3,
      "roots": ["base"]                  # the affected images built FROM an external image
    }

`depth` is the level within the selection: 0 when the parent is not selected
(it is reused as already built), n+1 below a selected image of depth n. A CI
runs `stages` one after the other (each stage's images in parallel), or uses
`include` as the `include` list of a matrix (GitHub Actions:
`matrix: {include: ${{ fromJSON(...).include }}}`), or gives `names` to a
single build step.
`roots` names the affected images whose parent is no image of the repository (the OS
image): when it is not empty, every image below them is affected too, a rebuild of the whole
tree (`.ci/run` wants more room on the disk for it).
`reason` is present when reasons are passed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from kfimages.errors import UserError
from kfimages.repo.graph import Graph, Image, image_ref
from kfimages.tables import text_table

FORMATS = ("text", "mermaid", "dot")


# ---------------------------------------------------------------------- list


def list_rows(graph: Graph, *, registry: str, tag: str) -> list[dict[str, Any]]:
    """One dict per image, parents first: what `invoke list --json` prints."""
    rows: list[dict[str, Any]] = []
    for image in graph.build_order(graph.images):
        parent = graph.images.get(image.parent)
        rows.append(
            {
                "name": image.name,
                "folder": image.folder,
                "variant": image.variant,
                "repository": image.repository,
                "dockerfile": image.dockerfile,
                "parent": image.parent,
                "parent_in_repo": parent is not None,
                "parent_ref": (
                    image.parent
                    if parent is None
                    else image_ref(parent, registry=registry, tag=tag)
                ),
                "ref": image_ref(image, registry=registry, tag=tag),
                "depth": graph.depth(image.name),
            }
        )
    return rows


def list_json(graph: Graph, *, registry: str, tag: str) -> str:
    """`invoke list --json`: a JSON array of `list_rows`."""
    return json.dumps(list_rows(graph, registry=registry, tag=tag), indent=2)


def render_list_text(graph: Graph, *, registry: str, tag: str) -> str:
    """`invoke list`: a table of name, parent, ref and Dockerfile, parents first."""
    rows = [
        (
            r["name"],
            r["parent"] + ("" if r["parent_in_repo"] else " (external)"),
            r["ref"],
            r["dockerfile"],
        )
        for r in list_rows(graph, registry=registry, tag=tag)
    ]
    if not rows:
        return "no images found (a top-level folder with a Dockerfile is an image)"
    return "\n".join(text_table(("NAME", "PARENT", "REF", "DOCKERFILE"), rows, rule=True))


# --------------------------------------------------------------------- graph


def _external_parents(graph: Graph) -> list[str]:
    return sorted({i.parent for i in graph.roots()})


def _text_tree(graph: Graph) -> str:
    lines: list[str] = []

    def walk(name: str, prefix: str) -> None:
        children = graph.children(name)
        for n, child in enumerate(children):
            last = n == len(children) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{child.name}")
            walk(child.name, prefix + ("    " if last else "│   "))

    for external in _external_parents(graph):
        lines.append(f"{external} (external)")
        walk(external, "")
    return "\n".join(lines)


def _node_ids(graph: Graph) -> dict[str, str]:
    names = [*_external_parents(graph), *(i.name for i in graph.build_order(graph.images))]
    return {name: f"n{n}" for n, name in enumerate(names)}


def _edges(graph: Graph) -> list[tuple[str, str]]:
    return [(i.parent, i.name) for i in graph.build_order(graph.images)]


def _mermaid(graph: Graph) -> str:
    ids = _node_ids(graph)
    external = set(_external_parents(graph))
    lines = ["graph TD"]
    for name, node in ids.items():
        shape = f'{node}[("{name}")]' if name in external else f'{node}["{name}"]'
        lines.append(f"    {shape}")
    lines.extend(f"    {ids[a]} --> {ids[b]}" for a, b in _edges(graph))
    return "\n".join(lines)


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot(graph: Graph) -> str:
    lines = ["digraph images {", "    rankdir=TB;", "    node [shape=box];"]
    lines.extend(f"    {_dot_quote(name)} [style=dashed];" for name in _external_parents(graph))
    lines.extend(f"    {_dot_quote(i.name)};" for i in graph.build_order(graph.images))
    lines.extend(f"    {_dot_quote(a)} -> {_dot_quote(b)};" for a, b in _edges(graph))
    lines.append("}")
    return "\n".join(lines)


def render_graph(graph: Graph, *, fmt: str) -> str:
    """`invoke graph`: the image tree as `text`, `mermaid` (graph TD) or graphviz `dot`."""
    if fmt == "text":
        return _text_tree(graph)
    if fmt == "mermaid":
        return _mermaid(graph)
    if fmt == "dot":
        return _dot(graph)
    raise UserError(f"unknown graph format '{fmt}'; choose one of: {', '.join(FORMATS)}")


# ------------------------------------------------------------------ affected


def _depths(images: Sequence[Image]) -> dict[str, int]:
    """Level of each image within the selection (0 = parent not selected)."""
    depths: dict[str, int] = {}
    by_name = {i.name: i for i in images}

    def depth(name: str, seen: frozenset[str]) -> int:
        if name not in depths:
            parent = by_name[name].parent
            inner = parent in by_name and parent not in seen
            depths[name] = depth(parent, seen | {name}) + 1 if inner else 0
        return depths[name]

    for image in images:
        depth(image.name, frozenset())
    return depths


def affected_json(
    images: Sequence[Image],
    *,
    graph: Graph,
    registry: str,
    tag: str,
    reasons: Mapping[str, str] | None = None,
) -> str:
    """`invoke affected --json`: a CI matrix (shape in the module docstring) of `images`, a
    selection of `graph`'s."""
    depths = _depths(images)
    names = {i.name for i in images}
    include: list[dict[str, Any]] = []
    for image in images:
        entry: dict[str, Any] = {
            "name": image.name,
            "folder": image.folder,
            "variant": image.variant,
            "repository": image.repository,
            "dockerfile": image.dockerfile,
            "ref": image_ref(image, registry=registry, tag=tag),
            "parent": image.parent,
            "parent_in_selection": image.parent in names,
            "depth": depths[image.name],
        }
        if reasons is not None:
            entry["reason"] = reasons.get(image.name, "")
        include.append(entry)
    stages: list[list[str]] = [[] for _ in range(max(depths.values(), default=-1) + 1)]
    for image in images:
        stages[depths[image.name]].append(image.name)
    doc = {
        "include": include,
        "names": [i.name for i in images],
        "stages": stages,
        "count": len(images),
        "roots": [i.name for i in images if graph.parent_of(i.name) is None],
    }
    return json.dumps(doc, indent=2)


def affected_text(
    images: Sequence[Image],
    *,
    registry: str,
    tag: str,
    reasons: Mapping[str, str] | None = None,
) -> str:
    """`invoke affected`: a table of the affected images, parents first, with reasons."""
    if not images:
        return "no image affected"
    reasons = reasons or {}
    rows = [
        (i.name, image_ref(i, registry=registry, tag=tag), reasons.get(i.name, "")) for i in images
    ]
    return "\n".join(text_table(("NAME", "REF", "REASON"), rows, rule=True))
