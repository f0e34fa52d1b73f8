"""Keeps README.md's image chart (mermaid, from the image graph) true: render, check, write.

The chart sits in README.md between two marker lines, in a ```mermaid block:

    <!-- image-chart:start -->
    ```mermaid
    graph TD
        ...
    ```
    <!-- image-chart:end -->

Everything between the markers is generated (`invoke chart` writes it, `invoke new`
too); `nox -s lint` fails when it differs from the graph (`check_chart`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from kfimages.errors import UserError
from kfimages.repo.graph import Graph, load_graph
from kfimages.repo.render import render_graph

log = logging.getLogger(__name__)

README = "README.md"
START = "<!-- image-chart:start -->"
END = "<!-- image-chart:end -->"
FIX = "run: invoke chart"


@dataclass(frozen=True)
class _Split:
    """README.md cut around the chart: text up to and including START, the chart, END onwards."""

    head: str
    body: str
    tail: str


def render_chart(graph: Graph) -> str:
    """The lines between the markers: the graph as a ```mermaid block (`invoke graph`)."""
    return f"```mermaid\n{render_graph(graph, fmt='mermaid')}\n```\n"


def _split(text: str) -> _Split | None:
    """Cut `text` at the markers (each on a line of its own); None when they are missing."""
    start = text.find(f"{START}\n")
    end = text.find(f"\n{END}", start + 1)
    if start < 0 or end < 0 or text.count(START) != 1 or text.count(END) != 1:
        return None
    cut = start + len(START) + 1
    return _Split(head=text[:cut], body=text[cut : end + 1], tail=text[end + 1 :])


def _markers_missing(readme: Path) -> str:
    return (
        f"{readme.name} has no (or more than one) image chart markers; put the lines "
        f"'{START}' and '{END}' under its '## Images' heading, then {FIX}"
    )


def check_chart(root: Path, *, graph: Graph | None = None) -> str | None:
    """One line naming the problem when README.md's chart is missing or stale, else None."""
    readme = root / README
    if not readme.is_file():
        return f"{README} is missing at {root}; the image chart lives there"
    split = _split(readme.read_text(encoding="utf-8"))
    if split is None:
        return _markers_missing(readme)
    if split.body != render_chart(graph or load_graph(root)):
        return f"{README}'s image chart is stale; {FIX}"
    return None


def updated_readme(text: str, *, graph: Graph) -> str:
    """README.md's `text` with the chart of `graph` between the markers."""
    split = _split(text)
    if split is None:
        raise UserError(_markers_missing(Path(README)))
    return split.head + render_chart(graph) + split.tail


def write_chart(root: Path, *, graph: Graph | None = None) -> bool:
    """Regenerate README.md's chart between the markers; True when the file changed."""
    readme = root / README
    if not readme.is_file():
        raise UserError(f"{README} is missing at {root}; the image chart lives there")
    text = readme.read_text(encoding="utf-8")
    updated = updated_readme(text, graph=graph or load_graph(root))
    if updated == text:
        log.info("%s: image chart up to date", README)
        return False
    readme.write_text(updated, encoding="utf-8")
    log.info("%s: image chart regenerated", README)
    return True
