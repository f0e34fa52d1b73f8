"""kfimages.author.lock: discovery, header parsing, and the offline check (`invoke lock --check`,
`nox -s lint`) on real files in a temporary repository; the resolver (uv) is not run: the
locks are written as `invoke lock` writes them (render_header + hashed pins)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfimages.author import lock
from kfimages.errors import UserError
from tests.unit.conftest import Repo

HASH_A = "sha256:" + "a" * 64
HASH_B = "sha256:" + "b" * 64


def _pins(*pins: str) -> str:
    """Lock body in uv's format: each pin with two hashes and a `# via` comment."""
    return "".join(
        f"{pin} \\\n    --hash={HASH_A} \\\n    --hash={HASH_B}\n    # via -r x.in\n"
        for pin in pins
    )


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
    for spec in specs:
        _write_lock(root, spec, bodies[spec.lock])
    return specs


def test_discover_by_convention_parents_first_with_inputs(repo: Repo) -> None:
    specs = {s.source: s for s in lock.discover(repo.root)}
    order = [s.source for s in lock.discover(repo.root)]
    assert order == [
        "jupyter/requirements.in",
        "pytorch/requirements-torch.in",
        "pytorch/requirements-full.in",
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


def test_index_url_of_the_in_file(repo: Repo) -> None:
    repo.write("pytorch/requirements-torch.in", "--index-url https://mirror.example/cpu/\ntorch\n")
    specs = {s.source: s for s in lock.discover(repo.root)}
    assert specs["pytorch/requirements-torch.in"].index_url == "https://mirror.example/cpu"


def test_header_round_trip(repo: Repo) -> None:
    specs = _lock_all(repo.root)
    text = (repo.root / specs[2].lock).read_text(encoding="utf-8")
    header = lock.parse_header(text)
    assert header is not None
    assert header.fields == {
        "resolver": "uv 0.13.9",
        "python": lock.PYTHON_VERSION,
        "platform": lock.PYTHON_PLATFORM,
        "index-url": lock.DEFAULT_INDEX,
    }
    assert header.inputs == {p: lock.sha256_file(repo.root / p) for p in specs[2].inputs}
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
        "since; run: invoke lock"
    ]


def test_parent_lock_changed_makes_children_stale(repo: Repo) -> None:
    specs = _lock_all(repo.root)
    _write_lock(repo.root, specs[0], _pins("jupyterlab==4.6.7"))
    problems = lock.check_locks(repo.root)
    assert len(problems) == 2, problems
    assert all("jupyter/requirements.lock.txt changed" in p for p in problems), problems
    assert {p.split()[0] for p in problems} == {
        "pytorch/requirements-torch.lock.txt",
        "pytorch/requirements-full.lock.txt",
    }


def test_missing_hash_missing_lock_missing_header_orphan(repo: Repo) -> None:
    specs = _lock_all(repo.root)
    full = repo.root / specs[2].lock  # the last lock: no other lock takes it as input
    text = full.read_text(encoding="utf-8")
    one_hash = text.replace(f"pandas==3.1.1 \\\n    --hash={HASH_A} \\\n", "pandas==3.1.1 \\\n")
    assert one_hash != text
    full.write_text(one_hash, encoding="utf-8")
    assert lock.check_locks(repo.root) == []  # one hash is enough for pip
    full.write_text(text + "scipy==1.17.1\n", encoding="utf-8")
    line = len(text.splitlines()) + 1
    assert lock.check_locks(repo.root) == [
        f"pytorch/requirements-full.lock.txt: line {line}: scipy==1.17.1 has no --hash; "
        "run: invoke lock"
    ]
    full.write_text(_pins("pandas==3.1.1"), encoding="utf-8")
    (repo.root / specs[1].lock).unlink()
    repo.write("pytorch/requirements-old.lock.txt", _pins("x==1"))
    problems = lock.check_locks(repo.root)
    assert problems[0].startswith("pytorch/requirements-torch.lock.txt is missing"), problems
    assert problems[1].startswith("pytorch/requirements-full.lock.txt has no '# kfimages lock'")
    assert problems[2].startswith("pytorch/requirements-old.lock.txt has no .in"), problems
    assert len(problems) == 3, problems


def test_header_for_another_python_is_reported(repo: Repo) -> None:
    specs = _lock_all(repo.root)
    path = repo.root / specs[2].lock
    path.write_text(path.read_text().replace("# python: 3.13", "# python: 3.12"))
    assert lock.check_locks(repo.root) == [
        "pytorch/requirements-full.lock.txt was locked for python 3.12, not 3.13; run: invoke lock"
    ]


def test_parent_constraints_leave_out_what_the_in_names(repo: Repo) -> None:
    specs = _lock_all(repo.root)
    full = specs[2]
    # jupyter's requests==2.34.2 is not a constraint: requirements-full.in names requests.
    assert lock.parent_constraints(full, repo.root) == "jupyterlab==4.6.6\n"
    assert lock.parent_constraints(specs[1], repo.root) == ("jupyterlab==4.6.6\nrequests==2.34.2\n")


def test_reference_outside_the_repository_or_missing_is_an_error(repo: Repo) -> None:
    repo.write("jupyter/requirements.in", "-r ../../elsewhere.txt\n")
    with pytest.raises(UserError, match="outside the repository"):
        lock.discover(repo.root)
    repo.write("jupyter/requirements.in", "-r extra.txt\n")
    with pytest.raises(UserError, match=r"extra\.txt does not exist"):
        lock.discover(repo.root)
    repo.write("jupyter/extra.txt", "-c more.txt\n")
    repo.write("jupyter/more.txt", "six==1\n")
    specs = {s.source: s for s in lock.discover(repo.root)}
    assert specs["jupyter/requirements.in"].inputs == (
        "jupyter/requirements.in",
        "jupyter/extra.txt",
        "jupyter/more.txt",
    )


def test_repository_locks_are_fresh() -> None:
    """The repository's own locks match their inputs (what `nox -s lint` checks)."""
    root = Path(__file__).resolve().parents[2]
    assert lock.check_locks(root) == []
