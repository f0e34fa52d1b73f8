"""Moving users to a new image on the same home volume (codeserver/README.md, "Moving to a new
image"; docs/contract.md, "Home directory").

- From the previous build of the image (`--upgrade-from REF`, else `<repository>:previous`;
  skipped on a cold run): the old image's server gets a user extension (a .vsix the test makes,
  installed as in a terminal) and a changed user setting; the image under test starts on that
  home, lists the extension and keeps the setting.
- From a home an older code-server left (tests.harness.old_home.CONDA_HOME: its extensions
  folder without extensions.json, one extension for an older VS Code, one that asks for a VS
  Code newer than any, its settings): the server starts and serves the workbench, keeps the
  settings and lists the old extension; the incompatible one does not stop anything, VS Code
  names it in the container log once a workbench connects, and the fix the README gives
  (`code-server --uninstall-extension ID`) removes it.
"""

from __future__ import annotations

import json

from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.harness.http import http_get, wait_for_http
from tests.harness.old_home import (
    CONDA_HOME,
    NEWER_EXTENSION,
    OLD_EXTENSION,
    OLD_EXTENSION_VERSION,
    OLD_FONT_SIZE,
    fill_home,
)
from tests.images.codeserver.test_codeserver import (
    EXTENSION_ID,
    EXTENSION_VERSION,
    HOME,
    PORT,
    _vsix,
)
from tests.images.codeserver.test_persistence import SETTINGS

NEW_FONT_SIZE = 19
NOT_COMPATIBLE = "Extension is not compatible with Code"


def _start(
    containers: TrackedContainers, volume: str, *, image: str | None = None
) -> TrackedContainer:
    c = containers.run(image=image, volumes={volume: {"bind": HOME, "mode": "rw"}})
    wait_for_http(c, f"http://127.0.0.1:{PORT}/healthz", timeout=120)
    return c


def _listed(c: TrackedContainer) -> list[str]:
    return c.exec(["code-server", "--list-extensions", "--show-versions"]).stdout.split()


def _workbench(c: TrackedContainer) -> None:
    """The workbench page is served (which also starts VS Code's extension host agent)."""
    code, html = http_get(c, f"http://127.0.0.1:{PORT}/?folder={HOME}")
    assert code == 200, html[:500]
    assert "workbench.js" in html, html[:500]


def test_from_the_previous_build(
    containers: TrackedContainers, home_volume: str, image_ref_under_test: str, previous: str
) -> None:
    print(f"upgrading from {previous} to {image_ref_under_test}")
    old = _start(containers, home_volume, image=previous)
    old.write_file("/tmp/kfnb-hello.vsix", _vsix())
    old.exec("code-server --install-extension /tmp/kfnb-hello.vsix")
    settings = json.loads(old.read_file(SETTINGS))
    settings["editor.fontSize"] = NEW_FONT_SIZE
    old.write_file(SETTINGS, json.dumps(settings, indent=2).encode())
    old.stop(timeout=10)
    old.raw.remove(v=False)

    new = _start(containers, home_volume)
    _workbench(new)
    assert f"{EXTENSION_ID}@{EXTENSION_VERSION}" in _listed(new)
    kept = json.loads(new.read_file(SETTINGS))
    assert kept["editor.fontSize"] == NEW_FONT_SIZE, kept


def test_from_an_older_code_server_home(
    containers: TrackedContainers, home_volume: str, image_ref_under_test: str
) -> None:
    fill_home(containers, image=image_ref_under_test, volume=home_volume, files=CONDA_HOME)
    c = _start(containers, home_volume)
    _workbench(c)
    listed = _listed(c)
    assert f"{OLD_EXTENSION}@{OLD_EXTENSION_VERSION}" in listed, listed
    kept = json.loads(c.read_file(SETTINGS))
    assert kept["editor.fontSize"] == OLD_FONT_SIZE, kept  # the image's defaults went nowhere

    # The extension for a newer VS Code is skipped by the server, which says so in the log.
    def named() -> list[str] | None:
        lines = [line for line in c.logs().splitlines() if NOT_COMPATIBLE in line]
        return lines if any(NEWER_EXTENSION in line for line in lines) else None

    lines = c.wait_until(named, timeout=60, message=f"{NEWER_EXTENSION} named in the log")
    print("\n".join(sorted(set(lines))))
    assert not any(OLD_EXTENSION in line for line in lines), lines
    c.exec(["code-server", "--uninstall-extension", NEWER_EXTENSION])
    listed = _listed(c)
    assert not any(e.startswith(f"{NEWER_EXTENSION}@") for e in listed), listed
    assert f"{OLD_EXTENSION}@{OLD_EXTENSION_VERSION}" in listed, listed
