"""kfimages.author.lock: discovery, header parsing, and the offline check (`invoke lock --check`,
`nox -s lint`) on real files in a temporary repository; the resolver (uv) is not run: the
locks are written as `invoke lock` writes them (render_header + hashed pins)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfimages.author import lock, lockwrite
from kfimages.errors import UserError
from kfimages.repo import locks
from tests.unit.conftest import Repo

HASH_A = "sha256:" + "a" * 64
HASH_B = "sha256:" + "b" * 64


def _pins(*pins: str) -> str:
    """Lock body in uv's format: each pin with two hashes and a `# via` comment; then a
    pure-Python wheel of each (`# wheel:`, as `invoke lock` writes them)."""
    body = "".join(
        f"{pin} \\\n    --hash={HASH_A} \\\n    --hash={HASH_B}\n    # via -r x.in\n"
        for pin in pins
    )
    wheels = "".join(
        f"# wheel: {pin.split(';')[0]} {pin.split('==')[0]}-{pin.split('==')[1]}-py3-none-any.whl\n"
        for pin in pins
    )
    return body + wheels


def _spec(specs: list[lock.LockSpec], path: str) -> lock.LockSpec:
    return next(s for s in specs if s.lock == path)


FULL_ARM = "pytorch/requirements-full.linux-arm64.lock.txt"
TORCH_ARM = "pytorch/requirements-torch.linux-arm64.lock.txt"


def _write_lock(root: Path, spec: lock.LockSpec, body: str) -> None:
    header = lock.render_header(spec, root, resolver="uv 0.13.9")
    (root / spec.lock).write_text(header + body, encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """base <- jupyter <- pytorch: jupyter and pytorch hold requirement files, pytorch two."""
    repo = Repo(tmp_path / "repo").init()
    repo.image("base", "debian:trixie-slim")
    repo.image("jupyter", "base")
    repo.image("pytorch", "jupyter", variant="cpu")
    repo.image("pytorch", "jupyter", variant="cuda")
    repo.write("jupyter/requirements.in", "jupyterlab==4.6.6\n")
    repo.write("pytorch/requirements-torch.in", "torch==2.11.0\n")
    repo.write(
        "pytorch/requirements-full.in",
        "-c requirements-torch.lock.txt\npandas==3.1.1\nrequests==2.33.0  # kfp pins it\n",
    )
    return repo


def _lock_all(root: Path) -> list[lock.LockSpec]:
    """Write every lock as `invoke lock` would, in discovery order; the specs."""
    specs = lock.discover(root)
    bodies = {
        "jupyter/requirements.lock.txt": _pins("jupyterlab==4.6.6", "requests==2.34.2"),
        "pytorch/requirements-torch.lock.txt": _pins("torch==2.11.0", "numpy==2.3.0"),
        "pytorch/requirements-full.lock.txt": _pins("pandas==3.1.1", "requests==2.33.0"),
    }
    for spec in specs:  # another platform's lock: the same pins here
        _write_lock(root, spec, bodies[lock.lock_path(spec.source)])
    return specs


def test_discover_by_convention_parents_first_with_inputs(repo: Repo) -> None:
    found = lock.discover(repo.root)
    specs = {s.source: s for s in found if s.platform == "linux/amd64"}
    assert [s.lock for s in found] == [
        "jupyter/requirements.lock.txt",
        "pytorch/requirements-torch.lock.txt",
        "jupyter/requirements.linux-arm64.lock.txt",
        "pytorch/requirements-full.lock.txt",
        TORCH_ARM,
        FULL_ARM,
    ]
    full = specs["pytorch/requirements-full.in"]
    assert full.lock == "pytorch/requirements-full.lock.txt"
    assert full.index_url == lock.DEFAULT_INDEX
    # The parent image's lock (jupyter's) constrains every lock of the folder.
    assert full.constraints == ("jupyter/requirements.lock.txt",)
    assert full.inputs == (
        "pytorch/requirements-full.in",
        "pytorch/requirements-torch.lock.txt",
        "jupyter/requirements.lock.txt",
    )
    assert specs["jupyter/requirements.in"].constraints == ()
    # linux/arm64's: the same platform's locks, and linux/amd64's lock of the same .in (whose
    # pins it starts from).
    arm = _spec(found, FULL_ARM)
    assert (arm.platform, arm.python_platform) == ("linux/arm64", "aarch64-manylinux_2_28")
    assert arm.constraints == ("jupyter/requirements.linux-arm64.lock.txt",)
    assert arm.inputs == (
        "pytorch/requirements-full.in",
        TORCH_ARM,
        "jupyter/requirements.linux-arm64.lock.txt",
        "pytorch/requirements-full.lock.txt",
    )
    assert arm.preference == "pytorch/requirements-full.lock.txt"


def test_index_url_of_the_in_file(repo: Repo) -> None:
    repo.write("pytorch/requirements-torch.in", "--index-url https://mirror.example/cpu/\ntorch\n")
    specs = {s.source: s for s in lock.discover(repo.root)}  # the index of every platform's
    assert specs["pytorch/requirements-torch.in"].index_url == "https://mirror.example/cpu"


def test_header_round_trip(repo: Repo) -> None:
    specs = _lock_all(repo.root)
    full = _spec(specs, FULL_ARM)
    text = (repo.root / full.lock).read_text(encoding="utf-8")
    header = lock.parse_header(text)
    assert header is not None
    assert header.fields == {
        "resolver": "uv 0.13.9",
        "python": lock.PYTHON_VERSION,
        "platform": "aarch64-manylinux_2_28",
        "index-url": lock.DEFAULT_INDEX,
    }
    assert header.inputs == {p: lock.sha256_file(repo.root / p) for p in full.inputs}
    assert lock.parse_header(_pins("x==1")) is None


def test_parse_pins_joins_continuations_and_skips_comments() -> None:
    pins, bad = lock.parse_pins("# comment\n" + _pins("Jupyter_Server==2.0", "a.b==1; x") + "\n")
    assert [(p.name, p.version, p.hashes, p.line) for p in pins] == [
        ("Jupyter_Server", "2.0", (HASH_A, HASH_B), 2),
        ("a.b", "1", (HASH_A, HASH_B), 6),
    ]
    assert bad == []
    _, bad = lock.parse_pins("numpy>=2 \\\n    --hash=sha256:00\n")
    assert bad == ["line 1: numpy>=2 is not pinned with =="]


def test_fresh_locks_pass(repo: Repo) -> None:
    _lock_all(repo.root)
    assert lock.check_locks(repo.root) == []
    assert lock.read_pins(repo.root / "jupyter/requirements.lock.txt") == {
        "jupyterlab": "4.6.6",
        "requests": "2.34.2",
    }


def test_input_changed_without_relocking_is_stale(repo: Repo) -> None:
    _lock_all(repo.root)
    repo.append("pytorch/requirements-full.in", "seaborn==0.13.2\n")
    problems = lock.check_locks(repo.root)
    assert problems == [
        "pytorch/requirements-full.lock.txt is stale: pytorch/requirements-full.in changed "
        "since; run: invoke lock",
        f"{FULL_ARM} is stale: pytorch/requirements-full.in changed since; run: invoke lock",
    ]


def test_parent_lock_changed_makes_children_stale(repo: Repo) -> None:
    specs = _lock_all(repo.root)
    _write_lock(repo.root, specs[0], _pins("jupyterlab==4.6.7"))
    problems = lock.check_locks(repo.root)
    assert len(problems) == 3, problems
    assert all("jupyter/requirements.lock.txt changed" in p for p in problems), problems
    assert {p.split()[0] for p in problems} == {
        "pytorch/requirements-torch.lock.txt",
        "pytorch/requirements-full.lock.txt",
        "jupyter/requirements.linux-arm64.lock.txt",  # it starts from linux/amd64's pins
    }


def test_missing_hash_missing_lock_missing_header_orphan(repo: Repo) -> None:
    _lock_all(repo.root)
    full = repo.root / FULL_ARM  # the last lock: no other lock takes it as input
    text = full.read_text(encoding="utf-8")
    one_hash = text.replace(f"pandas==3.1.1 \\\n    --hash={HASH_A} \\\n", "pandas==3.1.1 \\\n")
    assert one_hash != text
    full.write_text(one_hash, encoding="utf-8")
    assert lock.check_locks(repo.root) == []  # one hash is enough for pip
    full.write_text(text + "scipy==1.17.1\n", encoding="utf-8")
    line = len(text.splitlines()) + 1
    assert lock.check_locks(repo.root) == [
        f"{FULL_ARM}: line {line}: scipy==1.17.1 has no --hash; run: invoke lock",
        f"{FULL_ARM}: line {line}: scipy==1.17.1 has no '# wheel:' line; run: invoke lock",
    ]
    full.write_text(_pins("pandas==3.1.1"), encoding="utf-8")
    (repo.root / TORCH_ARM).unlink()
    repo.write("pytorch/requirements-old.lock.txt", _pins("x==1"))
    problems = lock.check_locks(repo.root)
    assert problems[0].startswith(f"{TORCH_ARM} is missing"), problems
    assert problems[1].startswith(f"{FULL_ARM} has no '# kfimages lock'")
    assert problems[2].startswith("pytorch/requirements-old.lock.txt has no .in"), problems
    assert len(problems) == 3, problems


def test_header_for_another_python_is_reported(repo: Repo) -> None:
    _lock_all(repo.root)
    path = repo.root / FULL_ARM
    path.write_text(path.read_text().replace("# python: 3.13", "# python: 3.12"))
    assert lock.check_locks(repo.root) == [
        f"{FULL_ARM} was locked for python 3.12, not 3.13; run: invoke lock"
    ]


def test_parent_constraints_leave_out_what_the_in_names(repo: Repo) -> None:
    specs = _lock_all(repo.root)
    full = _spec(specs, "pytorch/requirements-full.lock.txt")
    # jupyter's requests==2.34.2 is not a constraint: requirements-full.in names requests.
    assert lock.parent_constraints(full, repo.root) == "jupyterlab==4.6.6\n"
    torch = _spec(specs, "pytorch/requirements-torch.lock.txt")
    assert lock.parent_constraints(torch, repo.root) == ("jupyterlab==4.6.6\nrequests==2.34.2\n")


OVERRIDE = 'rfc3987-syntax ; sys_platform == "never"  # not needed\n'


def test_overrides_apply_to_the_folder_and_the_folders_built_from_it(repo: Repo) -> None:
    repo.write("jupyter/python-overrides.txt", OVERRIDE)
    repo.write("pytorch/python-overrides.txt", 'nvidia-nccl ; sys_platform == "never"\n')
    specs = lock.discover(repo.root)
    jupyter, full = (_spec(specs, p) for p in ("jupyter/requirements.lock.txt", FULL_ARM))
    assert jupyter.overrides == ("jupyter/python-overrides.txt",)
    assert jupyter.inputs == ("jupyter/requirements.in", "jupyter/python-overrides.txt")
    both = ("jupyter/python-overrides.txt", "pytorch/python-overrides.txt")
    assert full.overrides == both  # a parent's and its own, on every platform
    assert full.inputs[-2:] == both
    assert lockwrite.override_args(full, repo.root) == [
        "--override", str(repo.root / both[0]), "--override", str(repo.root / both[1]),
    ]  # fmt: skip
    torch = _spec(specs, "pytorch/requirements-torch.lock.txt")
    assert lockwrite.override_args(torch, repo.root)[1::2] == [str(repo.root / p) for p in both]


def test_a_changed_override_makes_the_folders_locks_and_its_childrens_stale(repo: Repo) -> None:
    repo.write("jupyter/python-overrides.txt", OVERRIDE)
    _lock_all(repo.root)
    assert lock.check_locks(repo.root) == []
    repo.append("jupyter/python-overrides.txt", 'lark ; sys_platform == "never"\n')
    problems = lock.check_locks(repo.root)
    assert len(problems) == 6, problems  # every lock of jupyter and pytorch, both platforms
    assert all("jupyter/python-overrides.txt changed since" in p for p in problems), problems


def test_reference_outside_the_repository_or_missing_is_an_error(repo: Repo) -> None:
    repo.write("jupyter/requirements.in", "-r ../../elsewhere.txt\n")
    with pytest.raises(UserError, match="outside the repository"):
        lock.discover(repo.root)
    repo.write("jupyter/requirements.in", "-r extra.txt\n")
    with pytest.raises(UserError, match=r"extra\.txt does not exist"):
        lock.discover(repo.root)
    repo.write("jupyter/extra.txt", "-c more.txt\n")
    repo.write("jupyter/more.txt", "six==1\n")
    specs = {s.source: s for s in lock.discover(repo.root) if s.platform == "linux/amd64"}
    assert specs["jupyter/requirements.in"].inputs == (
        "jupyter/requirements.in",
        "jupyter/extra.txt",
        "jupyter/more.txt",
    )


def test_repository_locks_are_fresh() -> None:
    """The repository's own locks match their inputs (what `nox -s lint` checks)."""
    root = Path(__file__).resolve().parents[2]
    assert lock.check_locks(root) == []


# ------------------------------------------------------- wheels of the target platform


@pytest.mark.parametrize(
    ("filename", "fits"),
    [
        ("six-1.17.0-py2.py3-none-any.whl", True),
        ("torch-2.11.0-cp313-cp313-manylinux_2_28_aarch64.whl", True),
        (
            "argon2_cffi_bindings-26.2.0-cp310-abi3-manylinux_2_26_aarch64.manylinux_2_28_aarch64.whl",
            True,
        ),
        ("markupsafe-3.0.4-cp313-cp313-manylinux2014_aarch64.whl", True),
        ("torch-2.11.0-cp313-cp313-manylinux_2_28_x86_64.whl", False),  # another CPU
        ("numpy-2.5.5-cp313-cp313-manylinux_2_34_aarch64.whl", False),  # a newer glibc
        ("numpy-2.5.5-cp312-cp312-manylinux_2_28_aarch64.whl", False),  # another Python
        ("numpy-2.5.5-cp313-cp313-musllinux_1_2_aarch64.whl", False),
        ("numpy-2.5.5.tar.gz", False),
    ],
)
def test_wheel_fits_cpython_3_13_on_the_platform(filename: str, fits: bool) -> None:
    assert locks.wheel_fits(filename, "aarch64-manylinux_2_28") is fits


def test_a_pin_without_a_wheel_of_the_platform_is_named_with_the_fix(repo: Repo) -> None:
    _lock_all(repo.root)
    assert locks.missing_wheel_problems(repo.root, "pytorch", "linux/arm64") == []
    path = repo.root / TORCH_ARM
    text = path.read_text(encoding="utf-8")
    x86 = text.replace(
        "# wheel: numpy==2.3.0 numpy-2.3.0-py3-none-any.whl",
        "# wheel: numpy==2.3.0 numpy-2.3.0-cp313-cp313-manylinux_2_28_x86_64.whl",
    )
    assert x86 != text
    path.write_text(x86, encoding="utf-8")
    assert locks.missing_wheel_problems(repo.root, "pytorch", "linux/arm64") == [
        f"{TORCH_ARM}: numpy==2.3.0 has no wheel for linux/arm64 (aarch64-manylinux_2_28); pin "
        "a version with one in pytorch/requirements-torch.in, then run: invoke lock"
    ]
    assert locks.missing_wheel_problems(repo.root, "pytorch", "linux/amd64") == []
    (repo.root / "jupyter/requirements.linux-arm64.lock.txt").unlink()
    assert locks.missing_wheel_problems(repo.root, "jupyter", "linux/arm64") == [
        "jupyter/requirements.in has no lock for linux/arm64 "
        "(jupyter/requirements.linux-arm64.lock.txt); run: invoke lock"
    ]


def test_an_sdist_passes_only_where_the_in_allows_it(repo: Repo) -> None:
    _lock_all(repo.root)
    path = repo.root / FULL_ARM
    sdist = path.read_text(encoding="utf-8").replace(
        "# wheel: pandas==3.1.1 pandas-3.1.1-py3-none-any.whl",
        "# sdist: pandas==3.1.1 pandas-3.1.1.tar.gz",
    )
    path.write_text(sdist, encoding="utf-8")
    problems = locks.missing_wheel_problems(repo.root, "pytorch", "linux/arm64")
    assert [p.split(": ")[1] for p in problems] == [
        "pandas==3.1.1 has no wheel for linux/arm64 (aarch64-manylinux_2_28); pin a version with "
        "one in pytorch/requirements-full.in, then run"
    ]
    repo.append("pytorch/requirements-full.in", "# kfimages: sdist pandas\n")
    assert locks.missing_wheel_problems(repo.root, "pytorch", "linux/arm64") == []
