"""The generated CI workflow (kfimages.ship.workflow): stable, names no image, a job per stage."""

from __future__ import annotations

import yaml

from kfimages.ship import workflow
from tests.unit.conftest import Repo


def test_workflow_is_stable_and_names_no_image(chain: Repo) -> None:
    graph = chain.graph()
    text = workflow.expected(graph)
    assert text == workflow.expected(graph)
    for name in graph.images:
        assert f" {name} " not in text, name
        assert f'"{name}"' not in text, name
    for word in ("jupyter", "codeserver", "pytorch", "rstudio"):
        assert word not in text
    doc = yaml.safe_load(text)
    jobs = doc["jobs"]
    assert set(jobs) == {
        "lint", "integration", "plan", "stage-0", "stage-1", "stage-2", "manifest-lists",
    }  # fmt: skip
    assert jobs["stage-1"]["needs"] == ["plan", "stage-0"]
    assert jobs["stage-2"]["strategy"]["matrix"]["include"] == (
        "${{ fromJSON(needs.plan.outputs.stage2) }}"
    )
    assert "invoke affected --base" in jobs["plan"]["steps"][-1]["run"]
    runs = "\n".join(str(s.get("run", "")) for s in jobs["stage-0"]["steps"])
    assert "--cache-registry" in runs
    assert "docker buildx bake" in runs
    assert "--push --no-lists" in runs, "each runner pushes its platform's tags only"
    assert "invoke manifest" in runs
    assert "ubuntu-24.04-arm" in doc["env"]["RUNNERS"]
    # The lists are made once, after every stage job (every platform of every image).
    lists = jobs["manifest-lists"]
    assert lists["needs"] == ["plan", "stage-0", "stage-1", "stage-2"]
    assert "!contains(needs.*.result, 'failure')" in lists["if"]
    assert "invoke lists pushed" in "\n".join(str(s.get("run", "")) for s in lists["steps"])


def test_a_new_sibling_changes_nothing_a_deeper_chain_adds_a_stage(chain: Repo) -> None:
    before = workflow.expected(chain.graph())
    chain.image("rbioc", "base")
    assert workflow.expected(chain.graph()) == before
    chain.image("deeper", "pytorch.cpu")
    after = workflow.expected(chain.graph())
    assert "stage-3:" in after
    assert "stage-3:" not in before


def test_check_reports_missing_and_stale(chain: Repo) -> None:
    graph = chain.graph()
    assert "is missing" in str(workflow.check(graph))
    path = workflow.write(graph)
    assert workflow.check(graph) is None
    path.write_text(path.read_text() + "# edited\n")
    assert "differs from what `invoke workflow` writes" in str(workflow.check(graph))
