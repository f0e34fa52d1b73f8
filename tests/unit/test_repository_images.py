"""Facts about this repository's own images (no Docker): what every image.yaml must say."""

from __future__ import annotations

from pathlib import Path

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
