"""README.md's image chart (kfimages.author.chart): rendered from the graph, checked, rewritten."""

from __future__ import annotations

import pytest

from kfimages.author.chart import END, START, check_chart, render_chart, write_chart
from kfimages.errors import UserError
from kfimages.repo.render import render_graph
from tests.unit.conftest import Repo
from tests.unit.invoke_cli import run_invoke

README = f"# images\n\nintro\n\n## Images\n\n{START}\n{END}\n\n## Naming\n\ntext\n"


@pytest.fixture
def charted(chain: Repo) -> Repo:
    """The chain repository with chart markers (an empty chart) in its README.md."""
    chain.write("README.md", README)
    return chain


def test_render_chart_is_the_mermaid_graph_in_a_block(chain: Repo) -> None:
    graph = chain.graph()
    assert render_chart(graph) == f"```mermaid\n{render_graph(graph, fmt='mermaid')}\n```\n"


def test_write_then_check_and_only_the_chart_changes(charted: Repo) -> None:
    assert check_chart(charted.root) == "README.md's image chart is stale; run: invoke chart"
    assert write_chart(charted.root) is True
    assert check_chart(charted.root) is None
    assert write_chart(charted.root) is False, "a second write changes nothing"
    text = (charted.root / "README.md").read_text(encoding="utf-8")
    chart = render_chart(charted.graph())
    assert text == README.replace(f"{START}\n", f"{START}\n{chart}")
    assert '["pytorch.cuda"]' in text


def test_a_new_image_makes_the_chart_stale(charted: Repo) -> None:
    write_chart(charted.root)
    charted.image("rstudio", "base")
    assert check_chart(charted.root) == "README.md's image chart is stale; run: invoke chart"
    write_chart(charted.root)
    assert check_chart(charted.root) is None
    assert '["rstudio"]' in (charted.root / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "readme",
    ["# no markers\n", f"{START}\n{END}\n{START}\n{END}\n", f"{END}\n{START}\n"],
    ids=["none", "twice", "reversed"],
)
def test_missing_markers_name_the_fix(chain: Repo, readme: str) -> None:
    chain.write("README.md", readme)
    problem = check_chart(chain.root)
    assert problem is not None
    assert START in problem
    assert problem.endswith("run: invoke chart")
    with pytest.raises(UserError, match="image chart markers"):
        write_chart(chain.root)
    assert (chain.root / "README.md").read_text(encoding="utf-8") == readme


def test_missing_readme(chain: Repo) -> None:
    (chain.root / "README.md").unlink()
    assert (
        check_chart(chain.root)
        == f"README.md is missing at {chain.root}; the image chart lives there"
    )


def test_invoke_chart_check_fails_when_stale_and_chart_writes(charted: Repo) -> None:
    stale = run_invoke(charted, "chart", "--check")
    assert stale.returncode == 1
    assert stale.stderr.strip() == "error: README.md's image chart is stale; run: invoke chart"
    assert run_invoke(charted, "chart").returncode == 0
    fresh = run_invoke(charted, "chart", "--check")
    assert (fresh.returncode, fresh.stderr) == (0, "")
