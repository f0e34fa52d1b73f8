"""Unit tests of the build executor's planning parts (no Docker): names, build args,
input digests, artifacts, CA files, OS suites, failure reasons, exit codes, summary."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kfimages import build as b
from kfimages.bootstrap import suite_for
from kfimages.ca import ca_digest, collect_ca_files, fill_ca_dir
from kfimages.errors import UserError
from kfimages.gitinfo import read_git_info
from kfimages.graph import Graph
from tests.unit.conftest import Repo

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def digest(graph: Graph, name: str, **kw: object) -> str:
    image = graph.get(name)
    args = {"build_args": {}, "artifact_urls": [], "ca": "", "parent": "p", **kw}
    return b.input_digest(image, root=graph.root, **args)  # type: ignore[arg-type]


def test_expand_names_all_affected_and_errors(chain: Repo) -> None:
    graph = chain.graph()
    assert b.expand_names(graph, ["jupyter", "base", "jupyter"], base_ref=None) == [
        "jupyter",
        "base",
    ]
    assert b.expand_names(graph, ["all"], base_ref=None) == sorted(graph.images)
    chain.append("codeserver/Dockerfile")
    assert b.expand_names(graph, ["affected"], base_ref="main") == ["codeserver"]
    with pytest.raises(UserError, match="needs --base"):
        b.expand_names(graph, ["affected"], base_ref=None)
    with pytest.raises(UserError, match="only meaningful with --affected"):
        b.expand_names(graph, ["base"], base_ref="main")
    with pytest.raises(UserError, match="unknown image 'nope'; valid names: base, codeserver"):
        b.expand_names(graph, ["nope"], base_ref=None)
    with pytest.raises(UserError, match="name at least one image"):
        b.expand_names(graph, [], base_ref=None)


def test_plan_adds_ancestors_parents_first(chain: Repo) -> None:
    names = [i.name for i in b.plan_names(chain.graph(), ["pytorch.cuda", "codeserver"])]
    assert names == ["base", "codeserver", "jupyter", "pytorch.cuda"]


def test_env_build_args_apply_to_declared_args_only(repo: Repo) -> None:
    repo.write("a/Dockerfile", "ARG BASE_IMG=x:y\nFROM $BASE_IMG\nARG TORCH_INDEX_URL=pypi\n")
    repo.write("a/image.yaml", "build_args:\n  TORCH_INDEX_URL: yaml\n  OTHER: 1\n")
    repo.commit()
    overrides = b.env_build_args(
        {"KFIMAGES_BUILD_ARG_TORCH_INDEX_URL": "mirror", "KFIMAGES_BUILD_ARG_UNUSED": "u", "X": "1"}
    )
    assert overrides == {"TORCH_INDEX_URL": "mirror", "UNUSED": "u"}
    image = repo.graph().get("a")
    args = b.resolve_build_args(image, root=repo.root, overrides=overrides)
    assert args == {"TORCH_INDEX_URL": "mirror", "OTHER": "1"}
    with pytest.raises(UserError, match="BASE_IMG is not allowed"):
        b.resolve_build_args(image, root=repo.root, overrides={"BASE_IMG": "evil:1"})


def test_artifact_url_follows_its_build_arg(repo: Repo) -> None:
    repo.image("a", "x:y")
    repo.write(
        "a/image.yaml",
        "artifacts:\n  - {name: tool, url: 'http://h/t.tgz', build_arg: TOOL_URL}\n"
        "  - {name: fixed, url: 'http://h/f.tgz'}\n",
    )
    repo.commit()
    image = repo.graph().get("a")
    urls = [url for _, url in b.effective_artifacts(image, {"TOOL_URL": "file:///m/t.tgz"})]
    assert urls == ["file:///m/t.tgz", "http://h/f.tgz"]
    assert [url for _, url in b.effective_artifacts(image, {})] == [
        "http://h/t.tgz",
        "http://h/f.tgz",
    ]


def test_input_digest_tracks_build_inputs_only(chain: Repo) -> None:
    graph = chain.graph()
    before = digest(graph, "pytorch.cpu")
    chain.write("pytorch/README.md", "# docs only\n")
    chain.append("pytorch/cuda.Dockerfile")  # another variant's Dockerfile
    assert digest(graph, "pytorch.cpu") == before
    chain.write("pytorch/image.yaml", "size_budget_mb: 10\n")  # enters via build args only
    assert digest(chain.graph(), "pytorch.cpu") == before
    assert digest(graph, "pytorch.cpu", build_args={"A": "1"}) != before
    assert digest(graph, "pytorch.cpu", parent="other") != before
    assert digest(graph, "pytorch.cpu", ca="ca") != before
    assert digest(graph, "pytorch.cpu", artifact_urls=["http://x"]) != before
    chain.append("pytorch/requirements.txt")  # a shared file of the folder
    changed = digest(graph, "pytorch.cpu")
    assert changed != before
    os.chmod(chain.root / "pytorch" / "requirements.txt", 0o755)  # the mode counts too
    assert digest(graph, "pytorch.cpu") != changed


def test_input_digest_includes_image_yaml_paths(repo: Repo) -> None:
    repo.image("a", "x:y")
    repo.write("a/image.yaml", "paths: ['shared/**']\n")
    repo.write("shared/fonts/f.txt", "1\n")
    repo.commit()
    graph = repo.graph()
    image = graph.get("a")

    def extra() -> list[str]:
        return b.extra_files(image, files=b.repository_files(repo.root))

    assert extra() == ["shared/fonts/f.txt"]
    before = digest(graph, "a", extra_files=extra())
    repo.write("shared/fonts/f.txt", "2\n")
    assert digest(graph, "a", extra_files=extra()) != before


def test_git_tag_is_sha_and_dirty(repo: Repo) -> None:
    repo.image("a", "x:y")
    sha = repo.commit()
    info = read_git_info(repo.root)
    assert (info.tag, info.source) == (f"sha-{sha[:12]}", str(repo.root.resolve()))
    assert b.default_tags(info) == (f"sha-{sha[:12]}", "latest")
    repo.write("untracked.txt")
    assert read_git_info(repo.root).tag == f"sha-{sha[:12]}-dirty"
    repo.git("remote", "add", "upstream", "https://example.org/x.git")
    assert read_git_info(repo.root).source == "https://example.org/x.git"
    with pytest.raises(UserError, match="invalid tag"):
        b.check_tags(["bad tag"])


def test_ca_files_from_options_directories_and_env(tmp_path: Path) -> None:
    one = tmp_path / "one.crt"
    one.write_text(PEM)
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "two.crt").write_text(PEM)
    (folder / "ignored.txt").write_text("x")
    assert collect_ca_files([str(one), str(folder)], environ={}) == [one, folder / "two.crt"]
    env = {"KFIMAGES_CA_CERT": f"{one}{os.pathsep}{folder}"}
    assert collect_ca_files([], environ=env) == [one, folder / "two.crt"]
    assert collect_ca_files([str(one)], environ=env) == [one], "--ca-cert wins over the env"
    assert collect_ca_files([], environ={}) == []
    target = tmp_path / "ctx"
    fill_ca_dir([one, folder / "two.crt"], target=target)
    assert sorted(p.name for p in target.iterdir()) == ["00-one.crt", "01-two.crt"]
    assert ca_digest([one]) != ca_digest([])
    bad = tmp_path / "bad.crt"
    bad.write_text("not a cert")
    with pytest.raises(UserError, match="not a PEM certificate"):
        collect_ca_files([str(bad)], environ={})
    with pytest.raises(UserError, match="does not exist"):
        collect_ca_files([str(tmp_path / "missing.crt")], environ={})
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match=r"holds no \*\.crt"):
        collect_ca_files([str(empty)], environ={})


def test_os_suite_from_the_tag() -> None:
    assert suite_for("debian:trixie-slim") == "trixie"
    assert suite_for("localhost:5000/debian:bookworm") == "bookworm"
    with pytest.raises(UserError, match="--suite"):
        suite_for("debian:13-slim")
    with pytest.raises(UserError, match="--suite"):
        suite_for("localhost:5000/debian")


def test_failure_reason_names_the_step() -> None:
    lines = [
        "#7 0.3 about to fail",
        'ERROR: failed to solve: process "/bin/sh -c echo hi && exit 7" did not complete '
        "successfully: exit code: 7",
    ]
    assert b.failure_reason(lines, code=1) == "RUN echo hi && exit 7 failed (exit code: 7)"
    assert b.failure_reason(["ERROR: failed to solve: x: not found"], code=1) == (
        "failed to solve: x: not found"
    )
    assert b.failure_reason([], code=9) == "buildx exited with 9"


def _result(name: str, status: str, reason: str = "") -> b.Result:
    return b.Result(name=name, ref=f"r/{name}:t", status=status, duration=1.5, reason=reason)


def test_exit_codes_and_summary() -> None:
    ok = b.BuildReport(results=[_result("a", b.BUILT), _result("b", b.REUSED)])
    assert ok.exit_code == b.EXIT_OK
    blocked = b.BuildReport(
        results=[
            _result("a", b.BUILT),
            _result("r", b.BLOCKED, "artifact x: cannot reach http://h"),
            _result("rr", b.SKIPPED, "parent r blocked: artifact x: cannot reach http://h"),
        ]
    )
    assert blocked.exit_code == b.EXIT_BLOCKED
    failed = b.BuildReport(results=[*blocked.results, _result("f", b.FAILED, "RUN x failed")])
    assert failed.exit_code == b.EXIT_FAILED
    assert b.BuildReport(results=ok.results, push_failed=True).exit_code == b.EXIT_FAILED
    summary = b.format_summary(failed).splitlines()
    assert summary[0].split() == ["IMAGE", "REF", "STATUS", "TIME", "REASON"]
    assert summary[3].split()[:4] == ["rr", "r/rr:t", "skipped", "1.5s"]
    assert summary[3].endswith("parent r blocked: artifact x: cannot reach http://h")
    assert summary[-1] == "1 built, 0 reused, 1 failed, 1 blocked, 1 skipped; exit code 1"


def test_skip_reason_keeps_the_root_cause() -> None:
    assert b._skip_reason(_result("p", b.FAILED, "boom")) == "parent p failed"
    blocked = _result("p", b.BLOCKED, "artifact t: cannot reach u")
    assert b._skip_reason(blocked) == "parent p blocked: artifact t: cannot reach u"
    skipped = _result("c", b.SKIPPED, "parent p failed")
    assert b._skip_reason(skipped) == "parent p failed"


def test_options_are_checked_before_docker(chain: Repo) -> None:
    graph = chain.graph()
    with pytest.raises(UserError, match="--jobs must be at least 1"):
        b.build_images(graph, ["base"], b.BuildOptions(jobs=0))
    with pytest.raises(UserError, match="--push needs a registry"):
        b.build_images(graph, ["base"], b.BuildOptions(push=True))
