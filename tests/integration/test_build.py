"""`invoke build` against the real Docker Engine with tiny throwaway images."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kfimages import engine
from kfimages.build.plan import BuildRequest
from kfimages.build.report import (
    EXIT_BLOCKED,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    BuildReport,
    Result,
    Status,
    format_summary,
)
from kfimages.build.run import prepare
from kfimages.errors import UserError
from kfimages.repo.graph import load_graph
from kfimages.repo.inputs import INPUTS_LABEL
from kfimages.settings import Settings
from kfimages.ship import push
from tests.harness.http import free_port
from tests.harness.registry import Registry, RegistryProcess
from tests.integration.conftest import (
    Repo,
    artifact_image,
    docker,
    git,
    remove_images,
)

BUILT, REUSED, FAILED = Status.BUILT, Status.REUSED, Status.FAILED
BLOCKED, SKIPPED = Status.BLOCKED, Status.SKIPPED


def statuses(report: BuildReport) -> dict[str, str]:
    return {r.name: r.status for r in report.results}


def run_in(ref: str, command: str) -> str:
    return docker("run", "--rm", "--network", "none", ref, "sh", "-c", command).stdout


def labels(ref: str) -> dict[str, str]:
    data = json.loads(docker("image", "inspect", ref).stdout)[0]
    return dict(data["Config"]["Labels"] or {})


def test_parents_first_with_exact_parent_ref_and_labels(chain: Repo) -> None:
    report = chain.build("b", "c")
    assert report.exit_code == EXIT_OK
    assert [r.name for r in report.results] == ["a", "b", "c"]
    assert statuses(report) == {"a": BUILT, "b": BUILT, "c": BUILT}
    a, b, c = report.results
    assert b.started >= a.finished
    assert c.started >= a.finished
    # BASE_IMG is the parent's exact ref; the root gets the OS image ref.
    assert run_in(chain.ref("b"), "cat /b.base").strip() == chain.ref("a")
    assert run_in(chain.ref("a"), "cat /a.txt").strip() == "a from debian:trixie-slim"
    found = labels(chain.ref("b"))
    head = git(chain.path, "rev-parse", "HEAD")
    assert found["org.opencontainers.image.revision"] == head
    assert found["org.opencontainers.image.version"] == "t1"
    assert found["org.opencontainers.image.title"] == "b"
    assert found["org.opencontainers.image.source"] == str(chain.path.resolve())
    created = datetime.fromisoformat(found["org.opencontainers.image.created"])
    assert abs(datetime.now(UTC) - created) < timedelta(hours=1), created
    assert len(found[INPUTS_LABEL]) == 64


def test_second_run_reuses_and_changes_rebuild_only_what_changed(chain: Repo) -> None:
    assert chain.build("b", "c").exit_code == EXIT_OK
    started = time.monotonic()
    again = chain.build("b", "c")
    print(f"no-op rebuild of 3 images: {time.monotonic() - started:.2f}s")
    assert statuses(again) == {"a": REUSED, "b": REUSED, "c": REUSED}
    # Another tag, same inputs: reused and tagged, not rebuilt.
    retag = chain.build("b", tags=("t2", "latest"))
    assert statuses(retag) == {"a": REUSED, "b": REUSED}
    assert "same inputs as" in retag.results[1].reason
    assert docker("image", "inspect", chain.ref("b", "latest")).returncode == 0
    # An uncommitted change of b's files rebuilds b only.
    chain.write("b/payload.txt", "b changed\n")
    changed = chain.build("b", "c")
    assert statuses(changed) == {"a": REUSED, "b": BUILT, "c": REUSED}
    assert run_in(chain.ref("b"), "cat /b.txt").strip() == "b changed"
    # A dry run now plans reuse for what exists and a build for nothing else.
    plan = io.StringIO()
    assert chain.build("b", "c", tags=("t3",), dry_run=True, stream=plan).results == []
    actions = {line.split()[0]: line.split()[3:] for line in plan.getvalue().splitlines()[1:4]}
    assert set(actions) == {"a", "b", "c"}
    for name, action in actions.items():  # any local ref with the same inputs (t1, latest)
        assert action[0] == "reuse", plan.getvalue()
        assert action[1].startswith(f"{chain.registry}/{name}:"), plan.getvalue()
    assert actions["c"] == ["reuse", chain.ref("c")]
    assert docker("image", "inspect", chain.ref("a", "t3"), check=False).returncode != 0
    # --no-cache forces a rebuild of the whole plan.
    forced = chain.build("c", no_cache=True)
    assert statuses(forced) == {"a": BUILT, "c": BUILT}


def test_independent_images_build_in_parallel(slow_chain: Repo) -> None:
    chain = slow_chain
    report = chain.build("b", "c", jobs=2)
    assert statuses(report) == {"a": BUILT, "b": BUILT, "c": BUILT}
    _, b, c = report.results
    print(f"b: {b.started:.1f}..{b.finished:.1f}  c: {c.started:.1f}..{c.finished:.1f}")
    assert b.started < c.finished
    assert c.started < b.finished


def test_failed_branch_leaves_the_other_built(repo: Repo, os_image: str) -> None:
    repo.image("a", os_image, "RUN echo a > /a.txt")
    repo.image("good", "a", "RUN echo good > /good.txt")
    repo.image("bad", "a", "RUN echo about to fail && exit 7")
    repo.image("badchild", "bad", "RUN echo never")
    repo.image("badgrandchild", "badchild", "RUN echo never")
    repo.commit()
    report = repo.build("good", "badgrandchild", jobs=2)
    assert report.exit_code == EXIT_FAILED
    got = statuses(report)
    assert got == {
        "a": BUILT,
        "bad": FAILED,
        "good": BUILT,
        "badchild": SKIPPED,
        "badgrandchild": SKIPPED,
    }
    by_name = {r.name: r for r in report.results}
    assert by_name["badchild"].reason == "parent bad failed"
    assert by_name["badgrandchild"].reason == "parent bad failed"
    assert "exit code: 7" in by_name["bad"].reason
    summary = format_summary(report)
    print(summary)
    assert "parent bad failed" in summary
    assert "1 failed" in summary
    assert docker("image", "inspect", repo.ref("good")).returncode == 0
    assert docker("image", "inspect", repo.ref("badchild"), check=False).returncode != 0


def test_blocked_artifact_blocks_descendants_and_a_mirror_unblocks(
    repo: Repo, os_image: str, tmp_path: Path
) -> None:
    closed = free_port()
    repo.image("a", os_image, "RUN echo a > /a.txt")
    artifact_image(repo, "tool", "a", url=f"http://127.0.0.1:{closed}/tool.tar.gz")
    repo.image("toolchild", "tool", "RUN echo child")
    repo.image("other", "a", "RUN echo other")
    repo.commit()
    result = repo.invoke(
        "build", "toolchild,other", "--registry", repo.registry, "--tag", "t1", "--jobs", "2"
    )
    print(result.stdout[-2000:], result.stderr[-2000:])
    assert result.returncode == EXIT_BLOCKED
    summary = result.stdout[result.stdout.index("IMAGE  ") :]
    rows = {line.split()[0]: line for line in summary.splitlines()[1:-1]}
    assert f"{BLOCKED}" in rows["tool"]
    assert f"127.0.0.1:{closed}/tool.tar.gz" in rows["tool"]
    assert SKIPPED in rows["toolchild"]
    assert (
        f"parent tool blocked: artifact tool: cannot reach http://127.0.0.1:{closed}"
        in (rows["toolchild"])
    )
    assert BUILT in rows["other"]
    # A mirror given through the environment (here a local file) unblocks it.
    mirror = tmp_path / "tool.tar.gz"
    mirror.write_text("mirrored tool\n", encoding="utf-8")
    report = repo.build(
        "toolchild",
        environ={"KFIMAGES_BUILD_ARG_TOOL_URL": mirror.as_uri()},
    )
    assert statuses(report) == {"a": REUSED, "tool": BUILT, "toolchild": BUILT}
    assert run_in(repo.ref("tool"), "cat /opt/artifact/tool.tar.gz") == "mirrored tool\n"
    assert run_in(repo.ref("tool"), "cat /opt/url").strip() == mirror.as_uri()


def test_push_every_tag_to_a_real_registry(chain: Repo, registry: Registry) -> None:
    prefix = f"{registry.host}/{chain.registry}"
    report = chain.build("b", "c", registry=prefix, tags=("t1", "latest"), push=True)
    print(format_summary(report))
    assert report.exit_code == EXIT_OK
    for name in ("a", "b", "c"):
        assert registry.tags(f"{chain.registry}/{name}") == ["latest", "t1"]
    assert all(len(r.pushed) == 2 for r in report.results)


def test_nothing_pushed_when_one_image_fails(repo: Repo, os_image: str, registry: Registry) -> None:
    repo.image("a", os_image, "RUN echo a")
    repo.image("good", "a", "RUN echo good")
    repo.image("bad", "a", "RUN false")
    repo.commit()
    prefix = f"{registry.host}/{repo.registry}"
    report = repo.build("good", "bad", registry=prefix, push=True)
    assert report.exit_code == EXIT_FAILED
    assert statuses(report)["good"] == BUILT
    assert registry.catalog() == []
    assert all(not r.pushed for r in report.results)


def test_push_refuses_a_dirty_tree_and_a_baked_ca(
    chain: Repo, registry: Registry, tmp_path: Path
) -> None:
    prefix = f"{registry.host}/{chain.registry}"
    chain.write("b/new.txt", "uncommitted\n")
    with pytest.raises(UserError, match=r"uncommitted changes.*--allow-dirty"):
        chain.build("b", registry=prefix, push=True)
    assert registry.catalog() == [], "refused before anything was built or pushed"
    report = chain.build("b", registry=prefix, push=True, allow_dirty=True)
    assert report.exit_code == EXIT_OK
    chain.commit()
    with pytest.raises(UserError, match=r"baked CA.*--allow-baked-ca"):
        chain.build("b", registry=prefix, push=True, bake_ca_files=(_make_ca(tmp_path),))


def test_a_push_that_stops_half_way_moves_no_moving_tag(
    chain: Repo, registry_process: RegistryProcess, tmp_path: Path
) -> None:
    """The registry turns read-only after the first ref of the second push: every image's
    `latest` still names the first push's image, and the push fails (exit code 1)."""
    registry = Registry(host=registry_process.host)
    prefix = f"{registry.host}/{chain.registry}"
    first = chain.build("b", "c", registry=prefix, tags=("sha-1", "latest"), push=True)
    assert first.exit_code == EXIT_OK
    before = {n: registry.digest(f"{chain.registry}/{n}", "latest") for n in "abc"}
    chain.write("a/Dockerfile", (chain.path / "a/Dockerfile").read_text() + "RUN echo v2\n")
    chain.commit()
    request = BuildRequest(registry=prefix, tags=("sha-2", "latest"))
    assert chain.build("b", "c", registry=prefix, tags=("sha-2", "latest")).exit_code == EXIT_OK
    pushed: list[str] = []

    def push_then_stop(ref: str) -> tuple[bool, str]:
        ok, detail = engine.push(ref)
        pushed.append(ref)
        if len(pushed) == 1:
            registry_process.stop()
            registry_process.start(readonly=True)
        return ok, detail

    with tempfile.TemporaryDirectory() as work:
        steps = prepare(
            load_graph(chain.path), ["b", "c"], request, settings=Settings(), work=Path(work)
        )
        report = BuildReport(results=[Result(s.name, s.ref, Status.REUSED) for s in steps])
        assert not push.push_all(steps, report, push=push_then_stop)
    report.push_failed = True
    assert report.exit_code == EXIT_FAILED
    assert pushed[0] == f"{prefix}/a:sha-2"
    assert all(not ref.endswith(":latest") for ref in pushed), pushed
    after = {n: registry.digest(f"{chain.registry}/{n}", "latest") for n in "abc"}
    assert after == before
    assert "sha-2" in registry.tags(f"{chain.registry}/a")


def _summary_rows(stdout: str) -> dict[str, str]:
    table = stdout[stdout.index("IMAGE  ") :].splitlines()[1:-1]
    return {line.split()[0]: line for line in table}


@pytest.mark.parametrize("where", ["read-only registry", "no registry"])
def test_a_failing_push_exits_1_and_says_why(
    chain: Repo, readonly_registry: Registry, where: str
) -> None:
    """A real `docker push` that fails: a registry that refuses pushes (read-only mode), or
    one that is gone (a closed loopback port). The images are built; the push fails, the
    summary names the ref, and invoke exits 1."""
    host = readonly_registry.host if where == "read-only registry" else f"127.0.0.1:{free_port()}"
    prefix = f"{host}/{chain.registry}"
    result = chain.invoke("build", "b", "--registry", prefix, "--tag", "t1", "--push")
    print(result.stdout[-1500:], result.stderr[-1500:], sep="\n")
    assert result.returncode == EXIT_FAILED, result.stderr[-2000:]
    rows = _summary_rows(result.stdout)
    assert {name: row.split()[2] for name, row in rows.items()} == {"a": BUILT, "b": BUILT}
    assert f"push of {prefix}/a:t1 failed: " in rows["a"], rows
    assert result.stdout.splitlines()[-1].endswith("exit code 1")
    if where == "read-only registry":
        assert readonly_registry.catalog() == []


def _make_ca(tmp_path: Path) -> Path:
    key, crt = tmp_path / "test-ca.key", tmp_path / "test-ca.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=kfimages integration test CA", "-keyout", str(key), "-out", str(crt)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return crt


def _layers_holding(ref: str, needle: bytes, tmp_path: Path) -> list[str]:
    """The layers (and config) of a saved image whose files contain `needle`."""
    archive = tmp_path / "image.tar"
    docker("image", "save", "-o", str(archive), ref)
    found: list[str] = []
    with tarfile.open(archive) as outer:
        for member in outer.getmembers():
            data = outer.extractfile(member) if member.isfile() else None
            if data is None:
                continue
            blob = data.read()
            if needle in blob:
                found.append(member.name)
                continue
            with (
                contextlib.suppress(tarfile.TarError),
                tarfile.open(fileobj=io.BytesIO(blob)) as layer,
            ):
                for entry in layer.getmembers():
                    inner = layer.extractfile(entry) if entry.isfile() else None
                    if inner is not None and needle in inner.read():
                        found.append(f"{member.name}:{entry.name}")
    return found


def _ca_image(repo: Repo, os_image: str) -> None:
    """An image whose download step must see the build-time CA, and that bakes ca-certs."""
    repo.write(
        "a/Dockerfile",
        f"""
        ARG BASE_IMG={os_image}
        FROM scratch AS ca-certs
        FROM $BASE_IMG
        RUN --mount=type=secret,id=build-ca,mode=0444 \\
            grep -q "BEGIN CERTIFICATE" /run/secrets/build-ca && wc -c /run/secrets/build-ca
        COPY --from=ca-certs . /usr/local/share/ca-certificates/
        """,
    )
    repo.commit()


def test_build_time_ca_reaches_downloads_but_no_layer(
    repo: Repo, os_image: str, tmp_path: Path
) -> None:
    ca = _make_ca(tmp_path)
    body = ca.read_bytes().splitlines()[1]  # a line of the certificate's base64
    _ca_image(repo, os_image)
    out = io.StringIO()
    report = repo.build("a", ca_files=(ca,), stream=out)
    assert statuses(report) == {"a": BUILT}, out.getvalue()[-2000:]
    assert run_in(repo.ref("a"), "ls -A /usr/local/share/ca-certificates/").strip() == ""
    assert _layers_holding(repo.ref("a"), body, tmp_path) == []
    history = docker("image", "history", "--no-trunc", repo.ref("a")).stdout
    assert body.decode()[:40] not in history
    labels = docker("image", "inspect", "-f", "{{json .Config.Labels}}", repo.ref("a")).stdout
    assert "io.kfimages.baked-ca" not in labels
    (tmp_path / "other").mkdir()
    again = repo.build("a", ca_files=(_make_ca(tmp_path / "other"),), tags=("t2",))
    assert statuses(again) == {"a": REUSED}, "a build-time CA is not an input of the image"


def test_baked_ca_is_opt_in_labelled_and_an_input(
    repo: Repo, os_image: str, tmp_path: Path
) -> None:
    ca = _make_ca(tmp_path)
    body = ca.read_bytes().splitlines()[1]
    _ca_image(repo, os_image)
    baked = repo.build("a", bake_ca_files=(ca,))
    assert statuses(baked) == {"a": BUILT}
    listing = run_in(repo.ref("a"), "ls /usr/local/share/ca-certificates/").split()
    assert listing == ["00-test-ca.crt"]
    assert _layers_holding(repo.ref("a"), body, tmp_path) != []
    labels = docker("image", "inspect", "-f", "{{json .Config.Labels}}", repo.ref("a")).stdout
    assert '"io.kfimages.baked-ca":"' in labels
    without = repo.build("a", tags=("t2",))
    assert statuses(without) == {"a": BUILT}, "a baked CA is part of the inputs: no reuse"
    assert run_in(repo.ref("a", "t2"), "ls -A /usr/local/share/ca-certificates/").strip() == ""


def test_missing_os_image_is_bootstrapped_and_logged(
    repo: Repo, caplog: pytest.LogCaptureFixture
) -> None:
    os_ref = f"kfit-os-{uuid.uuid4().hex[:8]}:trixie"
    repo.image("root", os_ref, "RUN . /etc/os-release && echo $VERSION_CODENAME > /suite")
    repo.commit()
    try:
        with caplog.at_level(logging.INFO, logger="kfimages"):
            started = time.monotonic()
            report = repo.build("root")
            print(f"bootstrap + build: {time.monotonic() - started:.0f}s")
        assert statuses(report) == {"root": BUILT}
        text = caplog.text
        assert f"OS image {os_ref} is neither local nor pullable" in text
        assert f"OS image {os_ref}: bootstrapped with debootstrap trixie" in text
        assert run_in(repo.ref("root"), "cat /suite").strip() == "trixie"
        os_labels = labels(os_ref)
        assert os_labels["io.kfimages.os.suite"] == "trixie"
        assert os_labels["io.kfimages.os.mirror"] == "http://deb.debian.org/debian"
        date = datetime.fromisoformat(os_labels["io.kfimages.os.date"])
        assert abs(datetime.now(UTC) - date) < timedelta(minutes=15)
        summary = format_summary(report).splitlines()
        assert summary[0].startswith(f"OS image {os_ref} (sha256:"), summary
        assert "min old; debootstrap trixie from http://deb.debian.org/debian" in summary[0]
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="kfimages"):
            assert statuses(repo.build("root")) == {"root": REUSED}
        assert f"OS image {os_ref}: local" in caplog.text
        _refresh_rebuilds_the_root(repo, os_ref)
    finally:
        remove_images(os_ref.split(":", maxsplit=1)[0])


def _refresh_rebuilds_the_root(repo: Repo, os_ref: str) -> None:
    """`--refresh --dry-run` says it would refresh and touches nothing; `--refresh`
    re-creates the OS image (not pullable here: debootstrap again), whose new ID rebuilds
    the root; `invoke bootstrap` prints the OS image's age."""
    old_id = json.loads(docker("image", "inspect", os_ref).stdout)[0]["Id"]
    args = ("build", "root", "--registry", repo.registry, "--tag", "t1")
    dry = repo.invoke(*args, "--refresh", "--dry-run")
    assert dry.returncode == 0, dry.stderr[-2000:]
    last = dry.stdout.strip().splitlines()[-1]
    assert last.startswith(f"OS image {os_ref}: would be refreshed first"), dry.stdout
    assert dry.stdout.splitlines()[1].split()[3] == "build", "a refreshed OS: root rebuilt"
    assert json.loads(docker("image", "inspect", os_ref).stdout)[0]["Id"] == old_id
    fresh = repo.invoke(*args, "--refresh")
    print(fresh.stdout[-1200:], fresh.stderr[-1500:], sep="\n")
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert f"OS image {os_ref}: refreshing with debootstrap" in fresh.stderr
    assert json.loads(docker("image", "inspect", os_ref).stdout)[0]["Id"] != old_id
    assert _summary_rows(fresh.stdout)["root"].split()[2] == BUILT
    shown = repo.invoke("bootstrap", "--os-image", os_ref)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shown.stdout.splitlines()[0].startswith(f"{os_ref}: local (sha256:")
    assert shown.stdout.splitlines()[1].startswith(f"OS image {os_ref} (sha256:")
    assert " UTC, " in shown.stdout


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == EXIT_USAGE, result.stderr
    assert lines, result.stderr
    assert lines[-1].startswith("error: "), result.stderr
    return lines[-1]


def test_cli_builds_and_reports_errors_in_one_line(chain: Repo) -> None:
    ok = chain.invoke("build", "b", "--registry", chain.registry, "--tag", "t1")
    assert ok.returncode == 0, ok.stderr
    assert "IMAGE" in ok.stdout
    assert "1 built" not in ok.stdout  # a and b built
    assert "2 built" in ok.stdout
    # affected: only c changed (uncommitted), so the plan is a (reused) and c.
    chain.write("c/payload.txt", "c changed\n")
    aff = chain.invoke(
        "build", "affected", "--base", "HEAD", "--registry", chain.registry, "--tag", "t1"
    )
    assert aff.returncode == 0, aff.stderr
    table = aff.stdout[aff.stdout.index("IMAGE  ") :].splitlines()[1:-1]
    assert {line.split()[0]: line.split()[2] for line in table} == {"a": REUSED, "c": BUILT}
    error = _one_line_error(chain.invoke("build", "nope"))
    assert error == "error: unknown image 'nope'; valid names: a, b, c (see `invoke list`)"
    error = _one_line_error(chain.invoke("build", "affected", "--base", "no-such-ref"))
    assert "no-such-ref" in error
    error = _one_line_error(
        chain.invoke("build", "b", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    )
    assert "Docker daemon is not running" in error
    assert "scripts/install-docker.sh" in error


def _plugin_dir() -> Path | None:
    info = json.loads(docker("info", "--format", "{{json .ClientInfo.Plugins}}").stdout)
    for plugin in info or []:
        if plugin.get("Name") == "buildx":
            return Path(plugin["Path"]).parent
    return None


def test_cli_says_when_buildx_is_missing(chain: Repo, tmp_path: Path) -> None:
    plugins = _plugin_dir()
    if os.geteuid() != 0 or shutil.which("unshare") is None or plugins is None:
        pytest.skip("needs root and unshare to hide the buildx plugin in a mount namespace")
    empty = tmp_path / "no-plugins"
    empty.mkdir()
    hide = (
        "unshare", "--mount", "sh", "-c",
        f'mount --bind "{empty}" "{plugins}" && exec "$@"', "hide-buildx",
    )  # fmt: skip
    error = _one_line_error(chain.invoke("build", "b", prefix=hide))
    assert "buildx is missing" in error


# ------------------------------------------------------------------------ --dry-run


def _image_ids() -> set[str]:
    return set(docker("image", "ls", "-q", "--all", "--no-trunc").stdout.split())


def test_dry_run_prints_every_command_and_creates_no_image(chain: Repo) -> None:
    """Its time is printed, not judged (the bench measures planning time)."""
    before = _image_ids()
    started = time.monotonic()
    result = chain.invoke("build", "all", "--dry-run", "--registry", chain.registry, "--tag", "t1")
    elapsed = time.monotonic() - started
    print(result.stdout, result.stderr[-2000:], f"dry run: {elapsed:.2f}s", sep="\n")
    assert result.returncode == 0, result.stderr
    after = _image_ids()
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["IMAGE", "PARENT", "REF", "INPUTS", "ACTION"]
    rows = {line.split()[0]: line.split() for line in lines[1:4]}
    assert {n: row[1] for n, row in rows.items()} == {
        "a": "debian:trixie-slim",
        "b": chain.ref("a"),
        "c": chain.ref("a"),
    }
    assert {row[3] for row in rows.values()} == {"build"}
    commands = {
        line.removeprefix("# "): lines[i + 1] for i, line in enumerate(lines) if line[:2] == "# "
    }
    assert set(commands) == {"a", "b", "c"}
    digests = {}
    for name, command in commands.items():
        words = shlex.split(command)
        assert words[:5] == ["docker", "buildx", "build", "--progress=plain", "--load"]
        assert words[words.index("-t") + 1] == chain.ref(name)
        assert words[-1] == str(chain.path / name)
        label = next(w for w in words if w.startswith(f"{INPUTS_LABEL}="))
        digests[name] = label.split("=", 1)[1]
        assert digests[name].startswith(rows[name][2])
    # Nothing was built or tagged: no image under the throwaway prefix, and no new image
    # of the engine (other users of the engine may add theirs) carries a planned digest.
    assert docker("image", "ls", "-q", "--filter", f"reference={chain.registry}/*").stdout == ""
    for image_id in after - before:
        found = engine.image_labels(image_id)  # None: another test's image, removed since
        assert found is None or found.get(INPUTS_LABEL) not in digests.values(), (
            f"{image_id} was built by the dry run"
        )


@pytest.mark.parametrize(
    "args",
    [
        ("nope",),
        ("a", "--tag", "bad tag"),
        ("a", "--jobs", "0"),
        ("a", "--push"),
        ("affected", "--base", "no-such-ref"),
    ],
)
def test_dry_run_fails_like_a_real_build(chain: Repo, args: tuple[str, ...]) -> None:
    real = _one_line_error(chain.invoke("build", *args))
    dry = _one_line_error(chain.invoke("build", *args, "--dry-run"))
    assert dry == real
    assert docker("image", "ls", "-q", "--filter", f"reference={chain.registry}/*").stdout == ""
    assert docker("image", "ls", "-q", "--filter", "reference=kfnb/a").stdout == ""
