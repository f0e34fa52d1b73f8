"""How the bench reaches an image's server: the probe of its nearest folder, and the shell
loop that `docker exec` runs inside the container (never a container address)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

from kfimages.repo.graph import Graph

BENCH_LABEL = "io.kfimages.bench"
"""Label of the bench's containers (removed before and after a run)."""
PREFIX = "/notebook/bench/x"
"""NB_PREFIX of the start-up runs, shaped as Kubeflow sets it (/notebook/<ns>/<name>)."""
PORT = 8888
BURST_S = 5
"""How long one `docker exec` probe polls inside the container (about that long)."""
INTERVAL_S = 0.01
"""Pause between two requests of the probe: the first 200 is seen within about 10 ms, where a
50 ms pause (and a `date` each round) made every start-up a multiple of some 60 ms, coarser than
the difference /init makes."""


@dataclass(frozen=True)
class Probe:
    """How an image's server answers: the s6 service that runs it and the URL that says 200."""

    service: str
    """/etc/services.d/<service>/run starts the server (the bare-server entrypoint)."""
    path: str
    """Path on 127.0.0.1:8888 inside the container; `{prefix}` is NB_PREFIX."""
    follow_redirects: bool = False

    @property
    def run_script(self) -> str:
        return f"/etc/services.d/{self.service}/run"

    def resolved(self, *, prefix: str) -> str:
        """The path with NB_PREFIX filled in."""
        return self.path.format(prefix=prefix.rstrip("/"))

    def url(self, *, prefix: str) -> str:
        return f"http://127.0.0.1:{PORT}{self.resolved(prefix=prefix)}"


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
    if bare:
        args += ["--entrypoint", probe.run_script]
    return [*args, ref]


def probe_script(*, url: str, follow_redirects: bool, burst_s: float = BURST_S) -> str:
    """A bash loop run by one `docker exec`: at the first 200, print the container's clock
    (`$EPOCHREALTIME`, the host's clock: one kernel) and exit 0; exit 1 after about `burst_s`
    (rounds of one request and a pause of INTERVAL_S, counted: no clock read in the loop).
    The time printed is when the 200 came, not when `docker exec` returned to the host, some
    tens of ms later and by a varying amount.

    The loop starts no process: the request is bash's own `/dev/tcp` (HTTP/1.0, one status
    line read, at most 2 s), the pause a `read -t` on a pipe nobody writes. A probe must not
    take the CPU of the start it measures: the curl-and-sleep loop used before ran two
    programs per round, about a third of one core on this 2-core machine for as long as the
    start lasted (5.1 s of CPU in a 5 s burst against a closed port; this loop: 0.1 s), and
    /init, which starts more processes than the bare server, lost more of it. With
    `follow_redirects`, a 301/302/307/308 to a path of the same server is followed (at most 5
    times), as `curl -L` would."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"the probe speaks plain HTTP to one host; got {url}")
    host, port = parts.hostname, parts.port or 80
    origin = f"http://{host}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    rounds = max(1, round(burst_s / INTERVAL_S))
    hops = 5 if follow_redirects else 0
    return "\n".join(
        [
            "exec 2>/dev/null 9<> <(:)",  # fd 9: a pipe nobody writes, for `read -t` pauses
            f"path={shlex.quote(path)} hops={hops} i=0",
            f"while [ $i -lt {rounds} ]; do",
            f"  if exec 3<>/dev/tcp/{host}/{port}; then",
            f"    printf 'GET %s HTTP/1.0\\r\\nHost: {host}:{port}\\r\\n\\r\\n' \"$path\" >&3",
            "    IFS=' ' read -r -t 2 version code rest <&3",
            '    if [ "$code" = 200 ]; then echo "$EPOCHREALTIME"; exit 0; fi',
            "    case $code in 30[1278]) if [ $hops -gt 0 ]; then",
            "      location=",
            "      while IFS= read -r -t 2 line <&3 && [ \"$line\" != $'\\r' ]; do",
            "        case ${line,,} in location:*) location=${line#*:} ;; esac",
            "      done",
            "      location=${location# } location=${location%$'\\r'}",
            f"      location=${{location#{origin}}}",
            "      case $location in",
            "        /*) path=$location hops=$((hops - 1)); exec 3<&-; continue ;;",
            "      esac",
            "    fi ;; esac",
            "    exec 3<&-",
            "  fi",
            f"  read -r -t {INTERVAL_S} -u 9",
            "  i=$((i + 1))",
            "done",
            "exit 1",
        ]
    )


def answered_at(stdout: str) -> float | None:
    """The clock time a probe printed at its first 200, None when it printed none."""
    try:
        return float(stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None
