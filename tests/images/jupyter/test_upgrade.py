"""Moving users to a new image on the same home volume (jupyter/README.md, "Moving to a new
image"; docs/contract.md, "Home directory").

- From the previous build of the image (`--upgrade-from REF`, else `<repository>:previous`;
  skipped on a cold run): the old image's server makes a venv kernel in the home (as
  docs/extending.md says), saves Lab settings and a workspace through Lab's API; the image under
  test starts on that home, lists the kernel and runs code in it, and has the settings and the
  workspace. When the two images have different Python versions, the venv cannot run: the
  container log must name the kernel and the fix instead.
- From a home an upstream conda image left (tests.harness.old_home.CONDA_HOME): the image starts
  on it, its own `python3` kernel runs its own packages (the stand-ins in ~/.local/lib/python3.11
  and python3.13, which fail on import, are never loaded by the server, a kernel or a login
  shell's python), Lab 3's settings and workspace are read, and the container log names each
  thing that cannot work any more with its fix; the fixes named work.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.harness.http import http_get
from tests.harness.old_home import (
    CONDA_ENV_PYTHON,
    CONDA_HOME,
    CONDA_PYTHON,
    OLD_ENV_KERNEL,
    OLD_THEME,
    OLD_WORKSPACE,
    PROBE_MODULE,
    SHADOWS,
    USER_SITES,
    fill_home,
)
from tests.images.jupyter.lab import BASE, VENV, run_in_kernel, start_kernel, start_lab
from tests.images.jupyter.test_persistence import (
    DISPLAY_NAME,
    ENV_DIR,
    KERNEL,
    MAKE_ENV,
    _start_kernel,
)

HOME = "/home/jovyan"
CHECK = "55-jupyter-home-check: "
HOME_CHECK = "/usr/local/libexec/jupyter/home-check"
THEMES = "@jupyterlab/apputils-extension:themes"
NEW_THEME = "JupyterLab Dark"
WORKSPACE = "kfnb-upgrade"
KERNELS = f"{HOME}/.local/share/jupyter/kernels"

# What the image's Python loads, printed one `key value` a line: run by a kernel and by a
# login shell's `python` (a Lab terminal), so both see the same thing.
WHAT_LOADS = f"""
import importlib, importlib.util, sys
print('executable', sys.executable)
for name in {list(SHADOWS)!r}:
    spec = importlib.util.find_spec(name)
    print('module', name, spec.origin if spec else None)
print('probe', importlib.util.find_spec({PROBE_MODULE!r}))
print('local', [p for p in sys.path if '/.local/' in p])
"""


def _volumes(volume: str, platform_ca: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {volume: {"bind": HOME, "mode": "rw"}, **platform_ca}


def _api(container: TrackedContainer, method: str, path: str, body: object) -> str:
    """A write request to Lab's API as the Lab page makes it (its _xsrf cookie); the body."""
    script = (
        f"curl -s -o /dev/null -c /tmp/jar {BASE}/lab && "
        "xsrf=$(awk '$6 == \"_xsrf\" {print $7}' /tmp/jar) && "
        "curl -s -w '\\n%{http_code}' -b /tmp/jar -H \"X-XSRFToken: $xsrf\" "
        f"-X {method} -H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))} "
        f"{BASE}{path}"
    )
    out = container.exec(script).stdout
    text, _, status = out.rpartition("\n")
    assert status.strip() in ("200", "204"), out
    return text


def _get_json(container: TrackedContainer, path: str) -> Any:
    code, body = http_get(container, f"{BASE}{path}")
    assert code == 200, (path, body)
    return json.loads(body)


def _theme(container: TrackedContainer) -> str:
    return str(_get_json(container, f"/lab/api/settings/{THEMES}")["settings"].get("theme"))


def _workspaces(container: TrackedContainer) -> list[str]:
    return list(_get_json(container, "/lab/api/workspaces")["workspaces"]["ids"])


def _check_done(container: TrackedContainer) -> bool | None:
    """True once no home check runs in the container. The pattern is anchored: the exec's own
    `timeout ... pgrep` command line holds the path too."""
    running = container.exec(["pgrep", "-f", f"^\\S*python3 -I {HOME_CHECK}"], check=False)
    return running.code == 1 or None


def _check_lines(container: TrackedContainer) -> list[str]:
    """The lines of the image's home check in the container log, once it is done (it runs in
    the background of the start-up: Lab may answer before it ends)."""
    container.wait_until(lambda: _check_done(container), timeout=30, message="the home check")
    return [line for line in container.logs().splitlines() if line.startswith(CHECK)]


def _python_minor(containers: TrackedContainers, image: str) -> str:
    return containers.run_to_exit(
        ["-c", "import sys; print(*sys.version_info[:2], sep='.')"],
        image=image,
        entrypoint=["/usr/bin/python3"],
    ).stdout.strip()


def test_from_the_previous_build(
    containers: TrackedContainers,
    home_volume: str,
    image_ref_under_test: str,
    previous: str,
    platform_ca: dict[str, dict[str, str]],
) -> None:
    print(f"upgrading from {previous} to {image_ref_under_test}")
    old = start_lab(containers, image=previous, volumes=_volumes(home_volume, platform_ca))
    old.exec(["bash", "-lc", MAKE_ENV], timeout=300)  # as in a terminal: a login shell
    _api(old, "PUT", f"/lab/api/settings/{THEMES}", {"raw": json.dumps({"theme": NEW_THEME})})
    _api(
        old,
        "PUT",
        f"/lab/api/workspaces/{WORKSPACE}",
        {"data": {}, "metadata": {"id": WORKSPACE}},
    )
    assert _theme(old) == NEW_THEME
    old.stop(timeout=10)
    old.raw.remove(v=False)

    new = start_lab(containers, volumes=_volumes(home_volume, platform_ca))
    assert _theme(new) == NEW_THEME
    assert WORKSPACE in _workspaces(new)
    specs = _get_json(new, "/api/kernelspecs")["kernelspecs"]
    assert specs["python3"]["spec"]["argv"][0] == f"{VENV}/bin/python", specs
    assert KERNEL in specs, sorted(specs)
    assert specs[KERNEL]["spec"]["display_name"] == DISPLAY_NAME, specs[KERNEL]
    same_python = _python_minor(containers, previous) == _python_minor(
        containers, image_ref_under_test
    )
    if same_python:
        kernel_id = _start_kernel(new, KERNEL)
        out = run_in_kernel(new, kernel_id, "import sys; print(sys.prefix)").split()
        assert out == [ENV_DIR, "ok"], out
        assert _check_lines(new) == [], new.logs()
    else:  # the venv cannot run on another Python: the log says so, with the fix
        named = [line for line in _check_lines(new) if f"kernel {KERNEL!r}" in line]
        assert named, new.logs()
        assert f"jupyter kernelspec remove -y {KERNEL}" in named[0], named


def test_from_a_conda_image_home(
    containers: TrackedContainers,
    home_volume: str,
    image_ref_under_test: str,
    platform_ca: dict[str, dict[str, str]],
) -> None:
    fill_home(containers, image=image_ref_under_test, volume=home_volume, files=CONDA_HOME)
    c = start_lab(containers, volumes=_volumes(home_volume, platform_ca))

    # The image's own kernel wins over the home's `python3` and runs the image's packages:
    # nothing of ~/.local/lib/python3.* is on its path.
    specs = _get_json(c, "/api/kernelspecs")["kernelspecs"]
    assert specs["python3"]["spec"]["argv"][0] == f"{VENV}/bin/python", specs["python3"]
    in_kernel = run_in_kernel(c, start_kernel(c), WHAT_LOADS)
    in_terminal = c.exec(["bash", "-lc", f"python -c {shlex.quote(WHAT_LOADS)}"]).stdout
    for where, out in (("kernel", in_kernel), ("login shell", in_terminal)):
        loads = dict(line.split(" ", 1) for line in out.strip().splitlines() if " " in line)
        assert loads["executable"] == f"{VENV}/bin/python", (where, out)
        assert loads["probe"] == "None", (where, out)
        assert loads["local"] == "[]", (where, out)
        modules = [line.split()[1:] for line in out.splitlines() if line.startswith("module ")]
        assert [name for name, _ in modules] == list(SHADOWS), (where, out)
        for name, origin in modules:
            assert origin == "None" or origin.startswith(f"{VENV}/lib/"), (where, name, out)
    # JupyterLab 3's settings and workspace are read by Lab 4.
    assert _theme(c) == OLD_THEME
    assert OLD_WORKSPACE in _workspaces(c)

    # What cannot work any more is named in the log, each with its fix.
    lines = _check_lines(c)
    print("\n".join(lines))
    old_env = [line for line in lines if f"kernel {OLD_ENV_KERNEL!r}" in line]
    assert len(old_env) == 1, lines
    assert CONDA_ENV_PYTHON in old_env[0], old_env
    assert old_env[0].endswith(f"rm -rf ~/.local/share/jupyter/kernels/{OLD_ENV_KERNEL}"), old_env
    hidden = [line for line in lines if "kernel 'python3'" in line]
    assert len(hidden) == 1, lines
    assert CONDA_PYTHON in hidden[0], hidden
    assert "hidden" in hidden[0], hidden
    scripts = [line for line in lines if "~/.local/bin" in line]
    assert len(scripts) == 1, lines
    assert CONDA_PYTHON in scripts[0], scripts
    user_sites = [line for line in lines if "~/.local/lib/python3." in line]
    assert len(user_sites) == len(USER_SITES), lines

    assert len(lines) == len([*old_env, *hidden, *scripts, *user_sites]), lines

    # The fixes named work, typed in a terminal: the scripts that broke `pip` and `jupyter`
    # there (a login shell finds ~/.local/bin first) go, so do the kernel specs and the
    # packages; the next start has nothing to say.
    assert c.exec(["bash", "-lc", "command -v pip"]).stdout.strip() == f"{HOME}/.local/bin/pip"
    for line in lines:
        fix = re.search(r": (rm [^:]*)$", line)
        assert fix is not None, line
        c.exec(["bash", "-lc", fix.group(1)])
    assert c.exec(["bash", "-lc", "command -v pip"]).stdout.strip() == f"{VENV}/bin/pip"
    assert OLD_ENV_KERNEL not in _get_json(c, "/api/kernelspecs")["kernelspecs"]
    left = c.exec(f"ls -A {HOME}/.local/bin {HOME}/.local/lib {KERNELS}").stdout.split()
    assert left == [f"{HOME}/.local/bin:", f"{HOME}/.local/lib:", f"{KERNELS}:"], left
    assert c.exec(HOME_CHECK).output == ""
