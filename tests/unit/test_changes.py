"""Rebuild selection against real throwaway git repositories (kfimages.repo.changes)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kfimages import git
from kfimages.errors import UserError
from kfimages.globs import path_matches
from kfimages.repo.changes import affected, explain, select
from tests.unit.conftest import Repo

ALL = ["base", "codeserver", "jupyter", "pytorch.cpu", "pytorch.cuda"]


def names(repo: Repo, base: str = "main") -> list[str]:
    return repo.affected(base)


def changed_paths(*, root: Path, base_ref: str) -> set[str]:
    """The paths that differ between the merge-base with `base_ref` and the work tree."""
    commit = git.merge_base(root=root, base_ref=base_ref)
    return set(git.changed_paths(root=root, commit=commit))


# ------------------------------------------------------------- what is affected


def test_no_change_affects_nothing(chain: Repo) -> None:
    assert names(chain) == []
    assert changed_paths(root=chain.root, base_ref="main") == set()


def test_root_image_change_affects_everything_in_build_order(chain: Repo) -> None:
    chain.append("base/Dockerfile")
    chain.commit("base: change")
    assert names(chain) == ALL  # depth first, then name: parents before children


def test_variant_dockerfile_affects_only_that_variant(chain: Repo) -> None:
    chain.append("pytorch/cuda.Dockerfile")
    chain.commit()
    assert names(chain) == ["pytorch.cuda"]


def test_variant_dockerfile_change_includes_its_descendants(chain: Repo) -> None:
    chain.image("extra", "pytorch.cuda")
    chain.commit("add extra on top of cuda")
    chain.git("branch", "-f", "main")  # extra is part of the base now
    chain.append("pytorch/cuda.Dockerfile")
    assert names(chain) == ["pytorch.cuda", "extra"]


def test_dockerignore_files(chain: Repo) -> None:
    chain.write("pytorch/cpu.Dockerfile.dockerignore", "*.log\n")
    assert names(chain) == ["pytorch.cpu"]
    chain.write("pytorch/.dockerignore", "*.log\n")
    assert names(chain) == ["pytorch.cpu", "pytorch.cuda"]


def test_dockerfile_of_no_image_affects_nothing(chain: Repo) -> None:
    chain.write("pytorch/.Dockerfile", "not an image: no variant name\n")
    chain.write("pytorch/old.Dockerfile.dockerignore", "*\n")
    assert names(chain) == []


def test_shared_file_of_multi_variant_folder_affects_all_variants(chain: Repo) -> None:
    chain.append("pytorch/requirements.txt")
    chain.commit()
    assert names(chain) == ["pytorch.cpu", "pytorch.cuda"]


def test_middle_image_change_affects_it_and_descendants(chain: Repo) -> None:
    chain.write("jupyter/s6/services.d/jupyter/run", "#!/bin/sh\n")
    chain.commit()
    assert names(chain) == ["jupyter", "pytorch.cpu", "pytorch.cuda"]


def test_markdown_changes_affect_nothing(chain: Repo) -> None:
    chain.append("README.md")
    chain.append("jupyter/README.md")
    chain.write("pytorch/NOTES.md", "# notes\n")
    chain.append("docs/build-system.md")
    chain.commit("docs only")
    assert names(chain) == []
    assert "jupyter/README.md" in changed_paths(root=chain.root, base_ref="main")


def test_upper_case_markdown_extension_is_documentation_too(chain: Repo) -> None:
    # The old path-based selection matched `*.md` case-insensitively; NOTES.MD is docs.
    chain.write("pytorch/NOTES.MD", "# notes\n")
    chain.commit("docs only")
    assert names(chain) == []


def test_new_sibling_folder_untracked_affects_it_alone(chain: Repo) -> None:
    chain.image("rstudio", "base")
    chain.write("rstudio/s6/services.d/rstudio/run", "#!/bin/sh\n")
    # not committed, not staged: an untracked folder
    assert names(chain) == ["rstudio"]


def test_pycache_is_not_a_change(chain: Repo) -> None:
    chain.write("base/__pycache__/x.pyc", "noise\n")
    assert names(chain) == []


def test_ignored_files_are_not_changes(chain: Repo) -> None:
    # changes.py: the work tree side is "committed, staged, unstaged and
    # untracked-not-ignored files"; .gitignore has *.log
    chain.write("base/debug.log", "noise\n")
    assert "base/debug.log" not in changed_paths(root=chain.root, base_ref="main")
    assert names(chain) == []


def test_deleted_image_is_gone_and_affects_nothing(chain: Repo) -> None:
    chain.git("rm", "-q", "-r", "codeserver")
    chain.commit("drop codeserver")
    assert "codeserver/Dockerfile" in changed_paths(root=chain.root, base_ref="main")
    assert names(chain) == []


def test_deleted_variant_affects_nothing_else(chain: Repo) -> None:
    chain.git("rm", "-q", "pytorch/cuda.Dockerfile")
    chain.commit("drop cuda")
    assert names(chain) == []
    assert "pytorch.cuda" not in chain.graph().images


def test_deleted_image_with_children_must_be_repointed(chain: Repo) -> None:
    chain.git("rm", "-q", "-r", "jupyter")
    chain.commit("drop jupyter")
    with pytest.raises(UserError, match="parent 'jupyter' is neither"):
        chain.graph()  # a dangling parent is a graph error
    chain.image("pytorch", "base", variant="cpu")
    chain.image("pytorch", "base", variant="cuda")
    assert names(chain) == ["pytorch.cpu", "pytorch.cuda"]


def test_renamed_folder_is_a_new_image(chain: Repo) -> None:
    chain.git("mv", "codeserver", "vscode")
    chain.commit("rename codeserver to vscode")
    paths = changed_paths(root=chain.root, base_ref="main")
    assert {"codeserver/Dockerfile", "vscode/Dockerfile"} <= paths
    assert names(chain) == ["vscode"]


def test_build_system_changes_affect_no_image(chain: Repo) -> None:
    for path in (
        "kfimages/__init__.py",
        "tasks.py",
        "noxfile.py",
        "requirements.txt",
        "pyproject.toml",
        "scripts/install-docker.sh",
        ".ci/run",
        "bench/plan.py",
        "tests/unit/test_x.py",
        "tests/integration/test_y.py",
    ):
        chain.append(path)
    chain.write("kfimages/new_module.py", "")
    chain.commit("build system")
    assert len(changed_paths(root=chain.root, base_ref="main")) == 11
    assert names(chain) == []


def test_shared_smoke_test_harness_affects_every_image(chain: Repo) -> None:
    chain.append("tests/images/helpers.py")
    chain.commit()
    assert names(chain) == ALL


def test_test_harness_affects_every_image(chain: Repo) -> None:
    chain.write("tests/harness/containers.py", "")
    assert names(chain) == ALL


def test_image_smoke_tests_affect_that_folder_and_descendants(chain: Repo) -> None:
    chain.append("tests/images/jupyter/test_jupyter.py")
    assert names(chain) == ["jupyter", "pytorch.cpu", "pytorch.cuda"]


def test_smoke_tests_of_a_top_level_folder_without_image_affect_nothing(chain: Repo) -> None:
    chain.write("tests/images/docs/test_docs.py", "")  # docs/ exists but is no image
    chain.write("tests/images/__pycache__/x.pyc", "")
    assert names(chain) == []


def test_shared_harness_package_affects_every_image(chain: Repo) -> None:
    # A folder of tests/images/ that names no top-level folder is shared harness code
    # (e.g. tests/images/harness/): every image's smoke tests may use it.
    chain.write("tests/images/harness/x.py", "")
    sel = explain(chain.graph(), base_ref="main")
    assert sel.names == ALL
    assert sel.reason("jupyter") == "changed: tests/images/harness/x.py; descendant of base"
    chain.git("clean", "-q", "-f", "-d", "tests/images/harness")
    chain.write("tests/images/gone/test_gone.py", "")  # the tests of a removed image folder
    assert names(chain) == ALL


def test_uncommitted_staged_and_untracked_changes_count(chain: Repo) -> None:
    chain.append("codeserver/Dockerfile")  # unstaged edit
    chain.write("pytorch/extra.txt")
    chain.git("add", "pytorch/extra.txt")  # staged only
    chain.write("tests/images/base/test_new.py", "")  # untracked
    paths = changed_paths(root=chain.root, base_ref="main")
    assert paths == {"codeserver/Dockerfile", "pytorch/extra.txt", "tests/images/base/test_new.py"}
    assert names(chain) == ALL


def test_changes_on_base_branch_after_fork_are_ignored(chain: Repo) -> None:
    chain.append("pytorch/cpu.Dockerfile")
    chain.commit("feature work")
    chain.git("checkout", "-q", "main")
    chain.append("base/Dockerfile")
    chain.commit("unrelated work on main")
    chain.git("checkout", "-q", "feature")
    # the merge-base is the fork point: main's later base change is not ours
    assert names(chain) == ["pytorch.cpu"]


def test_image_yaml_paths_trigger_the_image(chain: Repo) -> None:
    chain.write("shared/fonts/a.ttf", "font\n")
    chain.write("jupyter/image.yaml", "paths:\n  - shared/fonts\n  - 'licenses/**/*.txt'\n")
    chain.commit("jupyter watches shared paths")
    chain.git("branch", "-f", "main")
    chain.write("shared/fonts/b.ttf", "font\n")
    assert names(chain) == ["jupyter", "pytorch.cpu", "pytorch.cuda"]
    chain.git("clean", "-q", "-f", "shared")
    chain.write("licenses/x/y/MIT.txt")
    sel = explain(chain.graph(), base_ref="main")
    assert sel.names == ["jupyter", "pytorch.cpu", "pytorch.cuda"]
    assert sel.reasons["jupyter"] == "changed: licenses/x/y/MIT.txt"
    assert sel.reasons["pytorch.cuda"] == "descendant of jupyter"


def test_image_yaml_paths_can_name_a_markdown_file(chain: Repo) -> None:
    chain.write("codeserver/image.yaml", "paths: [codeserver/WELCOME.md]\n")
    chain.commit()
    chain.git("branch", "-f", "main")
    chain.write("codeserver/WELCOME.md", "hi\n")
    chain.write("jupyter/OTHER.md", "hi\n")
    assert names(chain) == ["codeserver"]


def test_variant_image_yaml_change_affects_that_variant_only(chain: Repo) -> None:
    # Exact selection: image.yaml is no input of its own; what it says about a variant is.
    chain.write("pytorch/image.yaml", "variants:\n  cuda:\n    build_args: {INDEX: cu124}\n")
    sel = explain(chain.graph(), base_ref="main")
    assert sel.names == ["pytorch.cuda"]
    assert sel.reason("pytorch.cuda") == "changed: (build arg INDEX)"


def test_variant_size_budget_affects_that_variant_only(chain: Repo) -> None:
    chain.write("pytorch/image.yaml", "variants:\n  cuda:\n    size_budget_mb: 9000\n")
    sel = explain(chain.graph(), base_ref="main")
    assert sel.names == ["pytorch.cuda"]
    assert sel.reason("pytorch.cuda") == "changed: (size_budget_mb)"


def test_folder_build_args_in_image_yaml_affect_every_variant(chain: Repo) -> None:
    chain.write("pytorch/image.yaml", "variants:\n  cuda:\n    size_budget_mb: 9000\n")
    chain.commit("cuda budget")
    chain.git("branch", "-f", "main")
    chain.write(
        "pytorch/image.yaml",
        "build_args: {TORCH: '2.5'}\nvariants:\n  cuda:\n    size_budget_mb: 9000\n",
    )
    assert names(chain) == ["pytorch.cpu", "pytorch.cuda"]


def test_image_yaml_comment_or_reordering_affects_nothing(chain: Repo) -> None:
    chain.write("pytorch/image.yaml", "build_args: {A: '1', B: '2'}\n")
    chain.commit()
    chain.git("branch", "-f", "main")
    chain.write("pytorch/image.yaml", "# same settings\nbuild_args: {B: '2', A: '1'}\n")
    assert names(chain) == []


def test_image_yaml_artifact_change_affects_that_image(chain: Repo) -> None:
    chain.write("codeserver/image.yaml", "artifacts: [{name: t, url: 'http://h/t1.tgz'}]\n")
    chain.commit()
    chain.git("branch", "-f", "main")
    chain.write("codeserver/image.yaml", "artifacts: [{name: t, url: 'http://h/t2.tgz'}]\n")
    sel = explain(chain.graph(), base_ref="main")
    assert sel.names == ["codeserver"]
    assert sel.reason("codeserver") == "changed: (artifact t)"


def test_executable_bit_is_an_input(chain: Repo) -> None:
    (chain.root / "base/s6/cont-init.d/10-home").chmod(0o755)
    assert names(chain) == ALL


def test_explain_says_why(chain: Repo) -> None:
    chain.append("base/Dockerfile")
    chain.append("jupyter/Dockerfile")
    sel = explain(chain.graph(), base_ref="main")
    assert sel.reason("base") == "changed: base/Dockerfile"
    assert sel.reason("jupyter") == "changed: jupyter/Dockerfile; descendant of base"
    assert sel.reason("pytorch.cpu") == "descendant of jupyter"
    assert sel.reason("codeserver") == "descendant of base"


def test_reason_truncates_long_path_lists(chain: Repo) -> None:
    for n in range(5):
        chain.write(f"codeserver/f{n}.txt")
    sel = explain(chain.graph(), base_ref="main")
    assert sel.reason("codeserver").endswith("(+2 more)")


def test_graph_in_a_subfolder_of_the_repository(chain: Repo) -> None:
    sub = Repo(chain.root / "images")
    sub.image("solo", "debian:trixie-slim")
    chain.commit("images in a subfolder")
    chain.git("branch", "-f", "main")
    sub.append("solo/Dockerfile")
    chain.append("base/Dockerfile")  # outside the graph root: not seen
    assert changed_paths(root=sub.root, base_ref="main") == {"solo/Dockerfile"}
    assert names(sub) == ["solo"]


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("shared", "shared/a/b.txt", True),
        ("shared/", "shared/a.txt", True),
        ("shared", "sharedx/a.txt", False),
        ("*.txt", "a.txt", True),
        ("*.txt", "dir/a.txt", False),
        ("**/*.txt", "dir/sub/a.txt", True),
        ("**/*.txt", "a.txt", True),
        ("lic/**", "lic/a/b", True),
        ("lic/?.txt", "lic/a.txt", True),
        ("lic/[ab].txt", "lic/c.txt", False),
        ("lic/[!ab].txt", "lic/c.txt", True),
    ],
)
def test_path_globs(pattern: str, path: str, expected: bool) -> None:
    assert path_matches(pattern, path) is expected


# ------------------------------------------------- select(): fingerprints, no git


def _fingerprints(**changed: dict[str, str]) -> dict[str, dict[str, str]]:
    out = {name: {"(dockerfile)": f"{name}/Dockerfile"} for name in ALL}
    for name, extra in changed.items():
        out[name.replace("_", ".")] = {**out[name.replace("_", ".")], **extra}
    return out


def test_select_compares_old_and_new_fingerprints(chain: Repo) -> None:
    graph = chain.graph()
    old = _fingerprints()
    assert select(graph, old=old, new=old, paths=["README.md", "jupyter/x"]).names == []
    new = _fingerprints(jupyter={"jupyter/x": "-:abc"})
    sel = select(graph, old=old, new=new, paths=["jupyter/x"])
    assert sel.names == ["jupyter", "pytorch.cpu", "pytorch.cuda"]
    assert dict(sel.triggers) == {"jupyter": ("jupyter/x",)}
    assert dict(sel.via) == {"pytorch.cpu": "jupyter", "pytorch.cuda": "jupyter"}
    assert sel.paths == frozenset({"jupyter/x"})
    # A fingerprint key that disappears counts as much as one that appears or changes.
    gone = {**old, "codeserver": {}}
    assert select(graph, old=old, new=gone, paths=[]).reason("codeserver") == (
        "changed: (dockerfile)"
    )
    # An image missing on the old side is new.
    fresh = {k: v for k, v in old.items() if k != "pytorch.cuda"}
    assert select(graph, old=fresh, new=old, paths=[]).reasons == {
        "pytorch.cuda": "changed: (new image)"
    }


def test_select_test_paths(chain: Repo) -> None:
    graph = chain.graph()
    same = _fingerprints()
    hits = select(graph, old=same, new=same, paths=["tests/images/jupyter/test_jupyter.py"])
    assert hits.names == ["jupyter", "pytorch.cpu", "pytorch.cuda"]
    assert (
        hits.names
        == select(graph, old=same, new=same, paths=["tests/images/jupyter/sub/data.txt"]).names
    )
    assert select(graph, old=same, new=same, paths=["tests/images/conftest.py"]).names == ALL
    assert select(graph, old=same, new=same, paths=["tests/images/harness/x.py"]).names == ALL
    assert select(graph, old=same, new=same, paths=["tests/images/docs/x.py"]).names == []
    assert select(graph, old=same, new=same, paths=["tests/unit/test_x.py"]).names == []


# ----------------------------------------------------------------------- errors


def test_base_ref_that_does_not_exist(chain: Repo) -> None:
    with pytest.raises(
        UserError, match=r"base ref 'origin/nope' does not exist.*git fetch origin nope"
    ):
        affected(chain.graph(), base_ref="origin/nope")


def test_base_ref_with_no_common_history(chain: Repo) -> None:
    chain.git("checkout", "-q", "--orphan", "other")
    chain.commit("unrelated root")
    chain.git("checkout", "-q", "feature")
    with pytest.raises(UserError, match="no common history"):
        affected(chain.graph(), base_ref="other")


def test_option_like_base_ref_is_rejected(chain: Repo) -> None:
    with pytest.raises(UserError, match="invalid base ref"):
        changed_paths(root=chain.root, base_ref="--output=/tmp/x")


def test_not_a_git_repository(tmp_path: Path, git_isolated: None) -> None:
    plain = Repo(tmp_path / "plain")
    plain.image("base", "debian:trixie-slim")
    with pytest.raises(UserError, match="not a git repository"):
        affected(plain.graph(), base_ref="main")


def test_repository_without_commits(repo: Repo) -> None:
    repo.image("base", "debian:trixie-slim")
    with pytest.raises(UserError, match="HEAD has no commit"):
        affected(repo.graph(), base_ref="main")


def _shallow_clone(source: Repo, dest: Path, *, branch: str) -> Repo:
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--depth",
            "1",
            "--branch",
            branch,
            f"file://{source.root}",
            str(dest),
        ],
        check=True,
        capture_output=True,
    )
    return Repo(dest)


def test_shallow_clone_missing_base_ref(chain: Repo, tmp_path: Path) -> None:
    first = chain.git("rev-parse", "main")
    chain.append("base/Dockerfile")
    chain.commit("second")
    chain.append("jupyter/Dockerfile")
    chain.commit("third")
    clone = _shallow_clone(chain, tmp_path / "shallow", branch="feature")
    with pytest.raises(UserError, match=r"shallow clone.*git fetch --deepen=.*--unshallow"):
        affected(clone.graph(), base_ref=first)


def test_shallow_clone_missing_merge_base(chain: Repo, tmp_path: Path) -> None:
    chain.git("checkout", "-q", "main")
    chain.append("codeserver/Dockerfile")
    chain.commit("main moves on")
    chain.git("checkout", "-q", "feature")
    chain.append("base/Dockerfile")
    chain.commit("feature 1")
    chain.append("jupyter/Dockerfile")
    chain.commit("feature 2")
    clone = _shallow_clone(chain, tmp_path / "shallow", branch="feature")
    clone.git("fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main")
    with pytest.raises(
        UserError, match=r"merge-base .* missing from this shallow clone.*--unshallow"
    ):
        affected(clone.graph(), base_ref="origin/main")
    clone.git("fetch", "-q", "--unshallow", "origin")  # the advice works
    assert names(clone, base="origin/main") == ALL
