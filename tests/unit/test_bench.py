"""The pure parts of the bench (kfimages.bench): probe selection, arithmetic, results.md.

No Docker: the probes are chosen from this repository's graph and folders, the figures
are made up.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kfimages import bench
from kfimages.bench import (
    ImageBuild,
    ImageRun,
    Machine,
    Probe,
    Rebuild,
    Results,
    Timing,
)
from kfimages.build.report import Result, Status
from kfimages.repo.graph import load_graph

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
    return bench.select_probe(folders=bench.chain_folders(graph, name))


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
    assert (probe.service, probe.resolved(prefix=bench.PREFIX)) == (service, path)


def test_base_has_no_probe_and_says_why() -> None:
    graph = load_graph(PROJECT)
    folders = bench.chain_folders(graph, "base")
    assert bench.select_probe(folders=folders) is None
    found = bench.services(root=PROJECT, folders=folders)
    assert found == []
    assert bench.no_probe_reason(folders=folders, found_services=found) == (
        "no HTTP server: base starts no service"
    )


def test_a_folder_with_a_service_but_no_probe_names_the_fix() -> None:
    reason = bench.no_probe_reason(folders=["myide", "base"], found_services=["myide"])
    assert "myide" in reason
    assert "kfimages.bench.PROBES" in reason


def test_the_nearest_folder_wins() -> None:
    mine = Probe(service="mine", path="/ok")
    probes = {**bench.PROBES, "child": mine}
    assert bench.select_probe(folders=["child", "jupyter", "base"], probes=probes) is mine
    assert (
        bench.select_probe(folders=["other", "jupyter", "base"], probes=probes)
        == (bench.PROBES["jupyter"])
    )
    assert bench.select_probe(folders=["other", "base"], probes=probes) is None


def test_every_probe_names_a_service_of_its_folder_and_every_service_has_a_probe() -> None:
    """The bare-server entrypoint is /etc/services.d/<service>/run: the file must exist."""
    for folder, probe in bench.PROBES.items():
        run = PROJECT / folder / "s6" / "services.d" / probe.service / "run"
        assert run.is_file(), f"{folder}: no {run.relative_to(PROJECT)}"
    folders = {image.folder for image in load_graph(PROJECT).images.values()}
    with_services = {f for f in folders if bench.services(root=PROJECT, folders=[f])}
    assert with_services <= set(bench.PROBES), "a server image the bench cannot probe"


def test_probe_url_and_run_script() -> None:
    probe = bench.PROBES["jupyter"]
    assert probe.url(prefix="/notebook/ns/nb/") == "http://127.0.0.1:8888/notebook/ns/nb/api/status"
    assert probe.run_script == "/etc/services.d/jupyterlab/run"


def test_container_args_init_and_bare() -> None:
    probe = bench.PROBES["codeserver"]
    init = bench.container_args(ref="r/c:t", name="n", probe=probe, bare=False)
    bare = bench.container_args(ref="r/c:t", name="n", probe=probe, bare=True)
    assert init[-1] == bare[-1] == "r/c:t"
    assert f"NB_PREFIX={bench.PREFIX}" in init
    assert "--entrypoint" not in init
    assert bare[bare.index("--entrypoint") + 1] == "/etc/services.d/codeserver/run"


def test_probe_script_follows_redirects_only_when_asked() -> None:
    plain = bench.probe_script(url="http://127.0.0.1:8888/healthz", follow_redirects=False)
    follow = bench.probe_script(url="http://127.0.0.1:8888/", follow_redirects=True)
    assert "-L " not in plain
    assert "-L 'http://127.0.0.1:8888/'" in follow
    assert "= 200 ] && exit 0" in plain


# --- arithmetic ---------------------------------------------------------------------------


def test_speedup() -> None:
    assert bench.speedup(serial=20.0, parallel=10.0) == 2.0
    assert bench.speedup(serial=9.0, parallel=12.0) == 0.75
    assert bench.speedup(serial=0.0, parallel=1.0) is None
    assert bench.speedup(serial=1.0, parallel=0.0) is None


def result(name: str, *, started: float, duration: float, status: Status = Status.BUILT) -> Result:
    return Result(name=name, ref=f"r/{name}:t", status=status, duration=duration, started=started)


def test_build_window_spans_the_set_without_its_parents() -> None:
    results = [
        result("base", started=100.0, duration=30.0),
        result("a", started=130.0, duration=20.0),
        result("b", started=131.0, duration=25.0),
    ]
    assert bench.build_window(results, ["a", "b"]) == pytest.approx(26.0)
    assert bench.build_window(results, ["a"]) == pytest.approx(20.0)


def test_build_window_needs_every_image_built() -> None:
    results = [
        result("a", started=0.0, duration=5.0),
        result("b", started=0.0, duration=0.1, status=Status.REUSED),
    ]
    assert bench.build_window(results, ["a", "b"]) is None
    assert bench.build_window(results, ["a", "missing"]) is None


def test_jobs_speedup_of_window_and_wall() -> None:
    runs = [
        Rebuild(names=("a", "b"), seconds=100.0, statuses="3 built", window=60.0, jobs=1),
        Rebuild(names=("a", "b"), seconds=80.0, statuses="3 built", window=40.0, jobs=2),
    ]
    window, wall = bench.jobs_speedup(runs)
    assert (window, wall) == (1.5, 1.25)
    assert bench.jobs_speedup(runs[:1]) == (None, None)
    no_window = [runs[0], Rebuild(names=("a", "b"), seconds=50.0, statuses="x", jobs=2)]
    assert bench.jobs_speedup(no_window) == (None, 2.0)


def test_statuses_counts_in_status_order() -> None:
    results = [
        result("a", started=0, duration=1, status=Status.BLOCKED),
        result("b", started=0, duration=1),
        result("c", started=0, duration=1),
        result("d", started=0, duration=1, status=Status.SKIPPED),
    ]
    assert bench.statuses(results) == "2 built, 1 blocked, 1 skipped"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("73.4MiB / 23.54GiB", round(73.4 * 2**20)),
        ("512KiB / 1GiB", 512 * 1024),
        ("1.5GiB / 2GiB", round(1.5 * 2**30)),
        ("0B / 0B", 0),
        ("12MB / 1GB", 12_000_000),
    ],
)
def test_parse_mem_usage(text: str, expected: int) -> None:
    assert bench.parse_mem_usage(text) == expected


@pytest.mark.parametrize("text", ["", "--", "12 parsecs / 1GiB"])
def test_parse_mem_usage_refuses_other_text(text: str) -> None:
    with pytest.raises(ValueError, match="MemUsage"):
        bench.parse_mem_usage(text)


def test_summarize() -> None:
    timing = bench.summarize([3.0, 1.0, 2.0, 10.0], memory=5)
    assert (timing.median, timing.low, timing.high, timing.runs, timing.memory) == (
        2.5,
        1.0,
        10.0,
        4,
        5,
    )


def test_disk_warning_only_when_the_images_may_not_fit() -> None:
    assert bench.disk_warning(free=30 * 10**9, needed=10 * 10**9) is None
    assert bench.disk_warning(free=None, needed=10 * 10**9) is None
    assert bench.disk_warning(free=10 * 10**9, needed=0) is None
    warning = bench.disk_warning(free=20 * 10**9, needed=18 * 10**9)
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
        duration=1800.0,
    )


def test_results_markdown_has_the_machine_and_a_table_per_measurement() -> None:
    text = bench.format_results(full_results())
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
    for title in (
        "## Cold build",
        "## No-op rebuild of the whole graph",
        "## Image size",
        "## Start-up and idle memory",
        "## `--jobs 2` speed-up",
    ):
        assert title in lines


def test_results_markdown_rows() -> None:
    lines = bench.format_results(full_results()).splitlines()
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
        "| 78 | 69 |  |"
    ) in lines
    assert (
        "| base | n/a | n/a | n/a | n/a | n/a | no HTTP server: base starts no service |" in lines
    )
    assert "| 1 | 100.0 | 60.0 | 2 built |" in lines
    assert "Speed-up of `--jobs 2`: **1.50x** (set window), 1.25x (whole build)." in lines


def test_results_markdown_states_what_cold_means_and_the_warm_caches() -> None:
    text = bench.format_results(full_results())
    assert "--no-cache" in text
    assert "jupyter: `kfnb-jupyter-pip`" in text
    assert "own step" in text


def test_results_markdown_rows_follow_the_plan_order() -> None:
    lines = bench.format_results(full_results()).splitlines()
    start = lines.index("## Image size")
    sizes = [line.split(" | ")[0] for line in lines[start:] if line.startswith("| ")][1:4]
    assert sizes == ["| base", "| jupyter", "| rstudio"]


def test_skipped_measurements_say_so() -> None:
    text = bench.format_results(Results(machine=MACHINE, images=("base",)))
    assert "Skipped (`--skip-cold`)." in text
    assert "Skipped (needs the cold build)." in text
    assert "Skipped (`--skip-startup`)." in text
    assert "Skipped (`--skip-jobs`)." in text


# --- options --------------------------------------------------------------------------------


def test_parse_args_defaults_and_names() -> None:
    default = bench.parse_args([])
    assert default.names == ("all",)
    assert default.jobs_images == ("codeserver", "jupyter")
    options = bench.parse_args(
        ["base,jupyter", "codeserver", "--skip-jobs", "--jobs-images", "jupyter", "--runs", "1"]
    )
    assert options.names == ("base", "jupyter", "codeserver")
    assert options.skip_jobs
    assert not options.skip_cold
    assert options.jobs_images == ("jupyter",)
    assert options.runs == 1
