"""code-server smoke tests: server, workbench, terminal, real browser, extensions of derived images.

Every server here runs as a random uid with gid 0 and an empty home volume, as on
OpenShift-like clusters with a fresh PVC.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from tests.harness.browser import ChromiumPage
from tests.harness.containers import TrackedContainer, TrackedContainers, loopback
from tests.harness.http import assert_listens_on_all_interfaces, http_get, wait_for_http
from tests.harness.images import DerivedImages
from tests.images.codeserver.workbench import focus_terminal

PORT = 8888
HOME = "/home/jovyan"
RANDOM_UID = "54321"
RANDOM_USER = f"{RANDOM_UID}:0"
NODE_PTY = "/opt/code-server/lib/node_modules/code-server/lib/vscode/node_modules/node-pty"
EXTENSION_ID = "kfnb-smoke.kfnb-hello"
EXTENSION_VERSION = "0.0.1"


def _prepare_home(containers: TrackedContainers, volume: str, *, marker: str) -> None:
    """Make the empty volume writable by gid 0 (as a PVC's fsGroup would) and put a file in it."""
    script = (
        f"chown 1000:0 /mnt/home && chmod 2775 /mnt/home && echo hello > /mnt/home/{marker} "
        f"&& chown 1000:0 /mnt/home/{marker}"
    )
    containers.run_to_exit(
        ["-c", script],
        entrypoint=["bash"],
        user="0",
        volumes={volume: {"bind": "/mnt/home", "mode": "rw"}},
    )


def _start(containers: TrackedContainers, volume: str, **kwargs: Any) -> TrackedContainer:
    c = containers.run(user=RANDOM_USER, volumes={volume: {"bind": HOME, "mode": "rw"}}, **kwargs)
    wait_for_http(c, f"http://127.0.0.1:{PORT}/healthz", timeout=120)
    return c


class _ScriptSources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        src = dict(attrs).get("src")
        if tag == "script" and src:
            self.sources.append(src)


@pytest.fixture(scope="module")
def server(module_containers: TrackedContainers, module_home_volume: str) -> TrackedContainer:
    """code-server as a random uid on an empty home volume, shared by the tests that only
    read from it (endpoints, a WebSocket handshake, a pty that echoes): none writes a file."""
    return _start(module_containers, module_home_volume)


def test_healthz_workbench_and_main_script(server: TrackedContainer) -> None:
    c = server
    code, body = http_get(c, f"http://127.0.0.1:{PORT}/healthz")
    assert code == 200, body
    assert json.loads(body)["status"] in ("alive", "expired"), body

    # No login page: the root redirects straight to the workbench on $HOME.
    out = c.exec(
        f"curl -s -o /dev/null -w '%{{http_code}} %{{redirect_url}}' http://127.0.0.1:{PORT}/"
    ).stdout
    status, _, location = out.strip().partition(" ")
    assert status == "302", out
    assert f"folder={HOME}" in location, out

    page_url = f"http://127.0.0.1:{PORT}/?folder={HOME}"
    code, html = http_get(c, page_url)
    assert code == 200, html[:500]
    parser = _ScriptSources()
    parser.feed(html)
    main = [s for s in parser.sources if s.endswith("/workbench/workbench.js")]
    assert main, f"no workbench script in {parser.sources}"
    script_url = urljoin(page_url, main[0])
    code, script = http_get(c, script_url, timeout=60)
    print(f"workbench script {script_url}: {len(script)} characters")
    assert code == 200, script[:300]
    assert len(script) > 100_000, script[:300]


def test_serves_when_restricted(containers: TrackedContainers) -> None:
    """Random uid, no capabilities, read-only root with tmpfs /tmp and /run, no home volume."""
    c = containers.run(
        user=RANDOM_USER,
        cap_drop=["ALL"],
        read_only=True,
        tmpfs={"/tmp": "", "/run": ""},
    )
    wait_for_http(c, f"http://127.0.0.1:{PORT}/healthz", timeout=120)
    code, html = http_get(c, f"http://127.0.0.1:{PORT}/?folder={HOME}")
    assert code == 200, html[:500]
    assert "workbench.js" in html
    # The home cannot be written: user settings and extensions fall back to /tmp, said in the log.
    owner = c.exec("stat -c %u /tmp/code-server/data/User/settings.json").stdout
    assert owner.strip() == RANDOM_UID
    assert "60-codeserver: warning: /home/jovyan is not writable" in c.logs(), c.log_tail()


def test_listens_on_all_interfaces_without_auth_for_any_origin(server: TrackedContainer) -> None:
    c = server
    assert_listens_on_all_interfaces(c, PORT)
    # The dashboard embeds the app from another origin: the WebSocket must be accepted.
    out = c.exec(
        "curl -s -i --max-time 5 -H 'Connection: Upgrade' -H 'Upgrade: websocket' "
        "-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "
        "-H 'Origin: https://kubeflow.example.com' "
        f"'http://127.0.0.1:{PORT}/?reconnectionToken={uuid.uuid4()}&reconnection=false"
        "&skipWebSocketFrames=false' | head -n1",
    ).stdout
    assert " 101 " in out, out


def test_terminal_pty_spawns_a_shell(server: TrackedContainer) -> None:
    c = server
    script = (
        f"const pty = require({json.dumps(NODE_PTY)});"
        "const p = pty.spawn('bash', ['-c', 'echo pty-ok $(id -u) $(tty)'],"
        " {name: 'xterm-256color', cols: 80, rows: 24, cwd: process.env.HOME, env: process.env});"
        "let out = ''; p.onData((d) => { out += d; });"
        "p.onExit((e) => { console.log(JSON.stringify({out, code: e.exitCode})); });"
    )
    out = c.exec(["node", "-e", script], timeout=60).stdout
    result = json.loads(out.strip().splitlines()[-1])
    print(f"pty: {result}")
    assert result["code"] == 0
    words = result["out"].split()
    assert words[:2] == ["pty-ok", RANDOM_UID], result
    assert words[2].startswith("/dev/pts/"), result


def test_browser_opens_workbench_explorer_shows_home_and_terminal_runs(
    containers: TrackedContainers, home_volume: str, artifacts_dir: Path
) -> None:
    marker = f"kfnb-smoke-{uuid.uuid4().hex[:8]}.txt"
    _prepare_home(containers, home_volume, marker=marker)
    c = _start(containers, home_volume, ports=loopback(PORT))
    screenshot = artifacts_dir / "workbench.png"
    with ChromiumPage() as page:
        page.goto(f"http://127.0.0.1:{c.host_port(PORT)}/?folder={HOME}")
        try:
            page.wait_for(
                "[...document.querySelectorAll('.explorer-folders-view .monaco-list-row')]"
                f".some((row) => row.textContent.includes({json.dumps(marker)}))",
                timeout=120,
            )
        finally:
            page.screenshot(screenshot)
        dom = page.dom()
        assert 'aria-label="Explorer Section: jovyan"' in dom
        assert f'aria-label="~/{marker}"' in dom  # this container's home, not another server's
        assert "monaco-workbench" in dom

        # A terminal in the UI (Ctrl+`): a shell on the server, as the container's uid (named), with
        # the XDG variables that the code-server wrapper sets taken away again.
        # The workbench may still be registering its keybindings when the explorer shows: a
        # press that came too early is lost, so press again until a terminal exists (Ctrl+`
        # toggles the panel: never press while one is there), then give it the focus.
        try:
            focus_terminal(page, c)
        except AssertionError:
            page.screenshot(screenshot)
            raise
        page.type_text(
            'echo "uid=$(id -u) user=$(whoami) '
            'XDG=[${XDG_DATA_HOME:-unset}|${XDG_CACHE_HOME:-unset}]"'
            " > ~/kfnb-terminal.txt"
        )
        page.press("Enter", code="Enter", key_code=13)
        written = c.wait_until(
            lambda: c.exec(f"cat {HOME}/kfnb-terminal.txt", check=False).stdout.strip() or None,
            timeout=60,
            message="the terminal command's output file",
        )
        page.screenshot(screenshot)
    print(f"screenshot: {screenshot}; terminal wrote: {written}")
    # user=jovyan: base's 00-user-name names the random uid for the services' terminals.
    assert written == f"uid={RANDOM_UID} user=jovyan XDG=[unset|unset]"
    logs = c.logs()
    assert "EADDRINUSE" not in logs, logs[-2000:]

    # On the home volume code-server keeps only its user data dir (settings, the user's
    # extensions): besides it, only the skeleton and our files.
    home = c.exec(
        f'ls -A {HOME}; echo ---; ls -A "$HOME_TMP"; echo ---; ls -A {HOME}/.local'
    ).stdout
    listed, skeleton, local = home.split("---")
    extra = set(listed.split()) - set(skeleton.split()) - {marker, "kfnb-terminal.txt", ".local"}
    assert not extra, f"code-server wrote into the home volume: {sorted(extra)}"
    assert local.split() == ["share"], local
    c.exec(f"test -d {HOME}/.local/share/code-server/User && ls /tmp/code-server")


# --- extensions in a derived image -------------------------------------------------------

_VSIX_MANIFEST = """<?xml version="1.0" encoding="utf-8"?>
<PackageManifest Version="2.0.0" xmlns="http://schemas.microsoft.com/developer/vsx-schema/2011">
  <Metadata>
    <Identity Language="en-US" Id="{name}" Version="{version}" Publisher="{publisher}" />
    <DisplayName>kfnb smoke extension</DisplayName>
    <Description xml:space="preserve">Built by the codeserver smoke tests.</Description>
    <Categories>Other</Categories>
    <Properties>
      <Property Id="Microsoft.VisualStudio.Code.Engine" Value="^1.80.0" />
    </Properties>
  </Metadata>
  <Installation>
    <InstallationTarget Id="Microsoft.VisualStudio.Code" />
  </Installation>
  <Dependencies />
  <Assets>
    <Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json"
           Addressable="true" />
  </Assets>
</PackageManifest>
"""

_CONTENT_TYPES = """<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension=".json" ContentType="application/json" />
  <Default Extension=".vsixmanifest" ContentType="text/xml" />
</Types>
"""

# The recipe of codeserver/README.md, "Extensions in a derived image", built with no network.
_DERIVED_DOCKERFILE = """ARG BASE_IMG
FROM $BASE_IMG
RUN --network=none --mount=type=bind,source=kfnb-hello.vsix,target=/tmp/kfnb-hello.vsix \\
    code-server-install-extensions /tmp/kfnb-hello.vsix
"""
EXTENSION_COMMAND = "kfnb: hello from the smoke extension"


def _vsix() -> bytes:
    """A minimal valid VS Code extension package: a zip with a manifest and package.json.

    zipfile stores the files with mode 0600, as many real packages do: the image must make
    them readable for other uids of group 0.
    """
    publisher, name = EXTENSION_ID.split(".")
    package = {
        "name": name,
        "displayName": "kfnb smoke extension",
        "publisher": publisher,
        "version": EXTENSION_VERSION,
        "engines": {"vscode": "^1.80.0"},
        "categories": ["Other"],
        "contributes": {"commands": [{"command": "kfnbHello.hi", "title": EXTENSION_COMMAND}]},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        manifest = _VSIX_MANIFEST.format(name=name, version=EXTENSION_VERSION, publisher=publisher)
        z.writestr("extension.vsixmanifest", manifest)
        z.writestr("extension/package.json", json.dumps(package, indent=2))
        z.writestr("extension/README.md", "# kfnb smoke extension\n")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def image_with_extension(derived_image: DerivedImages, image_ref_under_test: str) -> str:
    """An image FROM the image under test that installs an extension from a local .vsix."""
    return derived_image(
        image_ref_under_test, {"kfnb-hello.vsix": _vsix()}, dockerfile=_DERIVED_DOCKERFILE
    )


def test_derived_image_extension_is_a_builtin_readable_by_a_random_uid(
    containers: TrackedContainers, image_with_extension: str
) -> None:
    """The baked extension lives in VS Code's built-in extensions folder of the image (so it
    is not a user extension: `--list-extensions` lists those), readable by any uid of
    group 0; test_persistence.py checks the server loads it and the home does not link it."""
    folder = f"$CODE_SERVER_IMAGE_EXTENSIONS_DIR/{EXTENSION_ID}-{EXTENSION_VERSION}"
    out = containers.run_to_exit(
        [
            "bash",
            "-c",
            f"readlink -f {folder}; echo ---; cat {folder}/package.json; echo ---; "
            "code-server --list-extensions",
        ],
        image=image_with_extension,
        user=RANDOM_USER,
    ).stdout
    path, package, listed = out.split("---\n")
    assert path.strip() == (
        "/opt/code-server/lib/node_modules/code-server/lib/vscode/extensions/"
        f"{EXTENSION_ID}-{EXTENSION_VERSION}"
    ), out
    assert json.loads(package)["name"] == "kfnb-hello", out
    assert EXTENSION_ID not in listed.split(), listed


def _palette_offers(page: ChromiumPage, command: str) -> bool:
    page.press("Escape", code="Escape", key_code=27)
    page.press("F1", code="F1", key_code=112)
    page.wait_for("document.activeElement?.closest('.quick-input-widget') != null", timeout=30)
    page.type_text(command)
    try:
        page.wait_for(
            "[...document.querySelectorAll('.quick-input-list .monaco-list-row')]"
            f".some((row) => row.textContent.includes({json.dumps(command)}))",
            timeout=5,
        )
    except AssertionError:
        return False
    return True


def test_derived_image_extension_contributes_to_the_workbench(
    containers: TrackedContainers, image_with_extension: str, home_volume: str, artifacts_dir: Path
) -> None:
    _prepare_home(containers, home_volume, marker="kfnb-smoke.txt")
    c = containers.run(
        image=image_with_extension,
        user=RANDOM_USER,
        ports=loopback(PORT),
        volumes={home_volume: {"bind": HOME, "mode": "rw"}},
    )
    wait_for_http(c, f"http://127.0.0.1:{PORT}/healthz", timeout=120)
    screenshot = artifacts_dir / "extension-command.png"
    with ChromiumPage() as page:
        page.goto(f"http://127.0.0.1:{c.host_port(PORT)}/?folder={HOME}")
        try:
            page.wait_for(
                "document.querySelector('.explorer-folders-view .monaco-list-row')", timeout=120
            )
            # The command palette lists the command that only the extension's package.json
            # declares: the server read the extension as the random uid. The palette does not
            # refresh while the extension host registers contributions: reopen until it shows.
            c.wait_until(
                lambda: _palette_offers(page, EXTENSION_COMMAND),
                timeout=90,
                interval=1,
                message=f"the command palette to offer {EXTENSION_COMMAND!r}",
            )
        finally:
            page.screenshot(screenshot)
    print(f"screenshot: {screenshot}")
