"""Which integration tests `invoke integration` runs for the changes since a base ref
(kfimages.verify.integration), on real throwaway git repositories shaped like this one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kfimages.verify.integration import (
    BUILD_SYSTEM,
    REPO_IMAGES_OPTION,
    Scope,
    Selection,
    build_system_changes,
    decide,
    pytest_command,
    select,
)
from tests.unit.conftest import Repo

PROJECT = Path(__file__).resolve().parents[2]


def selection(repo: Repo, base: str = "main") -> Selection:
    return select(repo.graph(), base_ref=base)


def test_no_base_ref_runs_every_test(chain: Repo) -> None:
    chosen = selection(chain, base="")
    assert chosen.scope == Scope.ALL
    assert chosen.pytest_args() == []
    assert "no base ref" in chosen.line


def test_a_leaf_image_s6_script_skips_every_test_and_says_so(chain: Repo) -> None:
    """The case of the issue: a change to one leaf image's s6 script touches no build-system
    path and no image the integration tests build or read: nothing runs, one line says why."""
    chain.write("codeserver/s6/services.d/codeserver/run", "#!/bin/sh\nexec true\n")
    chain.commit("codeserver: its service")
    chosen = selection(chain)
    assert chosen.scope == Scope.IMAGES, "codeserver is affected: the tests of any image run"
    assert chosen.images == ("codeserver",)
    assert chosen.pytest_args() == [REPO_IMAGES_OPTION, "codeserver"]
    assert "kfimages/, tasks.py" in chosen.line
    assert "changed since main" in chosen.line


def test_docs_only_change_skips_every_test(chain: Repo) -> None:
    chain.write("docs/build-system.md", "# build, rewritten\n")
    chain.write("jupyter/README.md", "# jupyter, rewritten\n")  # *.md: no image input
    chain.commit("docs")
    chosen = selection(chain)
    assert chosen.scope == Scope.NONE
    assert chosen.pytest_args() == []
    assert chosen.line.startswith("integration: skipped: nothing under kfimages/, tasks.py")
    assert chosen.line.endswith("changed since main, and no image is affected")


@pytest.mark.parametrize(
    "path",
    [
        "kfimages/build/run.py",
        "tasks.py",
        "noxfile.py",
        "requirements.txt",
        "pyproject.toml",
        "tests/integration/test_y.py",
        "tests/harness/registry.py",
    ],
)
def test_a_build_system_change_runs_every_test_naming_the_path(chain: Repo, path: str) -> None:
    chain.write(path, "# changed\n")
    chain.commit(f"change {path}")
    chosen = selection(chain)
    assert chosen.scope == Scope.ALL
    assert chosen.pytest_args() == []
    assert chosen.line == f"integration: every test: changed since main: {path}"


def test_uncommitted_and_untracked_changes_count(chain: Repo) -> None:
    chain.write("kfimages/new_module.py", "")  # untracked, not ignored
    assert selection(chain).scope == Scope.ALL
    (chain.root / "kfimages/new_module.py").unlink()
    chain.write("kfimages/debug.log", "ignored by .gitignore\n")
    assert selection(chain).scope == Scope.NONE


def test_unit_tests_and_scripts_are_not_the_integration_tests_inputs(chain: Repo) -> None:
    chain.write("tests/unit/test_x.py", "# changed\n")
    chain.write("scripts/install-docker.sh", "#!/bin/sh\n# changed\n")
    chain.write(".ci/run", "#!/bin/sh\n# changed\n")
    chain.commit("unit tests, scripts and CI")
    assert selection(chain).scope == Scope.NONE


def test_a_base_change_selects_the_tests_of_base_and_of_every_image(chain: Repo) -> None:
    chain.write("base/s6/cont-init.d/10-home", "#!/bin/sh\n# changed\n")
    chain.commit("base")
    chosen = selection(chain)
    assert chosen.scope == Scope.IMAGES
    assert chosen.images == ("base", "codeserver", "jupyter", "pytorch.cpu", "pytorch.cuda")
    assert "(base, codeserver, jupyter (+2 more))" in chosen.line


def test_many_changed_paths_are_shown_three_and_counted() -> None:
    paths = [f"kfimages/m{i}.py" for i in range(5)] + ["README.md"]
    chosen = decide(base_ref="origin/main", paths=paths, affected=())
    assert chosen.line == (
        "integration: every test: changed since origin/main: "
        "kfimages/m0.py, kfimages/m1.py, kfimages/m2.py (+2 more)"
    )
    assert build_system_changes(paths) == paths[:5]


def test_every_watched_path_of_this_repository_exists() -> None:
    """A renamed file or folder would silently stop selecting the tests."""
    for glob in BUILD_SYSTEM:
        assert (PROJECT / glob.removesuffix("/**")).exists(), glob


def test_the_selection_reaches_pytest() -> None:
    """The conftest keeps the tests marked repo_images with an affected image (or without
    names), and pytest says how many it deselected; a real pytest run of this project's
    integration conftest, collecting only."""
    chosen = decide(base_ref="main", paths=["codeserver/run"], affected=["codeserver"])
    command = pytest_command(chosen, extra=["--collect-only", "-p", "no:cacheprovider"])
    assert command[:5] == [sys.executable, "-m", "pytest", "tests/integration", "-q"]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    assert collected == ["tests/integration/test_ship.py::test_bake_print_accepts_the_real_graph"]
    assert "deselected" in done.stdout.splitlines()[-1]
    base = decide(base_ref="main", paths=["base/Dockerfile"], affected=["base", "codeserver"])
    done = subprocess.run(pytest_command(base, extra=["--collect-only"]), cwd=PROJECT,
                          capture_output=True, text=True, check=False)  # fmt: skip
    names = sorted(line.split("::")[1] for line in done.stdout.splitlines() if "::" in line)
    assert names == [
        "test_bake_print_accepts_the_real_graph",
        "test_new_image_lints_is_selected_alone_builds_and_passes_its_tests",
    ]


def test_invoke_integration_prints_the_line_and_runs_nothing_when_skipped(chain: Repo) -> None:
    """The task end to end in the throwaway repository: its tasks.py is this project's."""
    chain.write("tasks.py", (PROJECT / "tasks.py").read_text(encoding="utf-8"))
    chain.git("rm", "-q", "-r", "kfimages")  # the project's package, not the stand-in
    chain.commit("tasks")
    chain.git("branch", "-f", "main")
    chain.write("docs/build-system.md", "# only docs\n")
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "-r", str(chain.root), "integration", "--base", "main"],
        cwd=chain.root, capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT), "HOME": str(chain.root)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "integration: skipped: nothing under kfimages/, tasks.py, noxfile.py, pyproject.toml, "
        "requirements.txt, .hadolint.yaml, scripts/free-disk.sh, tests/__init__.py, "
        "tests/harness/, tests/integration/ changed since main, and no image is affected"
    ]


def test_the_tests_run_over_the_workers_given() -> None:
    """`--workers N` spreads the tests over N pytest-xdist processes; 1 runs them in one (the
    way to use --pdb); the selection's arguments stay before the extra ones."""
    chosen = decide(base_ref="main", paths=["codeserver/run"], affected=["codeserver"])
    spread = pytest_command(chosen, extra=["-x"], workers=3)
    assert spread[4:] == ["-q", REPO_IMAGES_OPTION, "codeserver", "-n", "3", "--dist",
                          "worksteal", "-x"]  # fmt: skip
    single = pytest_command(chosen, extra=["-x"], workers=1)
    assert single[4:] == ["-q", REPO_IMAGES_OPTION, "codeserver", "-x"]


def test_invoke_integration_refuses_a_bad_number_of_workers_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "integration", "--workers", "0"],
        cwd=PROJECT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == ["error: --workers must be at least 1, not 0"]
    assert done.stdout == ""
