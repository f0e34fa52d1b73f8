"""NVIDIA GPUs of the test host: whether the smoke tests can give a container the GPUs.

A host counts as a GPU host when its Docker engine can hand GPUs to a container and there is
one to hand:
- NVIDIA device nodes (`/dev/nvidia0`, ...) exist and `nvidia-smi -L` lists a GPU (the
  driver works), or
- the engine lists an `nvidia` runtime (`docker info`: the NVIDIA Container Toolkit is
  installed; the engine may be remote, where this host's /dev says nothing), and device
  nodes exist.
Device nodes alone (a driver that does not answer) or a runtime with no device are not
enough: a container asking for GPUs there would fail to start, not fall back to the CPU.

`KFIMAGES_TEST_GPU` overrides it: `1` requests the GPUs whatever is detected (a container then
fails to start where the engine cannot give them: that says so), `0` never requests them,
`auto` (or unset) detects. Containers then get `device_requests` = every GPU
(`docker run --gpus all`).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.types

ENV_VAR = "KFIMAGES_TEST_GPU"
SMI_TIMEOUT_S = 30
"""A hang guard for `nvidia-smi -L` (it answers within a second where the driver works)."""


@dataclass(frozen=True)
class GpuHost:
    """What the test host offers: NVIDIA device nodes, the GPUs `nvidia-smi -L` lists, the
    engine's runtimes, and the override; `use` says whether containers get the GPUs."""

    devices: tuple[str, ...]
    gpus: tuple[str, ...]
    runtimes: tuple[str, ...]
    forced: bool | None = None

    @property
    def detected(self) -> bool:
        return bool(self.devices) and (bool(self.gpus) or "nvidia" in self.runtimes)

    @property
    def use(self) -> bool:
        return self.detected if self.forced is None else self.forced

    def describe(self) -> str:
        """One line for the test output: which case runs, and why."""
        seen = (
            f"devices {', '.join(self.devices) or 'none'}; nvidia-smi: "
            f"{'; '.join(self.gpus) or 'no GPU listed'}; engine runtimes: "
            f"{', '.join(self.runtimes) or 'none'}"
        )
        if self.forced is not None:
            how = f"{ENV_VAR}={int(self.forced)}"
        else:
            how = "detected" if self.detected else "none detected"
        case = "GPU case: containers get every GPU" if self.use else "CPU case: no GPU requested"
        return f"{case} ({how}; {seen})"

    def run_kwargs(self) -> dict[str, Any]:
        """docker SDK `containers.run` keyword arguments giving a container every GPU (none
        when `use` is false)."""
        if not self.use:
            return {}
        return {"device_requests": [docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])]}


def parse_override(value: str | None) -> bool | None:
    """`KFIMAGES_TEST_GPU`: None (detect) for unset, empty or `auto`; True for `1`, False for
    `0`. Anything else: ValueError naming it."""
    text = (value or "").strip().lower()
    if text in ("", "auto"):
        return None
    if text in ("0", "1"):
        return text == "1"
    raise ValueError(f"{ENV_VAR}={value!r} is not 0, 1 or auto; unset it to detect the GPUs")


def device_nodes(dev: Path = Path("/dev")) -> tuple[str, ...]:
    """The NVIDIA GPU device nodes in `dev` (nvidia0, nvidia1, ...; not nvidiactl)."""
    names = (p.name for p in dev.glob("nvidia*"))
    return tuple(sorted(str(dev / n) for n in names if n[len("nvidia") :].isdigit()))


def listed_gpus(smi_output: str) -> tuple[str, ...]:
    """The GPUs of `nvidia-smi -L` output ("GPU 0: NVIDIA A100 ... (UUID: GPU-...)")."""
    return tuple(line.strip() for line in smi_output.splitlines() if line.startswith("GPU "))


def run_nvidia_smi() -> str:
    """`nvidia-smi -L`'s stdout; "" where it is not installed, fails or hangs."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return ""
    try:
        done = subprocess.run(  # a fixed argv of a found program
            [smi, "-L"], capture_output=True, text=True, timeout=SMI_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def engine_runtimes(info: Mapping[str, Any]) -> tuple[str, ...]:
    """The runtimes of the engine's `docker info` (its `Runtimes` keys)."""
    return tuple(sorted(info.get("Runtimes") or {}))


def detect(
    *,
    devices: Iterable[str],
    smi_output: str,
    runtimes: Iterable[str],
    override: str | None,
) -> GpuHost:
    """The GpuHost of what was found (pure: the probes are the functions above)."""
    return GpuHost(
        devices=tuple(devices),
        gpus=listed_gpus(smi_output),
        runtimes=tuple(runtimes),
        forced=parse_override(override),
    )
