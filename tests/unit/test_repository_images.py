"""Facts about this repository's own images (no Docker): what every image.yaml and Dockerfile
must say, or must not."""

from __future__ import annotations

import re
from pathlib import Path

from kfimages.build.plan import BuildRequest, Facts, make_steps, plan_images
from kfimages.git import GitInfo
from kfimages.repo.graph import load_graph

PROJECT = Path(__file__).resolve().parents[2]


def test_every_image_has_a_size_budget() -> None:
    """The smoke test `test_size` fails an image without one; this says so without building."""
    graph = load_graph(PROJECT)
    missing = sorted(
        f"{image.name} ({image.folder}/image.yaml)"
        for image in graph.images.values()
        if image.config.size_budget_mb is None
    )
    assert missing == [], f"no size_budget_mb: {', '.join(missing)}"


def _label_keys(dockerfile: str) -> set[str]:
    """The keys of every LABEL instruction (continuation lines joined)."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    instructions = re.findall(r"^\s*LABEL\s+(.*)$", joined, flags=re.MULTILINE | re.IGNORECASE)
    return {key for text in instructions for key in re.findall(r"([\w.-]+)=", text)}


def test_no_dockerfile_sets_a_label_the_build_sets(tmp_path: Path) -> None:
    """One source per label (docs/build-system.md, "OCI labels"): a LABEL in a Dockerfile that
    the build also passes with --label would be overridden at once and only mislead."""
    graph = load_graph(PROJECT)
    facts = Facts(
        git=GitInfo(sha="0" * 40, dirty=False, source="https://example.org/x.git"),
        os_images={root.parent: "sha256:" + "0" * 64 for root in graph.roots()},
        repository_files=[],
        baked_ca="",
        created="2026-01-01T00:00:00+00:00",
        work_dir=tmp_path,
    )
    steps = make_steps(
        graph,
        plan_images(graph, sorted(graph.images)),
        request=BuildRequest(),
        facts=facts,
        platforms=("linux/amd64",),
        host="linux/amd64",
    )
    assert len(steps) == len(graph.images) > 1
    both = {
        step.name: sorted(
            set(step.delivery.labels)
            & _label_keys((PROJECT / graph.get(step.name).dockerfile).read_text(encoding="utf-8"))
        )
        for step in steps
    }
    assert {name: keys for name, keys in both.items() if keys} == {}
    assert "org.opencontainers.image.title" in steps[0].delivery.labels


def test_label_keys_reads_continued_label_instructions() -> None:
    dockerfile = 'FROM x\nLABEL a.b="1" \\\n      c-d=2\nlabel e=3\nRUN echo LABEL=f\n'
    assert _label_keys(dockerfile) == {"a.b", "c-d", "e"}
