"""VS Code extensions and settings a user chooses to keep live on the home volume.

A user installs an extension (from a local .vsix the test makes, as `code-server
--install-extension` in a terminal does) and changes a user setting; the server is stopped
and removed, a new one starts on the same volume: both are still there. Extensions baked
into the image (`code-server-install-extensions` in a derived image) stay in the image: the
server loads them as built-in extensions and nothing on the home volume links to them.
Runtime files (the IPC socket, logs, the heartbeat) stay under /tmp.
"""

from __future__ import annotations

import json

import pytest

from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.harness.http import wait_for_http
from tests.harness.images import DerivedImages
from tests.images.codeserver.test_codeserver import (
    _DERIVED_DOCKERFILE,
    EXTENSION_ID,
    EXTENSION_VERSION,
    HOME,
    PORT,
    RANDOM_USER,
    _vsix,
)

DATA_DIR = f"{HOME}/.local/share/code-server"
USER_EXTENSIONS = f"{DATA_DIR}/extensions"
SETTINGS = f"{DATA_DIR}/User/settings.json"
HEARTBEAT = "/tmp/code-server/xdg-data/code-server/heartbeat"
USERS = {"jovyan": None, "random-uid": RANDOM_USER}


def _start(
    containers: TrackedContainers, volume: str, user: str | None, *, image: str | None = None
) -> TrackedContainer:
    kwargs = {"user": user} if user is not None else {}
    c = containers.run(image=image, volumes={volume: {"bind": HOME, "mode": "rw"}}, **kwargs)
    wait_for_http(c, f"http://127.0.0.1:{PORT}/healthz", timeout=120)
    return c


def _links_into_the_image(c: TrackedContainer) -> str:
    """Symbolic links on the home volume that point outside it (empty when there are none)."""
    return c.exec(
        f"find {HOME} -type l -printf '%p -> %l\\n' | grep -v -e '-> {HOME}/' -e '-> [^/]' || true"
    ).stdout.strip()


def _listed(c: TrackedContainer) -> list[str]:
    return c.exec(["code-server", "--list-extensions", "--show-versions"]).stdout.split()


@pytest.mark.parametrize("user", USERS.values(), ids=USERS.keys())
def test_user_extension_and_settings_survive_restart(
    containers: TrackedContainers, home_volume: str, user: str | None
) -> None:
    first = _start(containers, home_volume, user)
    first.write_file("/tmp/kfnb-hello.vsix", _vsix())
    # As in a terminal of the server (code-server's XDG overrides are not set there).
    first.exec("code-server --install-extension /tmp/kfnb-hello.vsix")
    assert f"{EXTENSION_ID}@{EXTENSION_VERSION}" in _listed(first)
    # A user setting, changed as the settings editor does (the file is the user's).
    settings = json.loads(first.read_file(SETTINGS))
    settings["editor.fontSize"] = 17
    first.write_file(SETTINGS, json.dumps(settings, indent=2).encode())
    first.stop(timeout=10)
    first.raw.remove(v=False)

    second = _start(containers, home_volume, user)
    assert f"{EXTENSION_ID}@{EXTENSION_VERSION}" in _listed(second)
    registry = json.loads(second.read_file(f"{USER_EXTENSIONS}/extensions.json"))
    assert EXTENSION_ID in [e["identifier"]["id"] for e in registry], registry
    package = json.loads(
        second.exec(f"cat {USER_EXTENSIONS}/{EXTENSION_ID}-{EXTENSION_VERSION}/package.json").stdout
    )
    assert package["name"] == "kfnb-hello", package
    kept = json.loads(second.read_file(SETTINGS))
    assert kept["editor.fontSize"] == 17, kept
    # The image's defaults were copied once and are not put back over the user's file.
    assert kept["workbench.startupEditor"] == "none", kept

    # Runtime files stay under /tmp: the socket, VS Code's logs, code-server's heartbeat
    # (written when the workbench is requested).
    second.exec(f"curl -s -o /dev/null 'http://127.0.0.1:{PORT}/?folder={HOME}'")
    second.wait_until(
        lambda: second.exec(f"test -f {HEARTBEAT}", check=False).code == 0,
        timeout=30,
        message=f"the heartbeat {HEARTBEAT}",
    )
    found = second.exec(
        f"find {HOME} \\( -type s -o -name '*.log' -o -name heartbeat -o -name logs \\) -print"
    ).stdout.strip()
    assert found == "", f"runtime files on the home volume:\n{found}"
    second.exec("test -S /tmp/code-server/code-server-ipc.sock && ls /tmp/code-server/logs/*/")
    assert _links_into_the_image(second) == ""


def test_baked_extension_stays_in_the_image(
    containers: TrackedContainers,
    derived_image: DerivedImages,
    image_ref_under_test: str,
    home_volume: str,
) -> None:
    """An extension baked in by a derived image is a built-in of the server: loaded from the
    image, not installed (nor linked) into the user's extensions on the volume."""
    image = derived_image(
        image_ref_under_test, {"kfnb-hello.vsix": _vsix()}, dockerfile=_DERIVED_DOCKERFILE
    )
    c = _start(containers, home_volume, RANDOM_USER, image=image)
    c.exec(f"curl -s -o /dev/null 'http://127.0.0.1:{PORT}/?folder={HOME}'")
    # The server scans its built-in extensions (and caches what it found in the user data
    # dir, as a copy of their manifests): the baked one is among them.
    cache = f"{DATA_DIR}/CachedProfilesData/__default__profile__/extensions.builtin.cache"
    c.wait_until(
        lambda: EXTENSION_ID in c.exec(f"cat {cache}", check=False).stdout,
        timeout=60,
        message=f"{EXTENSION_ID} among the server's built-in extensions",
    )
    assert f"{EXTENSION_ID}@{EXTENSION_VERSION}" not in _listed(c)
    out = c.exec(f"ls -A {USER_EXTENSIONS}; find {HOME} -name '*kfnb-hello*'").stdout.split()
    assert out in ([], ["extensions.json"]), out
    assert _links_into_the_image(c) == ""
