"""The generated workflow's publishing path against a real registry: a stage's leg pushes
only its `sha-` refs (`invoke build --push --no-lists --immutable-only --record`), and
`invoke lists` promotes the moving tags from them (kfimages.ship.push)."""

from __future__ import annotations

import json
import urllib.request

from tests.harness.registry import MANIFEST_LIST_TYPES, Registry
from tests.integration.conftest import Repo

SHA = "sha-0123456789ab"
IMAGE_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)


def image_digest(registry: Registry, repository: str, tag: str) -> str:
    """The digest of the one image a tag names: itself, or the only entry of its list (a
    registry-side copy with one source may be either, depending on buildx's version)."""
    request = urllib.request.Request(
        f"http://{registry.host}/v2/{repository}/manifests/{tag}",
        headers={"Accept": ", ".join((*MANIFEST_LIST_TYPES, *IMAGE_TYPES))},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        kind = response.headers["Content-Type"]
        digest = str(response.headers["Docker-Content-Digest"])
        document = json.load(response)
    if kind in MANIFEST_LIST_TYPES:
        (entry,) = document["manifests"]
        return str(entry["digest"])
    return digest


def test_an_immutable_only_leg_moves_nothing_and_lists_promotes_it(
    chain: Repo, registry: Registry
) -> None:
    prefix = f"{registry.host}/{chain.registry}"
    record = chain.path.parent / "pushed" / "b-amd64.json"  # outside the work tree
    done = chain.invoke(
        "build", "b", "--registry", prefix, "--tag", SHA, "--tag", "t1",
        "--platform", "linux/amd64", "--push", "--no-lists", "--immutable-only",
        "--record", str(record),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("a", "b"):
        assert registry.tags(f"{chain.registry}/{name}") == [f"{SHA}-amd64"], "nothing moving"
    rows = json.loads(record.read_text(encoding="utf-8"))
    assert {"image": "b", "platform": "linux/amd64", "tag": f"{prefix}/b:t1",
            "ref": f"{prefix}/b:t1-amd64", "source": f"{prefix}/b:{SHA}-amd64"} in rows  # fmt: skip

    done = chain.invoke("lists", str(record.parent))
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("a", "b"):
        repository = f"{chain.registry}/{name}"
        assert registry.tags(repository) == [SHA, f"{SHA}-amd64", "t1", "t1-amd64"]
        pushed = registry.digest(repository, f"{SHA}-amd64")
        for tag in ("t1-amd64", "t1", SHA):
            assert image_digest(registry, repository, tag) == pushed, (name, tag)
        assert registry.platforms(repository, "t1") == ["linux/amd64"]
