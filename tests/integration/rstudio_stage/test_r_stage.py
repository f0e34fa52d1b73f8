"""The rstudio image's R stage: R, RStudio's configuration and the start-up scripts.

Everything of the rstudio image except the RStudio Server binary, which cannot be
downloaded here; rserver itself is tested in tests/images/rstudio where Posit's server
is reachable.
"""

from __future__ import annotations

import re
from typing import Any

import docker
import pytest

from tests.integration.rstudio_stage.stage import (
    RANDOM_UID,
    Runner,
    StageImage,
    apt_leftovers,
    hardened,
)

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

RUNS = {
    "jovyan": {},
    "random-uid": {"user": f"{RANDOM_UID}:0"},
    "random-uid-read-only": hardened(),
}


def test_r_stage_builds(r_stage: StageImage) -> None:
    client = docker.from_env()
    try:
        config = client.images.get(r_stage.ref).attrs["Config"]
    finally:
        client.close()
    print(f"\nr-stage: {r_stage.ref}, {r_stage.size_mb:.0f} MB, build {r_stage.seconds:.1f}s")
    assert config["User"] == "1000"
    assert config["Entrypoint"] == ["/init"]


def test_r_stage_leaves_no_apt_cache(r_stage: StageImage, runner: Runner) -> None:
    assert apt_leftovers(runner, r_stage.ref) == ""


@pytest.mark.parametrize("run", RUNS.values(), ids=RUNS.keys())
def test_r_starts(r_stage: StageImage, runner: Runner, run: dict[str, Any]) -> None:
    code, logs = runner.run(
        r_stage.ref,
        ["with-contenv", "bash", "-c", f"id -un; id -u; id -g; Rscript -e '{R_WHO}'"],
        **run,
    )
    assert code == 0, logs
    uid = run.get("user", "1000").split(":")[0]
    lines = logs.splitlines()
    assert "jovyan" in lines, f"the uid has no name jovyan:\n{logs}"
    at = lines.index("jovyan")
    assert lines[at + 1 : at + 3] == [uid, "0"], f"id -u, id -g after the name:\n{logs}"
    match = re.search(r"^R=(\d+\.\d+)\.\d+ user=(\S+)$", logs, re.MULTILINE)
    assert match, logs
    assert match.group(1) == "4.5", f"R {match.group(1)}, expected 4.5"
    assert match.group(2) == "jovyan"


@pytest.mark.parametrize("run", RUNS.values(), ids=RUNS.keys())
def test_kubernetes_env_reaches_r_through_renviron_site(
    r_stage: StageImage, runner: Runner, run: dict[str, Any]
) -> None:
    environment = {**KUBERNETES_ENV, "NOT_KUBERNETES_VAR": "must-not-be-written"}
    code, logs = runner.run(
        r_stage.ref,
        ["bash", "-c", 'cat /etc/R/Renviron.site && "$@"', "_", *R_CLEAN_ENV_PRINT],
        environment=environment,
        **run,
    )
    assert code == 0, logs
    for name, value in KUBERNETES_ENV.items():
        assert f"{name}='{value}'" in logs.splitlines(), f"{name} not in Renviron.site:\n{logs}"
        assert f"R-ENV {name}={value}" in logs, f"R does not see {name}:\n{logs}"
    assert "NOT_KUBERNETES_VAR" not in logs
    assert "wrote 6 KUBERNETES_* variable(s)" in logs


def test_renviron_site_without_kubernetes(r_stage: StageImage, runner: Runner) -> None:
    code, logs = runner.run(
        r_stage.ref,
        [
            "bash",
            "-c",
            'grep -c "^KUBERNETES_" /etc/R/Renviron.site; "$@"',
            "_",
            *["Rscript", "-e", 'cat("TZ", Sys.getenv("TZ"), "\\n")'],
        ],
    )
    assert code == 0, logs
    assert "\n0\n" in f"\n{logs}", f"KUBERNETES_* lines without such variables:\n{logs}"
    assert "TZ Etc/UTC" in logs, logs


def _conf(text: str) -> dict[str, str]:
    out = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _read(runner: Runner, ref: str, path: str) -> str:
    """A file of the image (read without /init: only the file's content is of interest)."""
    code, logs = runner.run(ref, [path], entrypoint=["cat"])
    assert code == 0, logs
    return logs


def test_rstudio_configuration(r_stage: StageImage, runner: Runner) -> None:
    rserver = _conf(_read(runner, r_stage.ref, "/etc/rstudio/rserver.conf"))
    assert rserver["www-port"] == "8888"
    assert rserver["www-address"] == "0.0.0.0"
    assert rserver["auth-none"] == "1"
    assert rserver["www-frame-origin"] == "same"
    assert rserver["server-daemonize"] == "0"
    assert rserver["server-data-dir"].startswith("/tmp/")
    assert rserver["server-pid-file"].startswith("/tmp/")
    assert rserver["secure-cookie-key-file"].startswith("/tmp/")
    assert rserver["rsession-which-r"] == "/usr/bin/R"
    database = _conf(_read(runner, r_stage.ref, rserver["database-config-file"]))
    assert database == {"provider": "sqlite", "directory": "/tmp/rstudio-server/db"}
    logging_conf = _conf(_read(runner, r_stage.ref, "/etc/rstudio/logging.conf"))
    assert logging_conf["logger-type"] == "stderr"
    assert _conf(_read(runner, r_stage.ref, "/etc/rstudio/file-locks")) == {"lock-type": "advisory"}


def test_rstudio_files_belong_to_jovyan_and_group_0(r_stage: StageImage, runner: Runner) -> None:
    scripts = "/etc/cont-init.d/50-kubernetes-env"
    code, logs = runner.run(
        r_stage.ref,
        ["bash", "-c", f"stat -c 'STAT %u:%g %A %n' /etc/rstudio /etc/rstudio/* {scripts}"],
    )
    assert code == 0, logs
    stats = [line.split() for line in logs.splitlines() if line.startswith("STAT ")]
    assert len(stats) == 6, logs
    for _, owner, mode, path in stats:
        assert owner == "1000:0", f"{path} is owned by {owner}"
        if path.startswith("/etc/rstudio"):
            assert mode[4:7] == mode[1:4], f"{path}: group permissions are not the owner's ({mode})"
        else:  # any uid with gid 0 runs the start-up scripts
            assert mode[4] == "r", f"{path}: group 0 cannot read it ({mode})"
            assert mode[6] == "x", f"{path}: group 0 cannot run it ({mode})"


def test_install_packages_goes_to_the_image_site_library(
    r_stage: StageImage, runner: Runner
) -> None:
    """install.packages() as a random uid writes into the image, not into the PVC home."""
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
    run = {"user": f"{RANDOM_UID}:0", "cap_drop": ["ALL"]}
    code, logs = runner.run(r_stage.ref, ["with-contenv", "Rscript", "-e", script], **run)
    assert code == 0, logs
    assert "PROBE 42 /usr/local/lib/R/site-library/kfnbprobe" in logs, logs
