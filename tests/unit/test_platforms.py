"""Target platforms (kfimages.platforms): parsing --platform, the refs' suffixes, and the
emulator check, against a binfmt_misc folder of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfimages import platforms
from kfimages.errors import UserError

HOST = platforms.host_platform()
FOREIGN = "linux/arm64" if HOST == "linux/amd64" else "linux/amd64"


def test_parse_keeps_order_and_drops_duplicates() -> None:
    assert platforms.parse("") == (HOST,)
    assert platforms.parse("linux/arm64, linux/amd64,linux/arm64") == ("linux/arm64", "linux/amd64")


@pytest.mark.parametrize("value", ["linux/s390x", "arm64", "linux/amd64,windows/amd64"])
def test_parse_rejects_unknown_platforms(value: str) -> None:
    with pytest.raises(UserError, match=r"unknown platform .*use one or more of linux/amd64"):
        platforms.parse(value)


def test_suffixes() -> None:
    assert platforms.tag_suffix("linux/arm64", host="linux/amd64") == "-arm64"
    assert platforms.tag_suffix("linux/amd64", host="linux/amd64") == ""
    assert platforms.qualify("debian:trixie-slim", "linux/arm64", host="linux/amd64") == (
        "debian:trixie-slim-arm64"
    )
    assert platforms.push_suffix("linux/amd64") == "-amd64", "in a registry the host's too"


def test_a_foreign_platform_needs_an_enabled_emulator(tmp_path: Path) -> None:
    entry = "qemu-aarch64" if FOREIGN == "linux/arm64" else "qemu-x86_64"
    platforms.check_runnable([HOST], binfmt=tmp_path)  # the host's needs none
    with pytest.raises(UserError, match="apt-get install qemu-user-static binfmt-support") as err:
        platforms.check_runnable([HOST, FOREIGN], binfmt=tmp_path)
    assert "\n" not in str(err.value)
    (tmp_path / entry).write_text("disabled\ninterpreter /usr/libexec/qemu-binfmt/x\n")
    with pytest.raises(UserError, match="not an enabled binfmt_misc entry"):
        platforms.check_runnable([FOREIGN], binfmt=tmp_path)
    (tmp_path / entry).write_text("enabled\ninterpreter /usr/libexec/qemu-binfmt/x\nflags: PF\n")
    platforms.check_runnable([HOST, FOREIGN], binfmt=tmp_path)


def test_a_plan_names_the_missing_emulator_instead_of_failing(tmp_path: Path) -> None:
    """A dry run plans a foreign platform on any host, with a note (run.format_dry_run)."""
    entry = "qemu-aarch64" if FOREIGN == "linux/arm64" else "qemu-x86_64"
    assert platforms.runnable_notes([HOST], binfmt=tmp_path) == []
    notes = platforms.runnable_notes([FOREIGN, HOST], binfmt=tmp_path)
    assert len(notes) == 1
    assert notes[0].startswith(f"not runnable here yet: building for {FOREIGN} on this")
    (tmp_path / entry).write_text("enabled\ninterpreter /usr/libexec/qemu-binfmt/x\n")
    assert platforms.runnable_notes([HOST, FOREIGN], binfmt=tmp_path) == []
