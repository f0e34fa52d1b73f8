"""tests.harness.gpu: when the smoke tests give the pytorch containers the host's GPUs.

The detection is pure over what the probes found: real device folders (files made in a temp
folder), `nvidia-smi -L` output as the tool prints it, the engine's runtimes; and this host's
own probes (no GPU here: the CPU case).
"""

from __future__ import annotations

from pathlib import Path

import docker.types
import pytest

from tests.harness.gpu import (
    ENV_VAR,
    detect,
    device_nodes,
    engine_runtimes,
    listed_gpus,
    parse_override,
    run_nvidia_smi,
)

SMI = (
    "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5e5bd3a8-8c2b-4b1e-9d0f-0d3c7a1f2b11)\n"
    "GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9)\n"
)
DEVICES = ("/dev/nvidia0", "/dev/nvidia1")


def test_device_nodes_are_the_numbered_ones(tmp_path: Path) -> None:
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-modeset", "null"):
        (tmp_path / name).touch()
    assert device_nodes(tmp_path) == (str(tmp_path / "nvidia0"), str(tmp_path / "nvidia1"))
    assert device_nodes(tmp_path / "missing") == ()


def test_listed_gpus_reads_nvidia_smi_lines() -> None:
    assert listed_gpus(SMI) == tuple(SMI.splitlines())
    failed = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n"
    assert listed_gpus(failed) == ()


@pytest.mark.parametrize(
    ("devices", "smi", "runtimes", "use"),
    [
        (DEVICES, SMI, ("runc",), True),  # the driver answers
        (DEVICES, "", ("nvidia", "runc"), True),  # no nvidia-smi here, the toolkit in the engine
        (DEVICES, "", ("runc",), False),  # device nodes, but nothing answers for them
        ((), SMI, ("nvidia", "runc"), False),  # no device node: nothing to hand over
        ((), "", ("runc",), False),  # this machine
    ],
    ids=["smi", "runtime", "nodes-only", "no-nodes", "none"],
)
def test_detection(
    devices: tuple[str, ...], smi: str, runtimes: tuple[str, ...], use: bool
) -> None:
    host = detect(devices=devices, smi_output=smi, runtimes=runtimes, override=None)
    assert host.use is use
    described = host.describe()
    assert described.startswith("GPU case" if use else "CPU case"), described
    if use:
        (request,) = host.run_kwargs()["device_requests"]
        assert isinstance(request, docker.types.DeviceRequest)
        assert (request.count, request.capabilities) == (-1, [["gpu"]])
    else:
        assert host.run_kwargs() == {}


def test_the_override_wins_both_ways() -> None:
    forced = detect(devices=(), smi_output="", runtimes=("runc",), override="1")
    assert forced.use
    assert f"{ENV_VAR}=1" in forced.describe()
    off = detect(devices=DEVICES, smi_output=SMI, runtimes=("nvidia",), override=" 0 ")
    assert not off.use
    assert off.run_kwargs() == {}


@pytest.mark.parametrize("value", [None, "", "auto", "AUTO"])
def test_unset_or_auto_detects(value: str | None) -> None:
    assert parse_override(value) is None


@pytest.mark.parametrize("value", ["yes", "true", "2", "gpu"])
def test_a_bad_override_is_named(value: str) -> None:
    with pytest.raises(ValueError, match=f"{ENV_VAR}='{value}' is not 0, 1 or auto"):
        parse_override(value)


def test_engine_runtimes_from_docker_info() -> None:
    info = {"Runtimes": {"runc": {"path": "runc"}, "nvidia": {"path": "nvidia-container-runtime"}}}
    assert engine_runtimes(info) == ("nvidia", "runc")
    assert engine_runtimes({}) == ()


def test_this_host_runs_the_cpu_case() -> None:
    """This machine has no NVIDIA GPU: its own probes give the CPU case (on a GPU host this
    test says so instead of passing silently)."""
    host = detect(devices=device_nodes(), smi_output=run_nvidia_smi(), runtimes=(), override=None)
    print(host.describe())
    if host.devices:
        pytest.skip(f"this host has NVIDIA devices: {host.describe()}")
    assert not host.use
