"""Homes that older images leave on the volume, for the tests of moving users to a new image
(tests/images/<image>/test_upgrade.py).

- `previous_image(...)`: the previous build of the image under test (`--upgrade-from REF`, else
  `$KFIMAGES_UPGRADE_FROM`, else `<repository of the image under test>:previous`, which a build
  keeps when it replaces an image; a bare tag means that tag of the image's repository); the
  test that needs it skips, saying so, when the store has none (a cold run).
- `fill_home(...)`: writes a tree of files onto a home volume, owned as the old image's user
  owned them, through a stopped container of the image (docker's archive API: no shell, no
  root in the image needed).
- `CONDA_HOME`: a home shaped like the ones upstream's conda images (Kubeflow's
  example-notebook-servers, Python 3.11 in /opt/conda, uid 1000 gid 100) leave: a kernel spec
  pointing at /opt/conda/bin/python and one at a conda environment, `pip install --user`
  packages and their console scripts in ~/.local, JupyterLab 3 user settings and a workspace,
  an older code-server's extensions and settings, conda R 4.3's user library. The packages in
  ~/.local are stand-ins for the image's own (`traitlets`, `jupyter_core`, ...) that fail on
  import, naming themselves: wherever the new image loaded them, its server or kernel breaks
  with that line instead of passing quietly.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import docker.errors
import pytest

from tests.harness.containers import TrackedContainers

log = logging.getLogger(__name__)

UPGRADE_FROM_OPTION = "--upgrade-from"
UPGRADE_FROM_ENV = "KFIMAGES_UPGRADE_FROM"
PREVIOUS_TAG = "previous"
HOME = "/home/jovyan"

CONDA_UID = 1000
CONDA_GID = 100
"""Upstream's jovyan: uid 1000, group `users` (100); these images' jovyan is in group 100 too."""
CONDA_PYTHON = "/opt/conda/bin/python"
CONDA_ENV_PYTHON = "/opt/conda/envs/old-env/bin/python"
OLD_ENV_KERNEL = "old-env"
USER_SITES = ("python3.11", "python3.13")
"""Upstream's Python (3.11), and this image's (3.13): a `--user` tree of either is ignored."""
SHADOWS = ("traitlets", "jupyter_core", "jupyter_server", "ipykernel", "tornado", "six")
"""Packages of the image's venv that the stand-ins in ~/.local/lib/python3.*/site-packages
would shadow if that folder were ever on the image's sys.path."""
PROBE_MODULE = "kfnb_old_home_probe"
"""A module only ~/.local/lib/python3.*/site-packages has: importable only if it is on sys.path."""
SHADOW_MARK = "kfnb: loaded from the old home's ~/.local"
LOCAL_BIN_SCRIPTS = ("pip", "pip3", "jupyter", "jupyter-lab")
OLD_THEME = "JupyterLab Dark"
OLD_WORKSPACE = "kfnb-old"
OLD_EXTENSION = "kfnb-old.old-hello"
OLD_EXTENSION_VERSION = "0.0.3"
NEWER_EXTENSION = "kfnb-old.needs-newer-vscode"
OLD_FONT_SIZE = 15
CONDA_R_LIBRARY = "R/x86_64-conda-linux-gnu-library/4.3"
OLD_R_PACKAGE = "kfnboldpkg"

FileContent = str | bytes


@dataclass(frozen=True)
class HomeFile:
    """A file of an old home: its content and mode."""

    content: FileContent
    mode: int = 0o644


def add_options(parser: pytest.Parser) -> None:
    """The pytest option of the upgrade tests (tests/images/conftest.py adds it)."""
    parser.getgroup("images").addoption(
        UPGRADE_FROM_OPTION,
        default=None,
        metavar="REF",
        help="the previous build to move users from in the upgrade tests: a ref, or a tag of "
        f"the image's repository (default ${UPGRADE_FROM_ENV}, else <repository of the image "
        f"under test>:{PREVIOUS_TAG} if it is in the image store; else those tests skip)",
    )


def repository_of(ref: str) -> str:
    """`registry/name` of `registry/name:tag` (a `:port` of the registry is kept)."""
    name, colon, tag = ref.rpartition(":")
    return name if colon and "/" not in tag else ref


def previous_ref(given: str, *, ref_under_test: str) -> str:
    """The ref to upgrade from: `given` (a ref, or a bare tag of the image's own repository,
    e.g. `sha-0123456789ab` of the last green build), else `<repository>:previous`."""
    repository = repository_of(ref_under_test)
    if not given:
        return f"{repository}:{PREVIOUS_TAG}"
    return given if "/" in given or ":" in given else f"{repository}:{given}"


def previous_image(config: pytest.Config, client: Any, *, ref_under_test: str) -> str:
    """The previous build to upgrade from (`--upgrade-from`, else $KFIMAGES_UPGRADE_FROM, else
    `<repository>:previous`; see `previous_ref`), checked to exist. Skips the calling test when
    the store has none: a cold run, or the environment's choice missing for this image (CI may
    set it for every image). A `--upgrade-from` that does not exist fails instead."""
    option = str(config.getoption(UPGRADE_FROM_OPTION) or "")
    given = option or os.environ.get(UPGRADE_FROM_ENV, "")
    ref = previous_ref(given, ref_under_test=ref_under_test)
    try:
        image = client.images.get(ref)
    except docker.errors.ImageNotFound:
        if option:
            pytest.fail(
                f"{UPGRADE_FROM_OPTION} {option}: {ref} is not in the image store; build or "
                "pull it first",
                pytrace=False,
            )
        why = f"{UPGRADE_FROM_ENV}={given}" if given else "a cold run"
        pytest.skip(
            f"no previous build of {repository_of(ref_under_test)}: {ref} is not in the image "
            f"store ({why}); give one with {UPGRADE_FROM_OPTION} REF"
        )
    if image.id == client.images.get(ref_under_test).id:
        log.warning("the previous build %s is the image under test itself", ref)
    return ref


def tar_of(files: Mapping[str, HomeFile], *, uid: int, gid: int) -> bytes:
    """A tar of `files` (paths relative to the home) and their folders, owned uid:gid."""
    buffer = io.BytesIO()
    folders: set[str] = set()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for rel in sorted(files):
            parts = rel.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folder = "/".join(parts[:depth])
                if folder not in folders:
                    folders.add(folder)
                    info = tarfile.TarInfo(folder)
                    info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o755, uid, gid
                    archive.addfile(info)
            item = files[rel]
            data = item.content.encode() if isinstance(item.content, str) else item.content
            info = tarfile.TarInfo(rel)
            info.size, info.mode, info.uid, info.gid = len(data), item.mode, uid, gid
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def fill_home(
    containers: TrackedContainers,
    *,
    image: str,
    volume: str,
    files: Mapping[str, HomeFile],
    uid: int = CONDA_UID,
    gid: int = CONDA_GID,
) -> None:
    """Put `files` into the home volume, owned uid:gid, through a tracked container of `image`
    that only ran `true` (the archive API writes into a stopped container's volumes)."""
    c = containers.run(
        ["true"], image=image, entrypoint=[], volumes={volume: {"bind": HOME, "mode": "rw"}}
    )
    code = c.wait_exit(timeout=60)
    assert code == 0, c.log_tail()
    assert c.raw.put_archive(HOME, tar_of(files, uid=uid, gid=gid)), f"put_archive into {c}"


def _json(value: object) -> str:
    return json.dumps(value, indent=1) + "\n"


def _kernel_spec(python: str, display_name: str) -> str:
    """What `ipykernel install --user` wrote in upstream's images."""
    return _json(
        {
            "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": display_name,
            "language": "python",
            "metadata": {"debugger": True},
        }
    )


def _user_site(version: str) -> dict[str, HomeFile]:
    site = f".local/lib/{version}/site-packages"
    files = {f"{site}/{PROBE_MODULE}.py": HomeFile(f"WHERE = {site!r}\n")}
    for name in SHADOWS:
        message = f"{SHADOW_MARK}/lib/{version}: this {name} shadows the image's"
        files[f"{site}/{name}/__init__.py"] = HomeFile(f"raise ImportError({message!r})\n")
        files[f"{site}/{name}-0.0.1.dist-info/METADATA"] = HomeFile(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.1\n"
        )
        files[f"{site}/{name}-0.0.1.dist-info/INSTALLER"] = HomeFile("pip\n")
    return files


def _console_script(module: str) -> HomeFile:
    return HomeFile(
        f"#!{CONDA_PYTHON}\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n"
        f"from {module} import main\nif __name__ == '__main__':\n    sys.exit(main())\n",
        0o755,
    )


def _extension(publisher: str, name: str, version: str, engine: str) -> dict[str, HomeFile]:
    folder = f".local/share/code-server/extensions/{publisher}.{name}-{version}"
    manifest = {
        "name": name,
        "publisher": publisher,
        "displayName": f"{name} (from an older code-server)",
        "version": version,
        "engines": {"vscode": engine},
        "main": "./extension.js",
        "activationEvents": ["onStartupFinished"],
        "contributes": {"commands": [{"command": f"{name}.hello", "title": f"Hello from {name}"}]},
    }
    return {
        f"{folder}/package.json": HomeFile(_json(manifest)),
        f"{folder}/extension.js": HomeFile(
            "exports.activate = () => {};\nexports.deactivate = () => {};\n"
        ),
    }


def _r_package(library: str, name: str, r_version: str) -> dict[str, HomeFile]:
    """The files R looks at first in an installed package (its DESCRIPTION, with `Built:`)."""
    folder = f"{library}/{name}"
    description = (
        f"Package: {name}\nVersion: 1.0\nTitle: Left By An Older R\nDescription: Test.\n"
        "License: MIT\nMaintainer: Probe <probe@example.org>\nNeedsCompilation: no\n"
        f"Built: R {r_version}; ; 2024-01-01 00:00:00 UTC; unix\n"
    )
    return {
        f"{folder}/DESCRIPTION": HomeFile(description),
        f"{folder}/NAMESPACE": HomeFile("export(probe)\n"),
        f"{folder}/R/{name}": HomeFile("probe <- function() 'from R 4.3'\n"),
    }


PROFILE = """\
# ~/.profile: executed by the command interpreter for login shells (Ubuntu's /etc/skel).
if [ -n "$BASH_VERSION" ]; then
    if [ -f "$HOME/.bashrc" ]; then
	. "$HOME/.bashrc"
    fi
fi
if [ -d "$HOME/bin" ] ; then
    PATH="$HOME/bin:$PATH"
fi
if [ -d "$HOME/.local/bin" ] ; then
    PATH="$HOME/.local/bin:$PATH"
fi
"""


def conda_home() -> dict[str, HomeFile]:
    """The files of a home an upstream conda image left (see the module's docstring)."""
    kernels = ".local/share/jupyter/kernels"
    settings = ".jupyter/lab/user-settings/@jupyterlab/apputils-extension"
    files: dict[str, HomeFile] = {
        ".profile": HomeFile(PROFILE),
        ".bashrc": HomeFile('# ~/.bashrc (Ubuntu\'s /etc/skel)\n[ -z "$PS1" ] && return\n'),
        ".conda/environments.txt": HomeFile("/opt/conda\n/opt/conda/envs/old-env\n"),
        # `python -m ipykernel install --user` in upstream's image: named like the image's own.
        f"{kernels}/python3/kernel.json": HomeFile(
            _kernel_spec(CONDA_PYTHON, "Python 3 (ipykernel)")
        ),
        f"{kernels}/{OLD_ENV_KERNEL}/kernel.json": HomeFile(
            _kernel_spec(CONDA_ENV_PYTHON, "Python (old-env)")
        ),
        # JupyterLab 3's user settings (JSON5 with comments) and a saved workspace.
        f"{settings}/themes.jupyterlab-settings": HomeFile(
            f'{{\n    // set in JupyterLab 3\n    "theme": "{OLD_THEME}"\n}}\n'
        ),
        f".jupyter/lab/workspaces/{OLD_WORKSPACE}-4c1e.jupyterlab-workspace": HomeFile(
            _json(
                {
                    "data": {"layout-restorer:data": {"main": {"dock": None}, "left": {}}},
                    "metadata": {"id": OLD_WORKSPACE, "last_modified": "2024-01-01T00:00:00+00:00"},
                }
            )
        ),
        # An older code-server (3.x wrote no extensions.json): one extension that works here,
        # one that asks for a VS Code newer than any (it must not stop the server).
        ".local/share/code-server/User/settings.json": HomeFile(
            _json({"editor.fontSize": OLD_FONT_SIZE, "workbench.colorTheme": "Default Dark+"})
        ),
        ".local/share/code-server/extensions/.obsolete": HomeFile("{}"),
        **_extension("kfnb-old", "old-hello", OLD_EXTENSION_VERSION, "^1.50.0"),
        **_extension("kfnb-old", "needs-newer-vscode", "1.0.0", "^9.0.0"),
        **_r_package(CONDA_R_LIBRARY, OLD_R_PACKAGE, "4.3.3"),
    }
    for version in USER_SITES:
        files.update(_user_site(version))
    files[".local/bin/pip"] = _console_script("pip._internal.cli.main")
    files[".local/bin/pip3"] = _console_script("pip._internal.cli.main")
    files[".local/bin/jupyter"] = _console_script("jupyter_core.command")
    files[".local/bin/jupyter-lab"] = _console_script("jupyterlab.labapp")
    return files


CONDA_HOME = conda_home()
