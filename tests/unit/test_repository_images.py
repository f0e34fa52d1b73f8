"""Facts about this repository's own images (no Docker): what every image.yaml and Dockerfile
must say, or must not."""

from __future__ import annotations

import re
import subprocess
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


PYTORCH = PROJECT / "jupyter-pytorch-full"
_INDEX_ARG_RE = re.compile(r"^ARG TORCH_INDEX_URL=(\S+)", re.MULTILINE)


def _locked_indexes() -> set[str]:
    """The indexes that have a hashed torch lock (`# index-url:` of requirements-torch*)."""
    found = set()
    for lock in PYTORCH.glob("requirements-torch*.lock.txt"):
        match = re.search(r"^# index-url: (\S+)", lock.read_text(encoding="utf-8"), re.MULTILINE)
        if match:
            found.add(match.group(1).rstrip("/"))
    return found


def test_every_pytorch_variant_installs_torch_from_a_hashed_lock_by_default() -> None:
    """What CI tests is what is published: each variant's default torch index has a lock
    (the cpu variant defaulted to PyTorch's CPU index, which has none: torch unhashed)."""
    locked = _locked_indexes()
    assert locked, "no requirements-torch*.lock.txt names its index"
    for dockerfile in sorted(PYTORCH.glob("*.Dockerfile")):
        match = _INDEX_ARG_RE.search(dockerfile.read_text(encoding="utf-8"))
        assert match, f"{dockerfile.name} declares no ARG TORCH_INDEX_URL default"
        assert match.group(1).rstrip("/") in locked, f"{dockerfile.name}: {match.group(1)}"


def test_install_full_refuses_an_index_without_a_lock(tmp_path: Path) -> None:
    """An index without a lock is refused before uv runs (once pip installed the trio by
    version only, without hashes). There is no /tmp/uv here: a regression fails here, it
    installs nothing."""
    env = {
        "PATH": "/usr/bin:/bin",
        "TARGETARCH": "amd64",
        "UV_CACHE_DIR": str(tmp_path / "cache"),
        "TORCH_INDEX_URL": "https://download.pytorch.org/whl/cpu/",
    }
    done = subprocess.run(
        ["bash", str(PYTORCH / "install-full.sh"), "torch"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert (
        "no lock for the torch index https://download.pytorch.org/whl/cpu on "
        "x86_64-manylinux_2_28: refusing to install torch without hashes" in done.stderr
    ), done.stderr
