"""Images over time, against the real engine: a build keeps the image `latest` replaced as
`previous`, writes each image's SBOM and manifest into the folder its summary names, and two
builds of a tiny chain with one changed pin differ by exactly that change (`invoke diff NAME`,
`invoke release-notes`, the lines smoke prints for each rebuilt image)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from kfimages.build import retag
from kfimages.build.report import Result, Status
from kfimages.build.stop import STOP
from kfimages.ship.release import rebuilt_lines
from tests.integration.conftest import Repo, docker
from tests.integration.test_sbom import write_image

UPGRADE_ROW = "upgraded  pypi  kfit_demo  1.0.0  1.1.0  minor"


def image_id(ref: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", ref, check=False).stdout.strip()


def chain_with_pin(repo: Repo, os_image: str, version: str) -> None:
    """a (FROM the OS image) holds the Python distribution kfit_demo==`version`; b FROM a."""
    write_image(repo, os_image, python_version=version)
    repo.image("b", "a", "RUN echo b > /b.txt")
    repo.commit(f"kfit_demo {version}")


def build(repo: Repo, tag: str) -> str:
    done = repo.invoke("build", "a,b", "--registry", repo.registry, "--tag", tag, "--tag", "latest")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_two_builds_with_one_changed_pin_give_exactly_that_change(
    repo: Repo, os_image: str, tmp_path: Path
) -> None:
    chain_with_pin(repo, os_image, "1.0.0")
    summary = build(repo, "s1")
    folder = repo.path / "artifacts" / "reports" / "s1"
    assert f"reports (SBOM, manifest): {folder}/ (written a, b)" in summary
    for name in ("a", "b"):
        doc = json.loads((folder / f"{name}.cdx.json").read_text(encoding="utf-8"))
        purls = {c.get("purl") for c in doc["components"]}
        assert "pkg:pypi/kfit-demo@1.0.0" in purls, name
        assert f"# Build manifest: {name}\n" in (folder / f"{name}.md").read_text()
    first = {name: image_id(repo.ref(name, "s1")) for name in ("a", "b")}
    assert image_id(repo.ref("a", "previous")) == ""

    cold = repo.invoke("diff", "a", "--registry", repo.registry)
    assert cold.returncode == 0, cold.stderr
    assert cold.stdout == (
        f"a: no {repo.ref('a', 'previous')} (its first build here, or a cold run): no previous "
        "image to compare, skipped\n"
    )
    cold_lines = list(rebuilt_lines([Result("a", repo.ref("a", "latest"), Status.BUILT)]))
    assert cold_lines == [cold.stdout.strip()]

    chain_with_pin(repo, os_image, "1.1.0")
    build(repo, "s2")
    for name in ("a", "b"):
        assert image_id(repo.ref(name, "previous")) == first[name], f"{name}: previous"
        assert image_id(repo.ref(name, "latest")) == image_id(repo.ref(name, "s2"))
        assert image_id(repo.ref(name, "latest")) != first[name]
        done = repo.invoke("diff", name, "--registry", repo.registry)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].startswith(f"old: {repo.ref(name, 'previous')}  sha256:")
        assert lines[1].startswith(f"new: {repo.ref(name, 'latest')}  sha256:")
        assert lines[3:] == [
            "packages: 1 upgraded",
            "",
            "change    type  package    old    new    kind",
            UPGRADE_ROW,
        ], name

    out = tmp_path / "notes"
    notes = repo.invoke("release-notes", "a,b", "--registry", repo.registry, "--output", str(out))
    assert notes.returncode == 0, notes.stderr
    assert notes.stdout.splitlines() == [str(out / "a.md"), str(out / "b.md")]
    for name in ("a", "b"):
        text = (out / f"{name}.md").read_text(encoding="utf-8")
        assert [line for line in text.splitlines() if line.startswith("|")] == [
            "| type | package | old | new | kind |",
            "|---|---|---|---|---|",
            "| pypi | kfit_demo | 1.0.0 | 1.1.0 | minor |",
        ], name
        assert "- Packages: 1 upgraded" in text
    results = [Result("b", repo.ref("b", "latest"), Status.BUILT),
               Result("a", repo.ref("a", "latest"), Status.REUSED)]  # fmt: skip
    printed = list(rebuilt_lines(results))
    assert len(printed) == 1, "only a rebuilt image is compared"
    assert printed[0].startswith(f"== b: {repo.ref('b', 'previous')} -> {repo.ref('b', 'latest')}")
    assert printed[0].rstrip().endswith(UPGRADE_ROW)

    again = build(repo, "s2")  # nothing changed: reused, previous stays, reports not re-read
    assert (
        f"reports (SBOM, manifest): {repo.path / 'artifacts/reports/s2'}/ (unchanged a, b)" in again
    )
    assert image_id(repo.ref("a", "previous")) == first["a"]

    for args in (("diff", "nosuch"), ("release-notes", "a,nosuch"), ("diff", "a,b"), ("diff",)):
        bad = repo.invoke(*args, "--registry", repo.registry)
        assert bad.returncode == 2, (args, bad.stdout, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    unbuilt = repo.invoke("diff", "a", "--registry", f"{repo.registry}-none")
    assert unbuilt.returncode == 2
    assert unbuilt.stderr.startswith(f"error: no local image a ({repo.registry}-none/a:latest)")


def test_previous_follows_latest_after_a_stop_request(repo: Repo, os_image: str) -> None:
    """A signal that comes once `latest` moved (BuildKit exported) must not leave `previous`
    behind: follow() completes the move although a stop was requested (with a STOP.check in
    it, previous stays on the older image and this fails)."""
    repo.image("a", os_image, "RUN echo one > /v")
    repo.commit("a")
    assert repo.build("a", tags=("s1", "latest")).exit_code == 0
    repo.image("a", os_image, "RUN echo two > /v")
    repo.commit("a two")
    assert repo.build("a", tags=("s2",)).exit_code == 0
    latest, s1, s2 = (repo.ref("a", t) for t in ("latest", "s1", "s2"))
    before = retag.Replaced(ref=latest, previous=repo.ref("a", "previous"), image_id=image_id(s1))
    docker("tag", s2, latest)  # what BuildKit's export does with `-t latest`
    STOP.request(signal.SIGTERM)
    try:
        moved = retag.follow(before)
    finally:
        STOP.reset()
    assert moved == repo.ref("a", "previous")
    assert image_id(repo.ref("a", "previous")) == image_id(s1)
    assert retag.follow(retag.Replaced(latest, repo.ref("a", "previous"), image_id(s2))) is None
