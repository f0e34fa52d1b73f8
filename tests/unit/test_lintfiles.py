"""What `nox -s lint` checks (kfimages.author.lintfiles): Dockerfiles of the graph, shell scripts
found by their shebang."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfimages.author.lintfiles import commands, dockerfiles, shell_of, shell_scripts
from tests.unit.conftest import Repo


@pytest.mark.parametrize(
    ("first_line", "shell"),
    [
        ("#!/bin/bash", "bash"),
        ("#!/usr/bin/env bash", "bash"),
        ("#!/bin/bash -eu", "bash"),
        ("#!/command/with-contenv bash", "bash"),
        ("#!/usr/bin/with-contenv bash", "bash"),
        ("#!/bin/sh", "sh"),
        ("#!/usr/bin/env sh", "sh"),
        ("#!/bin/dash", "sh"),
        ("#!/usr/bin/with-contenv sh", "sh"),
        ("#!/command/with-contenv sh", "sh"),
        ("#!/command/execlineb -P", None),
        ("#!/command/with-contenv execlineb", None),
        ("#!/usr/bin/env python3", None),
        ("#!/bin/zsh", None),
        ("# bash, but no shebang", None),
        ("echo hi", None),
        ("", None),
    ],
)
def test_shell_of(tmp_path: Path, first_line: str, shell: str | None) -> None:
    path = tmp_path / "script"
    path.write_text(f"{first_line}\necho hi\n", encoding="utf-8")
    assert shell_of(path) == shell


def test_shell_of_binary_and_missing_files(tmp_path: Path) -> None:
    binary = tmp_path / "blob"
    binary.write_bytes(b"\x7fELF\x00\x01\xff#!/bin/sh")
    assert shell_of(binary) is None
    assert shell_of(tmp_path / "missing") is None


def test_shell_scripts_by_shebang_in_the_checked_folders(chain: Repo) -> None:
    chain.write("base/s6/cont-init.d/20-env", "#!/command/with-contenv bash\nenv\n")
    chain.write("base/s6/services.d/x/run", "#!/usr/bin/with-contenv sh\nexec x\n")
    chain.write("base/s6/services.d/y/run", "#!/command/execlineb -P\nfoo\n")
    chain.write("base/s6/services.d/y/type", "longrun\n")
    chain.write("jupyter/start.sh", "#!/bin/bash\n")
    chain.write("jupyter/__pycache__/cached.sh", "#!/bin/bash\n")
    chain.write("jupyter/tool.py", "#!/usr/bin/env python3\n")
    chain.write("scripts/build.sh", "#!/usr/bin/env bash\n")
    chain.write(".ci/setup", "#!/bin/sh\n")
    chain.write("tests/images/helper.sh", "#!/bin/bash\n")
    chain.write("docs/example.sh", "#!/bin/sh\n")  # docs/ is not checked
    chain.write("other/x.sh", "#!/bin/sh\n")  # nor a folder without image
    (chain.root / "jupyter/link.sh").symlink_to("start.sh")
    found = shell_scripts(chain.graph())
    assert set(found) == {"bash", "sh"}
    assert found["bash"] == [
        "base/s6/cont-init.d/20-env",
        "jupyter/start.sh",
        "scripts/build.sh",
        "tests/images/helper.sh",
    ]
    assert found["sh"] == [
        ".ci/run",
        ".ci/setup",
        "base/s6/cont-init.d/10-home",
        "base/s6/services.d/x/run",
        "scripts/install-docker.sh",
    ]


def test_shell_scripts_without_any(repo: Repo) -> None:
    repo.image("a", "debian:trixie-slim")
    assert shell_scripts(repo.graph()) == {}


def test_dockerfiles_lists_every_image_dockerfile(chain: Repo) -> None:
    chain.write("pytorch/old.Dockerfile.dockerignore", "*\n")
    chain.write("docs/Dockerfile.txt", "not one\n")
    assert dockerfiles(chain.graph()) == [
        "base/Dockerfile",
        "codeserver/Dockerfile",
        "jupyter/Dockerfile",
        "pytorch/cpu.Dockerfile",
        "pytorch/cuda.Dockerfile",
    ]


def test_the_commands_of_invoke_lint_files(chain: Repo) -> None:
    chain.write("jupyter/start.sh", "#!/bin/bash\n")
    graph = chain.graph()
    assert commands(graph) == [
        ("hadolint: 5 Dockerfile(s)",
         ["hadolint", "--config", ".hadolint.yaml", *dockerfiles(graph)]),
        ("shellcheck (sh): 3 script(s)",
         ["shellcheck", "--shell", "sh", "--external-sources", *shell_scripts(graph)["sh"]]),
        ("shellcheck (bash): 1 script(s)",
         ["shellcheck", "--shell", "bash", "--external-sources", "jupyter/start.sh"]),
    ]  # fmt: skip
