"""The pure parts of the bench (kfimages.bench): probe selection, arithmetic, results.md,
the options of `invoke bench`, the throwaway chain's repository.

No Docker: the probes are chosen from this repository's graph and folders, the figures
are made up, the chain is a real git repository that is only loaded.
"""

from __future__ import annotations

import http.server
import itertools
import os
import re
import socket
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from kfimages import engine
from kfimages.bench import chain as bench_chain
from kfimages.bench import machine, markdown, probes, startup
from kfimages.bench import results as figures
from kfimages.bench import run as bench_run
from kfimages.bench.machine import Machine, Quiet, disk_warning, parse_cpu_line, settle
from kfimages.bench.probes import Probe
from kfimages.bench.results import (
    ImageBuild,
    ImageRun,
    Part,
    PlanStep,
    Rebuild,
    Results,
    Timing,
)
from kfimages.bench.startup import start_order
from kfimages.build.report import Result, Status
from kfimages.errors import UserError
from kfimages.repo.graph import load_graph
from tests.unit.conftest import Repo
from tests.unit.invoke_cli import run_invoke

PROJECT = Path(__file__).resolve().parents[2]

MACHINE = Machine(
    date="2026-11-27 23:00 UTC",
    cpus=2,
    cpu_model="AMD EPYC",
    memory=24 << 30,
    kernel="6.1.0",
    os_name="Debian GNU/Linux 12 (bookworm)",
    docker="26.1.5",
    buildx="0.13.1",
    load=(0.5, 0.25, 0.125),
    commit="04ddec8955ab",
    build_args=(("TORCH_INDEX_URL", "https://pypi.org/simple"),),
)


def probe_of(name: str) -> Probe | None:
    graph = load_graph(PROJECT)
    return probes.select_probe(folders=probes.chain_folders(graph, name))


# --- probe selection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "service", "path"),
    [
        ("jupyter", "jupyterlab", "/notebook/bench/x/api/status"),
        ("jupyter-pytorch-full.cpu", "jupyterlab", "/notebook/bench/x/api/status"),
        ("jupyter-pytorch-full.cuda", "jupyterlab", "/notebook/bench/x/api/status"),
        ("codeserver", "codeserver", "/healthz"),
        ("rstudio", "rstudio", "/"),
        ("rstudio-tidyverse", "rstudio", "/"),
    ],
)
def test_each_image_gets_the_probe_of_its_nearest_folder(
    image: str, service: str, path: str
) -> None:
    probe = probe_of(image)
    assert probe is not None
    assert (probe.service, probe.resolved(prefix=probes.PREFIX)) == (service, path)


def test_base_has_no_probe_and_says_why() -> None:
    graph = load_graph(PROJECT)
    folders = probes.chain_folders(graph, "base")
    assert probes.select_probe(folders=folders) is None
    found = probes.services(root=PROJECT, folders=folders)
    assert found == []
    assert probes.no_probe_reason(folders=folders, found_services=found) == (
        "no HTTP server: base starts no service"
    )


def test_a_folder_with_a_service_but_no_probe_names_the_fix() -> None:
    reason = probes.no_probe_reason(folders=["myide", "base"], found_services=["myide"])
    assert "myide" in reason
    assert "kfimages.bench.probes.PROBES" in reason


def test_the_nearest_folder_wins() -> None:
    mine = Probe(service="mine", path="/ok")
    known = {**probes.PROBES, "child": mine}
    assert probes.select_probe(folders=["child", "jupyter", "base"], probes=known) is mine
    assert (
        probes.select_probe(folders=["other", "jupyter", "base"], probes=known)
        == probes.PROBES["jupyter"]
    )
    assert probes.select_probe(folders=["other", "base"], probes=known) is None


def test_every_probe_names_a_service_of_its_folder_and_every_service_has_a_probe() -> None:
    """The bare-server entrypoint is /etc/services.d/<service>/run: the file must exist."""
    for folder, probe in probes.PROBES.items():
        run = PROJECT / folder / "s6" / "services.d" / probe.service / "run"
        assert run.is_file(), f"{folder}: no {run.relative_to(PROJECT)}"
    folders = {image.folder for image in load_graph(PROJECT).images.values()}
    with_services = {f for f in folders if probes.services(root=PROJECT, folders=[f])}
    assert with_services <= set(probes.PROBES), "a server image the bench cannot probe"


def test_probe_url_and_run_script() -> None:
    probe = probes.PROBES["jupyter"]
    assert probe.run_script == "/etc/services.d/jupyterlab/run"


def test_container_args_init_and_bare() -> None:
    probe = probes.PROBES["codeserver"]
    init = probes.container_args(ref="r/c:t", name="n", probe=probe, bare=False)
    bare = probes.container_args(ref="r/c:t", name="n", probe=probe, bare=True)
    assert init[-1] == bare[-1] == "r/c:t"
    assert f"NB_PREFIX={probes.PREFIX}" in init
    assert "--entrypoint" not in init
    assert bare[bare.index("--entrypoint") + 1] == "/etc/services.d/codeserver/run"
    for args in (init, bare):  # on the host's loopback only, a port Docker picks
        assert args[args.index("-p") + 1] == "127.0.0.1::8888"


class _Server(http.server.BaseHTTPRequestHandler):
    """/ok: 200; /moved: 302 to /ok (absolute URL, as Tornado and RStudio send it); else 404."""

    def do_GET(self) -> None:
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", f"http://{self.headers['Host']}/ok")
        else:
            self.send_response(200 if self.path == "/ok" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_probe_gives_the_host_clock_of_a_200(server_url: str) -> None:
    before = time.time()
    at = probes.answered_200_at(port=_port(server_url), path="/ok", follow_redirects=False)
    assert at is not None
    assert before <= at <= time.time()


def test_probe_follows_a_redirect_only_when_asked(server_url: str) -> None:
    port = _port(server_url)
    assert probes.answered_200_at(port=port, path="/moved", follow_redirects=True) is not None
    assert probes.answered_200_at(port=port, path="/moved", follow_redirects=False) is None


def test_probe_says_none_for_another_status_or_no_server(server_url: str) -> None:
    assert probes.answered_200_at(port=_port(server_url), path="/x", follow_redirects=True) is None
    with socket.socket() as unused:  # a port nothing listens on: refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    assert probes.answered_200_at(port=port, path="/ok", follow_redirects=False) is None


def test_probe_says_none_when_the_connection_closes_unanswered() -> None:
    """What docker-proxy does while the container's server is not listening yet."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def close_one() -> None:
            connection, _ = listener.accept()
            connection.close()

        thread = threading.Thread(target=close_one, daemon=True)
        thread.start()
        port = listener.getsockname()[1]
        assert probes.answered_200_at(port=port, path="/ok", follow_redirects=False) is None
        thread.join(timeout=5)


# --- arithmetic ---------------------------------------------------------------------------


def test_speedup() -> None:
    assert figures.speedup(serial=20.0, parallel=10.0) == 2.0
    assert figures.speedup(serial=9.0, parallel=12.0) == 0.75
    assert figures.speedup(serial=0.0, parallel=1.0) is None
    assert figures.speedup(serial=1.0, parallel=0.0) is None


def result(name: str, *, started: float, duration: float, status: Status = Status.BUILT) -> Result:
    return Result(name=name, ref=f"r/{name}:t", status=status, duration=duration, started=started)


def test_build_window_spans_the_set_without_its_parents() -> None:
    results = [
        result("base", started=100.0, duration=30.0),
        result("a", started=130.0, duration=20.0),
        result("b", started=131.0, duration=25.0),
    ]
    assert figures.build_window(results, ["a", "b"]) == pytest.approx(26.0)
    assert figures.build_window(results, ["a"]) == pytest.approx(20.0)


def test_build_window_needs_every_image_built() -> None:
    results = [
        result("a", started=0.0, duration=5.0),
        result("b", started=0.0, duration=0.1, status=Status.REUSED),
    ]
    assert figures.build_window(results, ["a", "b"]) is None
    assert figures.build_window(results, ["a", "missing"]) is None


def test_jobs_speedup_of_window_and_wall() -> None:
    runs = [
        Rebuild(names=("a", "b"), seconds=100.0, statuses="3 built", window=60.0, jobs=1),
        Rebuild(names=("a", "b"), seconds=80.0, statuses="3 built", window=40.0, jobs=2),
    ]
    window, wall = figures.jobs_speedup(runs)
    assert (window, wall) == (1.5, 1.25)
    assert figures.jobs_speedup(runs[:1]) == (None, None)
    no_window = [runs[0], Rebuild(names=("a", "b"), seconds=50.0, statuses="x", jobs=2)]
    assert figures.jobs_speedup(no_window) == (None, 2.0)


def test_statuses_counts_in_status_order() -> None:
    results = [
        result("a", started=0, duration=1, status=Status.BLOCKED),
        result("b", started=0, duration=1),
        result("c", started=0, duration=1),
        result("d", started=0, duration=1, status=Status.SKIPPED),
    ]
    assert figures.statuses(results) == "2 built, 1 blocked, 1 skipped"


def test_summarize() -> None:
    timing = figures.summarize([3.0, 1.0, 2.0, 10.0], memory=5)
    assert (timing.median, timing.low, timing.high, timing.runs, timing.memory) == (
        2.5,
        1.0,
        10.0,
        4,
        5,
    )


def test_disk_warning_only_when_the_images_may_not_fit() -> None:
    assert disk_warning(free=30 * 10**9, needed=10 * 10**9) is None
    assert disk_warning(free=None, needed=10 * 10**9) is None
    assert disk_warning(free=10 * 10**9, needed=0) is None
    warning = disk_warning(free=20 * 10**9, needed=18 * 10**9)
    assert warning is not None
    assert "20.0 GB free" in warning
    assert "18.0 GB" in warning


# --- results.md ---------------------------------------------------------------------------


def full_results() -> Results:
    init = Timing(median=1.31, low=1.2, high=2.98, runs=3, memory=78 * 2**20)
    bare = Timing(median=1.05, low=1.0, high=1.1, runs=3, memory=69 * 2**20)
    return Results(
        machine=MACHINE,
        images=("base", "jupyter", "rstudio"),
        cold=(
            ImageBuild(name="base", status="built", seconds=61.25),
            ImageBuild(name="jupyter", status="built", seconds=42.0),
            ImageBuild(
                name="rstudio",
                status="blocked",
                seconds=None,
                reason="artifact rstudio-server: cannot reach https://h/x.deb",
            ),
        ),
        cache_mounts=(("jupyter", ("kfnb-jupyter-pip",)),),
        noop=Rebuild(names=("base", "jupyter"), seconds=0.134, statuses="2 reused"),
        runs=(
            ImageRun(
                name="base",
                ref="kfnb-bench/base:bench",
                size=290_100_000,
                reason="no HTTP server: base starts no service",
            ),
            ImageRun(
                name="jupyter",
                ref="kfnb-bench/jupyter:bench",
                size=538_900_000,
                probe="/notebook/bench/x/api/status",
                init=init,
                bare=bare,
            ),
        ),
        startup_runs=3,
        idle_seconds=10,
        jobs=(
            Rebuild(names=("jupyter",), seconds=100.0, statuses="2 built", window=60.0, jobs=1),
            Rebuild(names=("jupyter",), seconds=80.0, statuses="2 built", window=40.0, jobs=2),
        ),
        missing=(("rstudio", "not built (blocked: artifact rstudio-server)"),),
        plan=(
            PlanStep(
                label="load the graph",
                timing=Timing(median=12.25, low=10.0, high=30.5, runs=20),
                result="7 images",
            ),
        ),
        chain=(
            Rebuild(names=("child0",), seconds=17.8, statuses="2 built", label="first build"),
            Rebuild(names=("child0",), seconds=0.18, statuses="2 reused", label="no-op rebuild"),
        ),
        chain_jobs=(
            Rebuild(names=("child0",), seconds=17.4, statuses="2 built", window=9.0, jobs=1),
            Rebuild(names=("child0",), seconds=8.6, statuses="2 built", window=4.5, jobs=2),
        ),
        chain_shape="1 root image FROM os + 1 child",
        duration=1800.0,
    )


def test_results_markdown_has_the_machine_and_a_table_per_measurement() -> None:
    text = markdown.format_results(full_results())
    lines = text.splitlines()
    assert lines[0] == "# Benchmark of the images"
    assert "| date | 2026-11-27 23:00 UTC |" in lines
    assert "| CPU | 2 x AMD EPYC |" in lines
    assert "| Docker Engine, buildx | 26.1.5, 0.13.1 |" in lines
    assert (
        "| build-arg overrides (KFIMAGES_BUILD_ARG_*) | `TORCH_INDEX_URL=https://pypi.org/simple` |"
        in lines
    )
    assert "| bench run time | 30.0 min |" in lines
    assert "![build time, size, start-up and idle memory per image](results.png)" in lines
    assert "| measured | plan, chain, cold, startup, suites, arm64, jobs, ci |" in lines
    for title in (
        "## Planning",
        "## Throwaway chain: the build system's own overhead",
        "## Cold build",
        "## No-op rebuild of the whole graph",
        "## Image size",
        "## Start-up and idle memory",
        "## `--jobs 2` speed-up",
    ):
        assert title in lines


def test_results_markdown_rows() -> None:
    lines = markdown.format_results(full_results()).splitlines()
    assert "| base | built | 61.2 |  |" in lines
    assert (
        "| rstudio | blocked | n/a | artifact rstudio-server: cannot reach https://h/x.deb |"
        in lines
    )
    assert "| base, jupyter | 0.13 | 2 reused |" in lines
    assert "| jupyter | `kfnb-bench/jupyter:bench` | 539 |" in lines
    assert "| rstudio | n/a | n/a: not built (blocked: artifact rstudio-server) |" in lines
    assert (
        "| jupyter | `/notebook/bench/x/api/status` | 1.31 (1.20-2.98) | 1.05 (1.00-1.10) "
        "| 1.248x | +260.0 | 78 | 69 |  |"
    ) in lines
    base_row = "| base" + " | n/a" * 7 + " | no HTTP server: base starts no service |"
    assert base_row in lines
    assert "| 1 | 100.0 | 60.0 | 2 built |" in lines
    assert "Speed-up of `--jobs 2`: **1.50x** (set window), 1.25x (whole build)." in lines
    assert "| load the graph | 12.2 (10.0-30.5) | 7 images |" in lines
    assert "| no-op rebuild | 0.18 | n/a | 2 reused |" in lines
    assert "Speed-up of `--jobs 2`: **2.00x** (set window), 2.02x (whole build)." in lines


def test_results_markdown_states_what_cold_means_and_the_warm_caches() -> None:
    text = markdown.format_results(full_results())
    assert "--no-cache" in text
    assert "jupyter: `kfnb-jupyter-pip`" in text
    assert "own step" in text


def test_results_markdown_rows_follow_the_plan_order() -> None:
    lines = markdown.format_results(full_results()).splitlines()
    start = lines.index("## Image size")
    sizes = [line.split(" | ")[0] for line in lines[start:] if line.startswith("| ")][1:4]
    assert sizes == ["| base", "| jupyter", "| rstudio"]


def test_parts_not_measured_say_so() -> None:
    text = markdown.format_results(Results(machine=MACHINE, images=("base",), parts=(Part.PLAN,)))
    for part in ("chain", "cold", "startup", "suites", "arm64", "jobs", "ci"):
        assert f"Not measured in this run (`invoke bench --only` without `{part}`)." in text
    assert "Not measured in this run (it follows the `cold` part)." in text
    assert "`invoke bench --only` without `plan`" not in text


# --- options of `invoke bench` ---------------------------------------------------------------


def test_parts_default_to_every_part_in_run_order() -> None:
    assert bench_run.parse_parts("") == tuple(Part)
    assert bench_run.parse_parts("jobs,plan") == (Part.PLAN, Part.JOBS)
    assert bench_run.parse_parts(" startup ") == (Part.STARTUP,)
    assert bench_run.parse_parts("ci,arm64,cold") == (Part.COLD, Part.ARM64, Part.CI)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("plan,,chain", "--only 'plan,,chain' has an empty part; use e.g. --only plan,chain"),
        ("plan,noop", "unknown part 'noop' in --only; use one or more of plan, chain, cold"),
    ],
)
def test_bad_parts_are_one_line(text: str, message: str) -> None:
    with pytest.raises(UserError, match=re.escape(message)):
        bench_run.parse_parts(text)


def test_numbers_that_cannot_work_name_their_option() -> None:
    bench_run.check_options(bench_run.Options())
    with pytest.raises(UserError, match=r"^--runs must be at least 1, not 0$"):
        bench_run.check_options(bench_run.Options(runs=0))
    with pytest.raises(UserError, match=r"^--idle-seconds must be at least 0, not -1$"):
        bench_run.check_options(bench_run.Options(idle_seconds=-1))


def test_only_a_run_of_every_part_writes_into_bench(tmp_path: Path) -> None:
    """The committed results.md comes from one full run; a partial run goes elsewhere."""
    assert bench_run.output_dir(bench_run.Options(), root=tmp_path) == tmp_path / "bench"
    partial = bench_run.Options(parts=(Part.PLAN,))
    assert bench_run.output_dir(partial, root=tmp_path) == tmp_path / "artifacts" / "bench"
    chosen = bench_run.Options(parts=(Part.PLAN,), output_dir=tmp_path / "x")
    assert bench_run.output_dir(chosen, root=tmp_path) == tmp_path / "x"


def test_invoke_bench_refuses_an_unknown_part_in_one_line(chain: Repo) -> None:
    """Before any measurement (no Docker): exit 2, one line."""
    done = run_invoke(chain, "bench", "all", "--only", "nope")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "error: unknown part 'nope' in --only; use one or more of plan, chain, cold, startup, "
        "suites, arm64, jobs, ci"
    )


# --- the throwaway chain -------------------------------------------------------------------


def test_the_chain_is_a_graph_of_a_root_and_independent_children(
    tmp_path: Path, git_isolated: None
) -> None:
    names = bench_chain.write_chain(tmp_path, children=3, work_mb=7, os_image="os:1")
    graph = load_graph(tmp_path)
    assert names == ["child0", "child1", "child2"]
    assert graph.get("root").parent == "os:1"
    assert {graph.get(n).parent for n in names} == {"root"}
    assert "head -c 7M /dev/urandom" in (tmp_path / "child1" / "Dockerfile").read_text()
    assert bench_chain.shape(children=3, work_mb=7, os_image="os:1").startswith(
        "1 root image FROM os:1 + 3 independent children, each hashing 7 MB"
    )


# --- start-ups: order and a quiet machine -------------------------------------------------


def test_start_ups_warm_up_each_mode_then_alternate_which_goes_first() -> None:
    order = start_order(4)
    assert order[:2] == [(-1, False), (-1, True)]  # not counted
    counted = order[2:]
    assert counted == [
        (0, False), (0, True), (1, True), (1, False),
        (2, False), (2, True), (3, True), (3, False),
    ]  # fmt: skip
    follows = [(a[1], b[1]) for a, b in itertools.pairwise(counted) if a[1] != b[1]]
    assert follows.count((False, True)) == follows.count((True, False))
    odd = [bare for _, bare in start_order(5)[2:]]
    assert odd.count(True) == odd.count(False) == 5
    firsts = odd[::2]
    assert firsts.count(False) == firsts.count(True) + 1  # within one: /init first once more


@pytest.fixture
def probed_image(monkeypatch: pytest.MonkeyPatch) -> None:
    """measure_image's image without Docker: 123 bytes, served at /ok by service `mine` (each
    test replaces `start_once`, the start-up itself)."""
    monkeypatch.setattr(engine, "image_size", lambda ref: 123)
    monkeypatch.setattr(startup, "chain_folders", lambda graph, name: ("mine",))
    monkeypatch.setattr(startup, "select_probe", lambda *, folders: Probe("mine", "/ok"))


@pytest.mark.usefixtures("probed_image")
def test_measure_image_leaves_the_warm_ups_out_and_reads_memory_on_the_first_counted_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[bool, float | None]] = []

    def start_once(*, bare: bool, idle_seconds: float | None, **_: object) -> tuple[float, int]:
        calls.append((bare, idle_seconds))
        warm_up = sum(1 for b, _ in calls if b == bare) == 1
        seconds = 9.0 if warm_up else (0.5 if bare else 0.6) + 0.01 * len(calls)
        return seconds, (222 if bare else 111) if idle_seconds is not None else 0

    monkeypatch.setattr(startup, "start_once", start_once)
    graph = load_graph(PROJECT)
    run = startup.measure_image(graph, "mine", ref="r", runs=3, timeout=9, idle_seconds=10)
    assert run.init is not None
    assert run.bare is not None
    assert (run.init.runs, run.bare.runs) == (3, 3)
    assert run.init.high < 1
    assert run.bare.high < 1  # the 9 s warm-ups are not counted
    assert (run.init.memory, run.bare.memory) == (111, 222)
    assert calls[:2] == [(False, None), (True, None)]  # no memory read on the warm-ups
    assert calls[2:4] == [(False, 10), (True, 10)]  # but on the first counted run of each
    assert all(idle is None for _, idle in calls[4:])


@pytest.mark.usefixtures("probed_image")
def test_a_failed_warm_up_leaves_its_mode_without_figures_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def start_once(*, bare: bool, **_: object) -> tuple[float, None]:
        if bare:
            raise UserError("no 200 within 9 s")
        return 0.6, None

    monkeypatch.setattr(startup, "start_once", start_once)
    run = startup.measure_image(
        load_graph(PROJECT), "mine", ref="r", runs=2, timeout=9, idle_seconds=0
    )
    assert run.bare is None
    assert run.init is not None
    assert run.init.runs == 2
    assert run.reason == "warm-up: no 200 within 9 s"


def test_the_cpu_line_gives_idle_and_total_without_counting_guest_time_twice() -> None:
    line = "cpu  100 5 50 800 40 0 5 0 30 0"  # user nice system idle iowait ... guest guest_nice
    assert parse_cpu_line(line) == (800, 1000)
    idle, total = machine._cpu_times()  # this machine's
    assert 0 < idle < total


def test_settle_waits_for_the_idle_share_or_gives_up_at_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [0.0]
    fake_time = types.SimpleNamespace(
        monotonic=lambda: clock[0],
        sleep=lambda seconds: clock.__setitem__(0, clock[0] + seconds),
    )
    monkeypatch.setattr(machine, "time", fake_time)
    monkeypatch.setattr(os, "sync", lambda: clock.__setitem__(0, clock[0] + 7))
    # Two windows: 50 % idle, then 95 %.
    times = iter([(0, 0), (50, 100), (50, 100), (145, 200)])
    monkeypatch.setattr(machine, "_cpu_times", lambda: next(times))
    quiet = settle(target=0.9, window=1.5, timeout=60)
    assert quiet == Quiet(target=0.9, window=1.5, idle=0.95, sync=7, waited=3.0)
    assert quiet.reached
    # Never quiet: 50 % idle in every window, until the timeout.
    monkeypatch.setattr(machine, "_cpu_times", lambda: (clock[0] * 50, clock[0] * 100))
    busy = settle(target=0.9, window=1.5, timeout=4)
    assert not busy.reached
    assert busy.idle == pytest.approx(0.5)
    assert busy.waited == pytest.approx(4.5)  # three windows: the first past 4 s


def test_results_markdown_says_how_quiet_the_cpus_were() -> None:
    quiet = figures.Results(
        machine=MACHINE, images=("base",), parts=(Part.STARTUP,), startup_runs=5,
        quiet=Quiet(target=0.9, window=1.5, idle=0.97, sync=12.3, waited=3.2),
    )  # fmt: skip
    text = markdown.format_results(quiet)
    assert (
        "flushed the page cache's writes (`sync`, 12.3 s) and waited for the CPUs to be 90% "
        "idle: 97% idle over 1.5 s 3.2 s later."
    ) in text
    assert "interleaved and counterbalanced (/init, bare, bare, /init, ...)" in text
    busy = figures.Results(
        machine=MACHINE, images=("base",), parts=(Part.STARTUP,), startup_runs=5,
        quiet=Quiet(target=0.9, window=1.5, idle=0.41, sync=0.1, waited=121.0),
    )  # fmt: skip
    assert "not within 121 s (41% idle over 1.5 s): the figures vary more" in (
        markdown.format_results(busy)
    )
