"""jupyter-pytorch-full smoke tests (cpu and cuda variants): PyTorch trains in a notebook,
the variant's torch build, and every package of the "full" set imports.

The jupyter tests (server, browser, pip) run against these images as well.
"""

from __future__ import annotations

import json
import re

import pytest

from kfimages.author.lock import parse_header, read_pins
from kfimages.repo.inputs import resolve_build_args
from kfimages.settings import Settings
from tests.harness.containers import TrackedContainers
from tests.harness.gpu import GpuHost
from tests.images.conftest import REPO_ROOT, ImageUnderTest, requests_gpus
from tests.images.jupyter.lab import execute_notebook, start_lab
from tests.images.jupyter.test_locked import installed

FOLDER = REPO_ROOT / "jupyter-pytorch-full"

TRAIN_CELLS = [
    "import json, torch\n"
    "torch.manual_seed(0)\n"
    "x = torch.randn(256, 4)\n"
    "y = x @ torch.tensor([[1.5], [-2.0], [0.5], [3.0]]) + 0.1 * torch.randn(256, 1)\n"
    "model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))\n"
    "optimizer = torch.optim.Adam(model.parameters(), lr=0.05)\n",
    "losses = []\n"
    "for step in range(30):\n"
    "    optimizer.zero_grad()\n"
    "    loss = torch.nn.functional.mse_loss(model(x), y)\n"
    "    loss.backward()\n"
    "    optimizer.step()\n"
    "    losses.append(loss.item())\n"
    "print(json.dumps(losses))",
    "print(json.dumps({'torch': torch.__version__, 'cuda': torch.version.cuda,"
    " 'cuda_available': torch.cuda.is_available(), 'device': str(x.device)}))",
    # A small matmul on the GPU where torch sees one (else on the CPU), checked against the CPU.
    "device = 'cuda' if torch.cuda.is_available() else 'cpu'\n"
    "a, b = torch.randn(64, 64), torch.randn(64, 64)\n"
    "product = a.to(device) @ b.to(device)\n"
    "print(json.dumps({'device': str(product.device),"
    " 'gpu': torch.cuda.get_device_name(0) if device == 'cuda' else None,"
    " 'matches_cpu': torch.allclose(product.cpu(), a @ b, rtol=1e-3, atol=1e-3)}))",
]


def _pins(name: str) -> dict[str, str]:
    """Distribution name -> pinned version, from a requirements .in file of the folder."""
    pins = {}
    for raw in (FOLDER / name).read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            dist, _, version = line.partition("==")
            pins[dist.strip()] = version.strip()
    return pins


def _case(image: ImageUnderTest, gpu_host: GpuHost, config: pytest.Config) -> bool:
    """Whether torch must see a GPU (printed: which case runs): the containers got the host's
    GPUs (the cuda variant on a GPU host). Otherwise (no GPU, or the cpu variant, which never
    gets them) it must see none and fall back to the CPU cleanly."""
    gpu = gpu_host.use and requests_gpus(image, config)
    why = gpu_host.describe() if requests_gpus(image, config) else "cpu variant: no GPU requested"
    print(f"{image.name}: {'GPU' if gpu else 'CPU'} case ({why})")
    return gpu


def test_notebook_trains_a_tiny_model(
    containers: TrackedContainers,
    image_under_test: ImageUnderTest,
    gpu_host: GpuHost,
    pytestconfig: pytest.Config,
) -> None:
    gpu = _case(image_under_test, gpu_host, pytestconfig)
    c = start_lab(containers)
    outputs = execute_notebook(c, TRAIN_CELLS, name="train")
    losses = json.loads(outputs[1])
    info = json.loads(outputs[2])
    matmul = json.loads(outputs[3])
    print(f"{image_under_test.name}: {info}; loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    print(f"{image_under_test.name}: matmul {matmul}")
    assert len(losses) == 30
    assert losses[-1] < 0.5 * losses[0], losses
    assert info["device"] == "cpu"
    assert matmul["matches_cpu"] is True, matmul
    if gpu:
        print("ran the GPU case: CUDA available, the matmul ran on the GPU")
        assert info["cuda_available"] is True, info
        assert matmul["device"].startswith("cuda"), matmul
    else:
        print("ran the CPU case: no CUDA, the model and the matmul ran on the CPU")
        assert info["cuda_available"] is False, info
        assert matmul["device"] == "cpu", matmul


def test_torch_build_of_the_variant(
    containers: TrackedContainers,
    image_under_test: ImageUnderTest,
    gpu_host: GpuHost,
    pytestconfig: pytest.Config,
) -> None:
    script = (
        "import json, os, torch, torchvision, torchaudio\n"
        "print(json.dumps({'torch': torch.__version__, 'torchvision': torchvision.__version__,"
        " 'torchaudio': torchaudio.__version__, 'cuda': torch.version.cuda,"
        " 'cuda_available': torch.cuda.is_available(),"
        " 'nvidia': {k: v for k, v in os.environ.items() if k.startswith('NVIDIA_')}}))"
    )
    c = containers.run(["sleep", "infinity"])
    out = c.exec(["python", "-c", script], timeout=180).stdout
    info = json.loads(out.strip().splitlines()[-1])
    print(f"{image_under_test.name}: {info}")
    pins = _pins("requirements-torch.in")
    for dist in ("torch", "torchvision", "torchaudio"):
        assert info[dist].split("+")[0] == pins[dist], (dist, info[dist], pins[dist])
    if image_under_test.image.variant == "cuda":
        assert info["cuda"], "the cuda variant's torch must be a CUDA build"
        # No NVIDIA_VISIBLE_DEVICES in the image: the device plugin sets it per pod
        # (docs/contract.md, "Environment"), as Docker does for a container given GPUs.
        own = {k: v for k, v in info["nvidia"].items() if k != "NVIDIA_VISIBLE_DEVICES"}
        assert own == {"NVIDIA_DRIVER_CAPABILITIES": "compute,utility"}, info["nvidia"]
    # Given the host's GPUs the cuda variant sees them; otherwise (no GPU, or the cpu variant)
    # torch sees none (the notebook test computes on the device, or on the CPU).
    assert info["cuda_available"] is _case(image_under_test, gpu_host, pytestconfig), info


def test_every_package_of_the_full_set_imports(containers: TrackedContainers) -> None:
    """Each distribution of requirements-full.in: pinned version installed, its modules import.

    Import names come from the installed distributions' files (importlib.metadata), so
    scikit-learn -> sklearn, scikit-image -> skimage, jupyterlab-git -> jupyterlab_git.
    """
    pins = _pins("requirements-full.in")
    script = (
        "import importlib, importlib.metadata as md, json, sys\n"
        f"pins = {json.dumps(pins)}\n"
        "modules = {}\n"
        "for module, dists in md.packages_distributions().items():\n"
        "    for dist in dists:\n"
        "        modules.setdefault(dist.lower().replace('_', '-'), set()).add(module)\n"
        "result = {}\n"
        "for dist, pin in pins.items():\n"
        "    key = dist.lower().replace('_', '-')\n"
        "    names = sorted(m for m in modules.get(key, ()) if m.isidentifier()"
        " and not m.startswith('_'))\n"
        "    for name in names:\n"
        "        importlib.import_module(name)\n"
        "    result[dist] = {'version': md.version(dist), 'modules': names}\n"
        "print(json.dumps(result))\n"
    )
    c = containers.run(["sleep", "infinity"], environment={"MPLBACKEND": "Agg"})
    out = c.exec(["python", "-c", script], timeout=300).stdout
    result = json.loads(out.strip().splitlines()[-1])
    for dist, pin in pins.items():
        print(f"{dist}=={result[dist]['version']}: import {', '.join(result[dist]['modules'])}")
        assert result[dist]["version"] == pin, (dist, result[dist])
        assert result[dist]["modules"], f"{dist}: no importable module found"


def _torch_index(target: ImageUnderTest) -> str:
    """The TORCH_INDEX_URL the image was built with (as invoke build resolves it)."""
    args = resolve_build_args(
        target.image, root=REPO_ROOT, overrides=Settings.from_environ().build_args
    )
    dockerfile = (REPO_ROOT / target.image.dockerfile).read_text(encoding="utf-8")
    default = re.search(r"^ARG TORCH_INDEX_URL=(\S+)", dockerfile, re.MULTILINE)
    assert default, f"{target.image.dockerfile} declares no ARG TORCH_INDEX_URL default"
    return args.get("TORCH_INDEX_URL", default.group(1)).rstrip("/")


def test_installed_set_matches_the_locks(
    containers: TrackedContainers, image_under_test: ImageUnderTest
) -> None:
    """Every pin of requirements-full.lock.txt is installed at its version; with torch from
    the torch lock's index (PyPI) every pin of that lock too, and nothing beyond jupyter's
    lock, these locks and pip. From another index torch is pinned by version only."""
    torch_lock = FOLDER / "requirements-torch.lock.txt"
    header = parse_header(torch_lock.read_text(encoding="utf-8"))
    assert header is not None
    locked = header.fields["index-url"] == _torch_index(image_under_test)
    expected = {
        **(read_pins(torch_lock) if locked else {}),
        **read_pins(FOLDER / "requirements-full.lock.txt"),
    }
    have = installed(containers.run(["sleep", "infinity"]))
    wrong = {n: (v, have.get(n)) for n, v in expected.items() if have.get(n) != v}
    print(
        f"{image_under_test.name}: torch {'locked' if locked else 'by version only'}, "
        f"{len(expected)} pins, {len(have)} installed"
    )
    assert not wrong, wrong
    if locked:
        everything = {**read_pins(REPO_ROOT / "jupyter" / "requirements.lock.txt"), **expected}
        assert set(have) - set(everything) == {"pip"}, sorted(set(have) - set(everything))


def test_jupyterlab_git_and_ipympl_are_enabled(containers: TrackedContainers) -> None:
    c = containers.run(["sleep", "infinity"])
    out = c.exec("jupyter server extension list 2>&1; jupyter labextension list 2>&1").stdout
    text = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert re.search(r"jupyterlab_git\s+enabled", text), text
    assert re.search(r"@jupyterlab/git\s+v\S+\s+enabled", text), text
    assert re.search(r"jupyter-matplotlib\s+v\S+\s+enabled", text), text
