"""How the bench reaches an image's server: the probe of its nearest folder, and one request
from the host to the port Docker published on 127.0.0.1 (never a container address)."""

from __future__ import annotations

import http.client
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from kfimages.repo.graph import Graph

BENCH_LABEL = "io.kfimages.bench"
"""Label of the bench's containers (removed before and after a run)."""
PREFIX = "/notebook/bench/x"
"""NB_PREFIX of the start-up runs, shaped as Kubeflow sets it (/notebook/<ns>/<name>)."""
PORT = 8888
INTERVAL_S = 0.01
"""Pause between two requests of the probe: the first 200 is seen within about 10 ms, where a
50 ms pause made every start-up a multiple of some 60 ms, coarser than the difference /init
makes."""
REDIRECTS = 5
"""At most this many redirects followed by a probe with `follow_redirects` (as `curl -L`)."""


@dataclass(frozen=True)
class Probe:
    """How an image's server answers: the s6 service that runs it and the URL that says 200."""

    service: str
    """/etc/services.d/<service>/run starts the server (the bare-server entrypoint)."""
    path: str
    """Path on port 8888 of the container (published on 127.0.0.1); `{prefix}` is NB_PREFIX."""
    follow_redirects: bool = False

    @property
    def run_script(self) -> str:
        return f"/etc/services.d/{self.service}/run"

    def resolved(self, *, prefix: str) -> str:
        """The path with NB_PREFIX filled in."""
        return self.path.format(prefix=prefix.rstrip("/"))


PROBES: Mapping[str, Probe] = MappingProxyType(
    {
        "jupyter": Probe(service="jupyterlab", path="{prefix}/api/status"),
        "codeserver": Probe(service="codeserver", path="/healthz"),
        "rstudio": Probe(service="rstudio", path="/", follow_redirects=True),
    }
)
"""Image folder -> its probe (as tests/images/<folder> wait for the server); an image built
FROM one of them inherits it (jupyter-pytorch-full: jupyter's)."""


def select_probe(*, folders: Sequence[str], probes: Mapping[str, Probe] = PROBES) -> Probe | None:
    """The probe of the nearest folder that has one; `folders` is the image's own folder,
    then its ancestors' folders, nearest first."""
    for folder in folders:
        if folder in probes:
            return probes[folder]
    return None


def chain_folders(graph: Graph, name: str) -> list[str]:
    """The image's folder, then its ancestors' folders, nearest first."""
    ancestors = reversed(graph.ancestors(name))
    return [graph.get(name).folder, *(image.folder for image in ancestors)]


def services(*, root: Path, folders: Sequence[str]) -> list[str]:
    """The s6 services (`<folder>/s6/services.d/<service>/run`) of these folders."""
    return sorted(
        run.parent.name for folder in folders for run in root.glob(f"{folder}/s6/services.d/*/run")
    )


def no_probe_reason(*, folders: Sequence[str], found_services: Sequence[str]) -> str:
    """Why an image gets no start-up figures (select_probe found nothing)."""
    if not found_services:
        return f"no HTTP server: {folders[0]} starts no service"
    return f"no probe known for {folders[0]} (add it to kfimages.bench.probes.PROBES)"


def container_args(*, ref: str, name: str, probe: Probe, bare: bool) -> list[str]:
    """`docker run` arguments of one start-up run: through the image's /init, or `bare`: the
    service's run script as the entrypoint (no /init: no cont-init.d, no supervision)."""
    args = ["run", "-d", "--name", name, "--label", f"{BENCH_LABEL}=1", "-e", f"NB_PREFIX={PREFIX}"]
    args += ["-p", f"127.0.0.1::{PORT}"]  # a port Docker picks, on the host's loopback only
    if bare:
        args += ["--entrypoint", probe.run_script]
    return [*args, ref]


def answered_200_at(
    *, port: int, path: str, follow_redirects: bool, timeout: float = 2.0
) -> float | None:
    """One GET of `path` on 127.0.0.1:`port` from the host (the port Docker published for the
    container): the host's clock when a 200 came, None for anything else (refused, closed
    unanswered, another status). With `follow_redirects`, a 301/302/307/308 to a path of the
    same server is followed, at most REDIRECTS times.

    From the host, in the bench's own process: no program starts and no `docker exec` enters
    the container while the start being measured runs, as Kubeflow's gateway and the kubelet
    reach a server from outside its container. The probes used before took CPU from that
    start: a curl-and-sleep loop in the container (5.1 s of CPU in a 5 s burst on this
    2-core machine), then a bash loop in the container whose `docker exec` (runc entering the
    container) ran during /init's first 40 ms: /init's entrypoint-to-service time was 40 ms
    with it and 26-31 ms without (bench/README.md)."""
    origin = f"http://127.0.0.1:{port}"
    for _ in range(1 + (REDIRECTS if follow_redirects else 0)):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            at = time.time()  # wall clock: compared with the time of `docker run`
            location = response.getheader("Location") or ""
        except (OSError, http.client.HTTPException):
            return None  # not up yet: refused, or docker-proxy closed it with no answer
        finally:
            connection.close()
        if response.status == 200:
            return at
        if not follow_redirects or response.status not in (301, 302, 307, 308):
            return None
        path = location.removeprefix(origin)
        if not path.startswith("/"):
            return None  # elsewhere: not this server's answer
    return None
