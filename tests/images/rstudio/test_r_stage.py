"""The rstudio image's R stage: R, RStudio's configuration and the start-up scripts.

Everything of the rstudio image except the RStudio Server binary, which cannot be
downloaded everywhere; rserver itself is tested by test_rstudio_server.py where Posit's
server is reachable. The stage is built FROM rstudio's parent image of this run
(tests/images/rstudio/stage.py), so these run with `--image rstudio` everywhere.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.harness.containers import TrackedContainers
from tests.images.rstudio.stage import RANDOM_UID, StageImage, apt_leftovers, hardened

KUBERNETES_ENV = {
    "KUBERNETES_SERVICE_HOST": "10.96.0.1",
    "KUBERNETES_SERVICE_PORT": "443",
    "KUBERNETES_SERVICE_PORT_HTTPS": "443",
    "KUBERNETES_PORT": "tcp://10.96.0.1:443",
    "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443",
    "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
}

R_WHO = 'cat(sprintf("R=%s.%s user=%s\\n", R.version$major, R.version$minor, Sys.info()[["user"]]))'

# R started with an empty environment, as RStudio starts its sessions (they do not inherit
# the pod's environment): whatever it sees comes from R's own start-up files.
R_CLEAN_ENV_PRINT = [
    "env",
    "-i",
    "PATH=/usr/bin:/bin",
    "HOME=/tmp",
    "Rscript",
    "-e",
    'v <- Sys.getenv(); k <- grep("^KUBERNETES_", names(v), value = TRUE); '
    'cat(sprintf("R-ENV %s=%s\\n", k, v[k]), sep = "")',
]

RUNS: dict[str, dict[str, Any]] = {
    "jovyan": {},
    "random-uid": {"user": f"{RANDOM_UID}:0"},
    "random-uid-read-only": hardened(),
}


def test_r_stage_builds(r_stage: StageImage, docker_client: Any) -> None:
    config = docker_client.images.get(r_stage.ref).attrs["Config"]
    print(f"\nr-stage: {r_stage.ref}, {r_stage.size_mb:.0f} MB, build {r_stage.seconds:.1f}s")
    assert config["User"] == "1000"
    assert config["Entrypoint"] == ["/init"]


def test_r_stage_leaves_no_apt_cache(r_stage: StageImage, containers: TrackedContainers) -> None:
    assert apt_leftovers(containers, r_stage.ref) == ""


@pytest.mark.parametrize("run", RUNS.values(), ids=RUNS.keys())
def test_r_starts(r_stage: StageImage, containers: TrackedContainers, run: dict[str, Any]) -> None:
    out = containers.run_to_exit(
        ["with-contenv", "bash", "-c", f"id -un; id -u; id -g; Rscript -e '{R_WHO}'"],
        image=r_stage.ref,
        **run,
    ).stdout
    uid = str(run.get("user", "1000")).split(":")[0]
    lines = out.splitlines()
    assert lines[:3] == ["jovyan", uid, "0"], f"id -un, id -u, id -g:\n{out}"
    match = re.fullmatch(r"R=(\d+\.\d+)\.\d+ user=(\S+)", lines[3])
    assert match, out
    assert match.group(1) == "4.5", f"R {match.group(1)}, expected 4.5"
    assert match.group(2) == "jovyan"


@pytest.mark.parametrize("run", RUNS.values(), ids=RUNS.keys())
def test_kubernetes_env_reaches_r_through_renviron_site(
    r_stage: StageImage, containers: TrackedContainers, run: dict[str, Any]
) -> None:
    environment = {**KUBERNETES_ENV, "NOT_KUBERNETES_VAR": "must-not-be-written"}
    result = containers.run_to_exit(
        ["bash", "-c", 'cat /etc/R/Renviron.site && "$@"', "_", *R_CLEAN_ENV_PRINT],
        image=r_stage.ref,
        environment=environment,
        **run,
    )
    lines = result.stdout.splitlines()
    for name, value in KUBERNETES_ENV.items():
        assert f"{name}='{value}'" in lines, f"{name} not in Renviron.site:\n{result.stdout}"
        assert f"R-ENV {name}={value}" in lines, f"R does not see {name}:\n{result.stdout}"
    assert "NOT_KUBERNETES_VAR" not in result.stdout
    # The start-up script's own report, in the container log.
    assert "wrote 6 KUBERNETES_* variable(s)" in result.logs, result.logs[-2000:]


def test_renviron_site_without_kubernetes(
    r_stage: StageImage, containers: TrackedContainers
) -> None:
    out = containers.run_to_exit(
        [
            "bash",
            "-c",
            'grep -c "^KUBERNETES_" /etc/R/Renviron.site; "$@"',
            "_",
            *["Rscript", "-e", 'cat("TZ", Sys.getenv("TZ"), "\\n")'],
        ],
        image=r_stage.ref,
    ).stdout
    lines = out.splitlines()
    assert lines[0] == "0", f"KUBERNETES_* lines without such variables:\n{out}"
    assert lines[1].split() == ["TZ", "Etc/UTC"], out


def _conf(text: str) -> dict[str, str]:
    out = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _read(containers: TrackedContainers, ref: str, path: str) -> str:
    """A file of the image (read without /init: only the file's content is of interest)."""
    return containers.run_to_exit([path], image=ref, entrypoint=["cat"]).stdout


def test_rstudio_configuration(r_stage: StageImage, containers: TrackedContainers) -> None:
    rserver = _conf(_read(containers, r_stage.ref, "/etc/rstudio/rserver.conf"))
    assert rserver["www-port"] == "8888"
    assert rserver["www-address"] == "0.0.0.0"
    assert rserver["auth-none"] == "1"
    assert rserver["www-frame-origin"] == "same"
    assert rserver["server-daemonize"] == "0"
    assert rserver["server-data-dir"].startswith("/tmp/")
    assert rserver["server-pid-file"].startswith("/tmp/")
    assert rserver["secure-cookie-key-file"].startswith("/tmp/")
    assert rserver["rsession-which-r"] == "/usr/bin/R"
    database = _conf(_read(containers, r_stage.ref, rserver["database-config-file"]))
    assert database == {"provider": "sqlite", "directory": "/tmp/rstudio-server/db"}
    logging_conf = _conf(_read(containers, r_stage.ref, "/etc/rstudio/logging.conf"))
    assert logging_conf["logger-type"] == "stderr"
    locks = _conf(_read(containers, r_stage.ref, "/etc/rstudio/file-locks"))
    assert locks == {"lock-type": "advisory"}


def test_rstudio_files_belong_to_jovyan_and_group_0(
    r_stage: StageImage, containers: TrackedContainers
) -> None:
    scripts = "/etc/cont-init.d/50-kubernetes-env /etc/cont-init.d/55-r-user-library"
    out = containers.run_to_exit(
        ["bash", "-c", f"stat -c 'STAT %u:%g %A %n' /etc/rstudio /etc/rstudio/* {scripts}"],
        image=r_stage.ref,
    ).stdout
    stats = [line.split() for line in out.splitlines()]
    assert len(stats) == 7, out
    for _, owner, mode, path in stats:
        assert owner == "1000:0", f"{path} is owned by {owner}"
        if path.startswith("/etc/rstudio"):
            assert mode[4:7] == mode[1:4], f"{path}: group permissions are not the owner's ({mode})"
        else:  # any uid with gid 0 runs the start-up scripts
            assert mode[4] == "r", f"{path}: group 0 cannot read it ({mode})"
            assert mode[6] == "x", f"{path}: group 0 cannot run it ({mode})"


def test_install_packages_goes_to_the_user_library_in_the_home(
    r_stage: StageImage, containers: TrackedContainers
) -> None:
    """install.packages() as a random uid writes into the user library in the home (the PVC),
    which the start-up script created; test_user_library.py checks it survives a restart."""
    script = (
        'd <- file.path(tempdir(), "kfnbprobe"); dir.create(file.path(d, "R"), recursive = TRUE); '
        'writeLines(c("Package: kfnbprobe", "Version: 0.1", "Title: Probe", '
        '"Description: Probe.", "License: MIT", "Maintainer: Probe <probe@example.org>"), '
        'file.path(d, "DESCRIPTION")); '
        'writeLines("probe <- function() 42", file.path(d, "R", "probe.R")); '
        'writeLines("export(probe)", file.path(d, "NAMESPACE")); '
        'install.packages(d, repos = NULL, type = "source", quiet = TRUE); '
        'library(kfnbprobe); cat("PROBE", probe(), find.package("kfnbprobe"), "\\n")'
    )
    out = containers.run_to_exit(
        ["with-contenv", "Rscript", "-e", script],
        image=r_stage.ref,
        user=f"{RANDOM_UID}:0",
        cap_drop=["ALL"],
    ).stdout
    assert "PROBE 42 /home/jovyan/R/x86_64-pc-linux-gnu-library/4.5/kfnbprobe" in out, out


def test_install_packages_without_a_writable_home_uses_the_site_library(
    r_stage: StageImage, containers: TrackedContainers
) -> None:
    """With a read-only root and no home volume there is no user library (the start-up script
    says so and goes on): install.packages() falls back to the image's site library."""
    result = containers.run_to_exit(
        ["with-contenv", "Rscript", "-e", "cat(.libPaths()[1], '\\n')"],
        image=r_stage.ref,
        user=f"{RANDOM_UID}:0",
        read_only=True,
        tmpfs={"/tmp": "", "/run": ""},
    )
    assert result.stdout.strip() == "/usr/local/lib/R/site-library", result.stdout
    assert "55-r-user-library: warning: cannot create" in result.logs, result.logs[-2000:]
