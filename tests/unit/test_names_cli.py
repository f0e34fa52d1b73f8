"""Every task that takes NAMES reads them in one grammar (kfimages.names): the same cases through
invoke's real command-line program, on a throwaway repository, give the same result for
`build`, `smoke`, `bake` and `manifest`. No Docker: DOCKER_HOST points at no daemon, so NAMES
that are accepted end at the engine check ("the Docker daemon is not running"), after the
names were parsed and resolved; bad ones end before it, in one line, exit 2."""

from __future__ import annotations

import io
import shutil
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

import invoke
import pytest
from invoke.program import Program

from kfimages import names
from tests.unit.conftest import Repo
from tests.unit.invoke_cli import PROJECT

TASKS = {
    "build": ("--dry-run",),
    "smoke": ("--dry-run",),  # a dry run checks no emulator, so every host gets this far
    "bake": (),
    "manifest": ("--output", "manifests"),
}
"""Each names-taking task, with the options that let any accepted NAMES reach the engine."""
NO_DAEMON = "error: the Docker daemon is not running"


@dataclass(frozen=True)
class Done:
    code: int
    stdout: str
    stderr: str


def run_cli(repo: Repo, *args: str) -> Done:
    """`invoke ARGS` in `repo` (with the project's tasks.py) through invoke's own Program, as
    the `invoke` command runs it, in this process (a process per case would take a second
    each)."""
    shutil.rmtree(repo.root / "kfimages", ignore_errors=True)  # the project's kfimages
    shutil.copy(PROJECT / "tasks.py", repo.root / "tasks.py")
    out, err, path = io.StringIO(), io.StringIO(), list(sys.path)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            Program(version=invoke.__version__).run(["invoke", *args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.path[:] = path  # the loader put the repository first
    return Done(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli_repo(chain: Repo, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """The chain repository with jupyter changed (affected since HEAD: jupyter, pytorch.*),
    as the current folder, and no Docker daemon."""
    chain.append("jupyter/Dockerfile")
    monkeypatch.chdir(chain.root)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.delenv("KFIMAGES_BASE_REF", raising=False)
    return chain


@pytest.mark.parametrize(
    "given",
    [
        ("jupyter",),
        ("jupyter,base",),
        ("all",),
        ("affected", "--base", "HEAD"),
        ("--base", "HEAD", "affected,codeserver"),  # options may come first
    ],
)
def test_accepted_names_reach_the_engine_in_every_task(
    cli_repo: Repo, given: tuple[str, ...]
) -> None:
    for task, options in TASKS.items():
        done = run_cli(cli_repo, task, *given, *options)
        assert (done.code, done.stderr.strip().splitlines()) == (2, [done.stderr.strip()]), task
        assert done.stderr.startswith(NO_DAEMON), (task, done.stderr)


UNKNOWN = (
    "error: unknown image 'nope'; valid names: base, codeserver, jupyter, pytorch.cpu, "
    "pytorch.cuda (see `invoke list`)"
)


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ((), f"error: {names.MISSING}"),
        (("--base", "HEAD"), f"error: {names.MISSING}"),
        (("nope",), UNKNOWN),
        (("jupyter,nope",), UNKNOWN),
        (("jupyter,,",), "error: malformed image list 'jupyter,,': an empty name; write "
                         "NAME[,NAME...] without empty names (jupyter)"),
        ((",jupyter",), "error: malformed image list ',jupyter': an empty name; write "
                        "NAME[,NAME...] without empty names (jupyter)"),
        (("affected",), "error: `affected` needs a base ref: pass --base REF (e.g. origin/main)"),
        (("jupyter", "--base", "HEAD"),
         "error: --base only goes with `affected` (e.g. affected --base HEAD)"),
    ],
)  # fmt: skip
def test_bad_names_are_the_same_one_line_error_in_every_task(
    cli_repo: Repo, given: tuple[str, ...], error: str
) -> None:
    for task, options in TASKS.items():
        done = run_cli(cli_repo, task, *given, *options)
        assert done.code == 2, (task, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, (task, done.stderr)
        assert done.stderr.startswith(error), (task, done.stderr)
        assert done.stdout == "", task


def test_only_smoke_takes_the_base_ref_from_the_environment(
    cli_repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KFIMAGES_BASE_REF", "HEAD")
    for task, options in TASKS.items():
        done = run_cli(cli_repo, task, "affected", *options)
        expected = NO_DAEMON if task == "smoke" else "error: `affected` needs a base ref"
        assert done.stderr.startswith(expected), (task, done.stderr)
    monkeypatch.delenv("KFIMAGES_BASE_REF")
    done = run_cli(cli_repo, "smoke", "affected")
    assert done.stderr.strip().endswith("or set $KFIMAGES_BASE_REF"), done.stderr


def test_built_is_a_word_of_manifest_only(cli_repo: Repo) -> None:
    done = run_cli(cli_repo, "manifest", "built", "--output", "manifests")
    assert done.stderr.startswith(NO_DAEMON), done.stderr
    for task in ("build", "smoke", "bake"):
        done = run_cli(cli_repo, task, "built")
        assert done.stderr.startswith("error: `built` is not a set this task takes"), task


def test_manifest_of_several_images_needs_a_folder(cli_repo: Repo) -> None:
    for given in ("jupyter,base", "all", "built"):
        done = run_cli(cli_repo, "manifest", given)
        assert done.stderr == "error: several images need --output DIR (one file per image)\n"


@pytest.mark.parametrize("task", [*TASKS, "bench", "sbom"])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_after_a_names_task_is_help_not_a_name(cli_repo: Repo, task: str, flag: str) -> None:
    """`invoke build --help`: invoke hands the next word to a missing positional, so without
    care `--help` became NAMES ("unknown image '--help'")."""
    done = run_cli(cli_repo, task, flag)
    assert done.code == 0, (task, done.stderr)
    assert done.stdout.startswith("Usage: "), done.stdout
    assert f"[--core-opts] {task} [--options]" in done.stdout.splitlines()[0], done.stdout


@pytest.mark.parametrize(
    ("given", "error"),
    [((), f"error: {names.MISSING}"), (("nope",), UNKNOWN), (("jupyter,,",), "error: malformed")],
)
def test_bench_reads_names_in_the_same_grammar(
    cli_repo: Repo, given: tuple[str, ...], error: str
) -> None:
    done = run_cli(cli_repo, "bench", *given)
    assert (done.code, done.stdout) == (2, ""), done.stderr
    assert done.stderr.startswith(error), done.stderr
