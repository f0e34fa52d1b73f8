"""The OS image (kfimages.build.bootstrap) without Docker or debootstrap: the keyring is required,
the bootstrapped image is labelled with its origin, a refresh pulls else bootstraps, the age
line; and `--refresh` in the build model (the root's parent digest, the dry run)."""

from __future__ import annotations

import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kfimages import engine
from kfimages.build import bootstrap
from kfimages.build.bootstrap import (
    LABEL_PREFIX,
    MAX_AGE_DAYS,
    REFRESH_HINT,
    OsImage,
    check_keyring,
    debootstrap_command,
    describe,
    ensure_os_image,
    import_changes,
    origin_labels,
)
from kfimages.build.dryrun import format_dry_run
from kfimages.build.plan import BuildRequest, Step
from kfimages.build.report import BuildReport, Result, Status, format_summary
from kfimages.build.run import prepare
from kfimages.errors import UserError
from kfimages.settings import Settings
from tests.unit.conftest import Repo

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
OS_REF = "debian:trixie-slim"


# ------------------------------------------------------------------------ keyring


def test_missing_keyring_stops_the_bootstrap_before_debootstrap_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[Any] = []
    monkeypatch.setattr("kfimages.build.bootstrap.shutil.which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr("kfimages.build.bootstrap.os.geteuid", lambda: 0)

    def fake_run(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        ran.append(args)
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr("kfimages.build.bootstrap.subprocess.run", fake_run)
    missing = tmp_path / "debian-archive-keyring.gpg"
    with pytest.raises(UserError) as error:
        bootstrap._debootstrap(
            suite="trixie", target=tmp_path / "root", mirror="m", keyring=missing
        )
    assert str(error.value) == (
        f"Debian's archive keyring {missing} is missing, so debootstrap could not verify what "
        "it downloads; install it: apt-get install debian-archive-keyring"
    )
    assert ran == [], "debootstrap ran without the keyring (unverified)"


def test_debootstrap_always_checks_signatures_with_the_keyring(tmp_path: Path) -> None:
    keyring = tmp_path / "k.gpg"
    keyring.write_bytes(b"keys")
    check_keyring(keyring)  # present: no error
    cmd = debootstrap_command(suite="trixie", target=tmp_path / "r", mirror="http://m/debian",
                              keyring=keyring)  # fmt: skip
    assert cmd[:2] == ["debootstrap", "--variant=minbase"]
    assert "--force-check-gpg" in cmd
    assert f"--keyring={keyring}" in cmd
    assert cmd[-3:] == ["trixie", str(tmp_path / "r"), "http://m/debian"]


# ------------------------------------------------------------------------- labels


def test_bootstrapped_image_is_labelled_with_suite_mirror_and_date() -> None:
    labels = origin_labels(
        suite="trixie", mirror="http://m/debian", date="2026-11-27T12:00:00+00:00"
    )
    changes = import_changes(labels)
    pairs = list(zip(changes[::2], changes[1::2], strict=True))
    assert all(flag == "--change" for flag, _ in pairs)
    values = [value for _, value in pairs]
    assert f'LABEL {LABEL_PREFIX}suite="trixie"' in values
    assert f'LABEL {LABEL_PREFIX}mirror="http://m/debian"' in values
    assert f'LABEL {LABEL_PREFIX}date="2026-11-27T12:00:00+00:00"' in values
    assert 'CMD ["bash"]' in values


# ------------------------------------------------------------------------ refresh


def _fake_engine(
    monkeypatch: pytest.MonkeyPatch, *, pull_ok: bool, image_id: str = "sha256:new"
) -> list[str]:
    """engine with a pull that works or not; the list collects bootstrapped refs."""
    bootstrapped: list[str] = []
    monkeypatch.setattr(engine, "pull", lambda ref, timeout: (pull_ok, "" if pull_ok else "no"))
    monkeypatch.setattr(engine, "inspect_image", lambda ref: {"Id": image_id})

    def fake_bootstrap(
        *, ref: str, suite: str | None = None, mirror: str | None = None, platform: str = ""
    ) -> OsImage:
        bootstrapped.append(ref)
        return OsImage(ref=ref, origin="bootstrapped", image_id="sha256:debootstrapped")

    monkeypatch.setattr(bootstrap, "bootstrap_os_image", fake_bootstrap)
    return bootstrapped


def test_refresh_pulls_when_it_can(monkeypatch: pytest.MonkeyPatch) -> None:
    bootstrapped = _fake_engine(monkeypatch, pull_ok=True)
    assert ensure_os_image(OS_REF, refresh=True) == OsImage(OS_REF, "pulled", "sha256:new")
    assert bootstrapped == []


def test_refresh_bootstraps_a_local_image_again_when_it_cannot_pull(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bootstrapped = _fake_engine(monkeypatch, pull_ok=False)
    assert ensure_os_image(OS_REF, refresh=True).origin == "bootstrapped"
    assert bootstrapped == [OS_REF]
    with pytest.raises(UserError, match="cannot refresh OS image debian:trixie-slim"):
        ensure_os_image(OS_REF, refresh=True, allow_bootstrap=False)


# ---------------------------------------------------------------------------- age


def _data(
    age: timedelta, labels: dict[str, str] | None = None, *, now: datetime = NOW
) -> dict[str, Any]:
    created = (now - age).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")  # docker's nanoseconds
    return {"Id": "sha256:" + "ab" * 32, "Created": created, "Config": {"Labels": labels}}


def test_describe_shows_age_and_origin() -> None:
    labels = origin_labels(suite="trixie", mirror="http://m/debian", date="x")
    line = describe(OS_REF, _data(timedelta(hours=2), labels), now=NOW)
    assert line == (
        "OS image debian:trixie-slim (sha256:abababababab): created 2026-11-27 10:00 UTC, 2 h "
        "old; debootstrap trixie from http://m/debian"
    )
    assert "45 min old" in describe(OS_REF, _data(timedelta(minutes=45)), now=NOW)


def test_describe_says_to_refresh_an_old_image() -> None:
    old = describe(OS_REF, _data(timedelta(days=MAX_AGE_DAYS + 60)), now=NOW)
    assert "90 days old" in old
    assert old.endswith(f"; {REFRESH_HINT}")
    young = describe(OS_REF, _data(timedelta(days=MAX_AGE_DAYS - 1)), now=NOW)
    assert REFRESH_HINT not in young
    unknown = describe(OS_REF, {"Id": "sha256:x", "Created": ""}, now=NOW)
    assert "creation date unknown" in unknown
    assert REFRESH_HINT in unknown


def test_summary_shows_the_os_image_line_above_the_table() -> None:
    report = BuildReport(
        results=[Result(name="a", ref="r/a:t", status=Status.BUILT)],
        notes=["OS image debian:trixie-slim (sha256:ab): created 2026-11-27 10:00 UTC, 2 h old"],
    )
    lines = format_summary(report).splitlines()
    assert lines[0].startswith("OS image debian:trixie-slim")
    assert lines[1].split() == ["IMAGE", "REF", "STATUS", "TIME", "REASON"]
    assert lines[-1].endswith("exit code 0")


# ----------------------------------------------------------- --refresh in the model


def _steps(chain: Repo, monkeypatch: pytest.MonkeyPatch, request: BuildRequest) -> list[Step]:
    """The plan of `jupyter` (base is the root) with a fake engine whose OS image is
    sha256:old and whose refresh (pull, else bootstrap) gives sha256:refreshed."""
    monkeypatch.setattr(engine, "check_docker", lambda: None)
    # 90 days before the real clock: the dry run describes the OS image's age against it.
    created = datetime.now(UTC)
    monkeypatch.setattr(
        engine,
        "inspect_image",
        lambda ref: _data(timedelta(days=90), now=created) | {"Id": "sha256:old"},
    )
    monkeypatch.setattr(engine, "image_labels", lambda ref: None)
    monkeypatch.setattr(engine, "find_by_label", lambda **kw: [])
    monkeypatch.setattr(
        "kfimages.build.run.ensure_os_image",
        lambda ref, **kw: (
            OsImage(ref=ref, origin="pulled", image_id="sha256:refreshed")
            if kw.get("refresh")
            else OsImage(ref=ref, origin="local", image_id="sha256:old")
        ),
    )
    with tempfile.TemporaryDirectory() as tmp:
        return prepare(chain.graph(), ["jupyter"], request, settings=Settings(), work=Path(tmp))


def test_refresh_gives_the_root_a_new_parent_digest(
    chain: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = {s.name: s.inputs for s in _steps(chain, monkeypatch, BuildRequest())}
    fresh = {s.name: s.inputs for s in _steps(chain, monkeypatch, BuildRequest(refresh_os=True))}
    assert plain["base"].parent == "sha256:old"
    assert fresh["base"].parent == "sha256:refreshed"
    assert fresh["base"].digest != plain["base"].digest
    assert fresh["jupyter"].digest != plain["jupyter"].digest, "the child is rebuilt too"


def test_dry_run_says_it_would_refresh(chain: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    request = BuildRequest(refresh_os=True, dry_run=True)
    steps = _steps(chain, monkeypatch, request)
    plain = _steps(chain, monkeypatch, BuildRequest(dry_run=True))
    assert steps[0].inputs.digest != plain[0].inputs.digest, "not the current OS image's plan"
    text = format_dry_run(steps, root=chain.root, refresh=True)
    last = text.splitlines()[-1]
    print(text)
    assert last.startswith(
        "OS image debian:trixie-slim: would be refreshed first (pull, else debootstrap)"
    )
    assert "90 days old" in last
    assert REFRESH_HINT in last
    assert "would be refreshed" not in format_dry_run(plain, root=chain.root)
