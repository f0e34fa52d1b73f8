"""The text of the files that `invoke new` writes (kfimages.author.scaffold picks which, where).

Every template follows the repository's conventions: the Dockerfile like jupyter/Dockerfile
(hadolint clean with .hadolint.yaml), the service like base's s6 scripts (shellcheck clean),
the test like tests/images/*/ (fixtures of tests/images/conftest.py).
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass

TESTS_DIR = "tests/images"


def is_package(folder: str) -> bool:
    """Whether tests/images/<folder>/ can be a Python package (gets an __init__.py): only when
    the folder's name is an identifier. Otherwise (`jupyter-pytorch-full`) mypy refuses the
    package, and its test modules are top-level modules, named by their file alone."""
    return folder.isidentifier() and not keyword.iskeyword(folder)


def smoke_module_name(folder: str) -> str:
    """The file name of a folder's scaffolded smoke tests: `test_<folder>.py`, `-` as `_`."""
    return f"test_{folder.replace('-', '_')}.py"


@dataclass(frozen=True)
class Names:
    """What the templates say about the new image."""

    image: str
    """Image name: `<folder>` or `<folder>.<variant>`."""
    folder: str
    dockerfile: str
    """Repository-relative path of the Dockerfile."""
    parent: str
    parent_readme: str | None
    """Repository-relative path of the parent folder's README.md, if it has one."""
    size_budget_mb: int | None
    """The parent's size budget, the starting point of the new image's."""

    @property
    def service(self) -> str:
        """The s6 service of the folder: named after it."""
        return self.folder

    @property
    def run_script(self) -> str:
        return f"{self.folder}/s6/services.d/{self.service}/run"

    @property
    def tests_init(self) -> str:
        return f"{TESTS_DIR}/{self.folder}/__init__.py"

    @property
    def test_module(self) -> str:
        return f"{TESTS_DIR}/{self.folder}/{smoke_module_name(self.folder)}"


_COPY_S6 = """\
# Services (s6/services.d/<name>/run) and start-up scripts (s6/cont-init.d/NN-name) belong to
# jovyan, group 0, group = user, as the parent's do: any uid with gid 0 can run them.
COPY --chown=1000:0 s6/ /etc/
RUN fix-permissions --no-setgid /etc/services.d /etc/cont-init.d

"""


def dockerfile(names: Names, *, with_s6: bool) -> str:
    """The image's Dockerfile: parent from `ARG BASE_IMG`, its OCI description (the build sets
    the other labels), s6 files, `USER 1000`."""
    description = f"Kubeflow notebook server image: {names.image} on {names.parent}"
    return f"""\
# {names.image}: a Kubeflow notebook server image on {names.parent} (see README.md).
# Scaffolded by `invoke new`: describe here what it adds, and keep the image contract
# (docs/contract.md: port 8888 under $NB_PREFIX, uid 1000 with gid 0 or any uid with gid 0,
# /init inherited).
# Build context: this folder. The parent is passed as build-arg BASE_IMG.
ARG BASE_IMG={names.parent}
FROM $BASE_IMG
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
USER 0

# The description only: `invoke build` sets title, version, source, revision and created.
LABEL org.opencontainers.image.description="{description}"

# Install what the image adds here, as root, cleaning up in the same RUN, e.g.
# RUN apt-get update \\
#  && apt-get install -y --no-install-recommends <package> \\
#  && apt-get clean \\
#  && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* /var/log/dpkg.log

{_COPY_S6 if with_s6 else ""}USER 1000
"""


def service_run(names: Names) -> str:
    """A placeholder service that stays up, logs one line and serves nothing."""
    return f"""\
#!/command/with-contenv bash
# shellcheck shell=bash
# The {names.service} service, supervised by s6: base's /init starts every
# /etc/services.d/*/run after the cont-init.d scripts, waits until it is up, and restarts it
# when it exits (so a script that exits at once crash-loops, and the image's tests fail).
#
# A PLACEHOLDER written by `invoke new`: it logs one line and then waits, serving nothing.
# Replace the `exec` line with your server, in the foreground, keeping `exec` (s6 stops the
# service by signalling this process). Kubeflow expects the UI on port 8888 of all interfaces
# under $NB_PREFIX, run by uid 1000 or any uid with gid 0, with $HOME possibly an empty
# volume; e.g.
#   exec my-server --host=0.0.0.0 --port=8888 --base-url="${{NB_PREFIX:-/}}"
set -euo pipefail

# Under an init run as root (base/README.md, "Root mode"): the service runs as $NB_USER, as
# in user mode, and nothing the user can change runs as root.
if [[ "$(id -u)" == 0 && "${{NB_UID:-1000}}" != 0 ]]; then
  umask 0002 # as the init gives it in user mode
  exec s6-setuidgid "${{NB_USER:-jovyan}}" "$0" "$@"
fi

echo "{names.service}: placeholder service up as uid $(id -u); edit {names.run_script}" >&2
exec sleep infinity
"""


def image_yaml(names: Names) -> str:
    """image.yaml with the parent's size budget (the smoke tests assert it)."""
    if names.size_budget_mb is None:
        budget = "# size_budget_mb: 1000"
    else:
        budget = f"size_budget_mb: {names.size_budget_mb}"
    return f"""\
# {names.folder}: build configuration, every key optional (docs/build-system.md, 'image.yaml').
# Size budget in MB (uncompressed; base's smoke test asserts it): the parent's to begin
# with; raise it by what this image adds.
{budget}
# build_args:            # --build-arg NAME=value for an `ARG NAME` of the Dockerfile
#   MY_VERSION: "1.0"
# paths:                 # other repository files whose changes rebuild this image
#   - shared/fonts
"""


def readme(names: Names) -> str:
    """The folder's README.md: what to edit where, how to build and test."""
    parent = f"[`{names.parent}`]({names.parent_readme})" if names.parent_readme else names.parent
    return f"""\
# {names.folder}

A Kubeflow notebook server image on {parent},
scaffolded by `invoke new`: say here what it adds and how to use it.

- `{names.dockerfile.split("/", 1)[1]}`: what the image installs (as root; it ends as
  `USER 1000`).
- `s6/services.d/{names.service}/run`: its service, a placeholder that logs one line and
  waits; replace its `exec` line with your server (port 8888 under `$NB_PREFIX`).
- `s6/cont-init.d/NN-name`: start-up scripts, if it needs any (run in order before the
  services).
- `image.yaml`: size budget, build args, extra paths
  ([reference](../docs/build-system.md#imageyaml)).
- `{names.test_module}`: its smoke tests; the tests of its ancestors (base's
  [contract](../docs/contract.md) tests) run on it too.

```sh
.venv/bin/invoke build {names.image}
.venv/bin/nox -s smoke -- {names.image}
```
"""


def tests_package_init(names: Names) -> str:
    return f'"""Smoke tests of the {names.folder} image(s)."""\n'


def smoke_tests(names: Names) -> str:
    """One real test: the placeholder service comes up and stays up (no crash loop)."""
    return f'''\
"""Smoke tests of {names.folder} (scaffolded by `invoke new`): its service is up and stays up.

Run with `pytest tests/images --image {names.image}`; base's contract tests run on it too.
Fixtures (tests/images/conftest.py): `containers` (containers of the image under test,
removed after the test), `home_volume`, `derived_image`, `free_port`; the harness is in
tests/harness/ (`TrackedContainer.exec` raises on a non-zero exit unless asked,
`wait_services_up` fails at once with a crashing service's own error).
Add tests of what the image serves, e.g. with `wait_for_http` once the service listens.
"""

from __future__ import annotations

from tests.harness.containers import ServiceState, TrackedContainer, TrackedContainers

SERVICE = "{names.service}"
STAYS_UP_S = 3
"""How long the service must stay up in one go (s6 counts; a crash loop's "up" is short)."""


def up_for(c: TrackedContainer, seconds: int) -> ServiceState | None:
    """The service's state once it has been up for `seconds` on end, else None."""
    state = c.service(SERVICE)
    return state if state is not None and state.up and state.seconds >= seconds else None


def test_service_is_up_and_stays_up(containers: TrackedContainers) -> None:
    c = containers.run()
    pid = c.wait_services_up([SERVICE])[SERVICE].pid
    # Fails at once if the service fails meanwhile; 60 s only guards against a hang.
    state = c.wait_until(lambda: up_for(c, STAYS_UP_S), timeout=60, message=f"{{SERVICE}} up")
    assert state.pid == pid, "the service restarted: its run script exits"
'''
