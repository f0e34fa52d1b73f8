"""`invoke outdated`'s parts that need no network: the registries' documents as they are shaped
(PyPI's project JSON, Posit's download URLs), the Debian security suite against an image's
dpkg status (real-format `Packages` and `status` text), the table and `--fail-on`, and the
command line's bad input (one line, exit 2). The registries and images themselves are in
tests/integration/test_pins.py."""

from __future__ import annotations

import pytest

from kfimages.author import outdated, pins, registries
from kfimages.errors import UserError
from kfimages.settings import Settings
from kfimages.ship import security
from tests.unit.conftest import Repo
from tests.unit.test_names_cli import NO_DAEMON, run_cli

SECURITY_INDEX = """Package: libzstd1
Source: libzstd
Version: 1.5.7+dfsg-1+deb13u1
Architecture: amd64
Filename: pool/updates/main/libz/libzstd/libzstd1_1.5.7+dfsg-1+deb13u1_amd64.deb

Package: login.defs
Source: shadow
Version: 1:4.17.4-2+deb13u1
Architecture: all

Package: openssl
Version: 3.5.1-1+deb13u1
Architecture: amd64

Package: openssl
Version: 3.5.1-1+deb13u2
Architecture: amd64

Package: aide
Version: 0.19.1-2+deb13u5
Architecture: amd64
"""
STATUS = """Package: libzstd1
Status: install ok installed
Architecture: amd64
Version: 1.5.7+dfsg-1

Package: login.defs
Status: install ok installed
Architecture: all
Version: 1:4.17.4-2

Package: openssl
Status: install ok installed
Architecture: amd64
Version: 3.5.1-1+deb13u3

Package: curl
Status: install ok installed
Architecture: amd64
Version: 8.14.1-2

Package: libzstd-dev
Status: deinstall ok config-files
Architecture: amd64
Version: 1.5.7+dfsg-1
"""


def test_missing_fixes_are_the_packages_older_than_the_security_suite() -> None:
    index = security.parse_index(SECURITY_INDEX)
    assert index[("openssl", "amd64")] == "3.5.1-1+deb13u2"  # the newest of the index
    system = security.parse_image_system(
        STATUS + "----kfimages-os-release----\nID=debian\nVERSION_CODENAME=trixie\n", arch="amd64"
    )
    assert (system.codename, len(system.packages)) == ("trixie", 4)  # config-files left out
    fixes = security.missing_fixes(system.packages, index, arch=system.arch)
    assert [str(f) for f in fixes] == [
        "libzstd1 1.5.7+dfsg-1 -> 1.5.7+dfsg-1+deb13u1",
        "login.defs 1:4.17.4-2 -> 1:4.17.4-2+deb13u1",
    ]  # openssl is newer than the suite's, curl and aide are not in both


def test_the_security_index_url_follows_the_suite_arch_and_override() -> None:
    assert security.index_url(security.DEFAULT_SECURITY_URI, codename="trixie", arch="arm64") == (
        "http://deb.debian.org/debian-security/dists/trixie-security/main/binary-arm64/Packages.xz"
    )
    mirror = Settings.from_environ({"KFIMAGES_BUILD_ARG_DEBIAN_SECURITY_URI": "http://m/sec"})
    assert security.security_uri(mirror) == "http://m/sec"
    assert security.security_uri(Settings()) == security.DEFAULT_SECURITY_URI


def test_pypi_documents_give_canonical_urls_and_the_newest_final_release() -> None:
    def entry(name: str, **extra: object) -> dict[str, object]:
        digests = {"sha256": "e" * 64, "blake2b_256": "0725ee" + "9" * 58}
        return {"filename": name, "url": "../../packages/x", "digests": digests, **extra}

    doc = {"releases": {
        "26.3": [entry("pip-26.3-py3-none-any.whl")],
        "26.10": [entry("pip-26.10-py3-none-any.whl")],
        "27.0rc1": [entry("pip-27.0rc1-py3-none-any.whl")],
        "27.0": [entry("pip-27.0-py3-none-any.whl", yanked=True)],
        "25.0": [],
    }}  # fmt: skip
    project = registries.parse_project("pip", doc)
    assert project.newest == "26.10"  # not the pre-release, not the yanked, numeric order
    assert project.files("26.3")[0].url == (
        f"https://files.pythonhosted.org/packages/07/25/ee{'9' * 58}/pip-26.3-py3-none-any.whl"
    )
    with pytest.raises(UserError, match=r"^PyPI has no release 27.0 of pip \(newest: 26.10\)"):
        project.files("27.0")


def test_posit_s_latest_url_and_versions_come_from_the_pinned_url() -> None:
    pinned = (
        "https://download2.rstudio.org/server/jammy/amd64/rstudio-server-2026.01.1-403-amd64.deb"
    )
    assert registries.posit_latest_url(pinned) == (
        "https://rstudio.org/download/latest/stable/server/jammy/rstudio-server-latest-amd64.deb"
    )
    assert registries.posit_version(pinned) == "2026.01.1+403"
    with pytest.raises(registries.Unreachable, match="not a Posit server download URL"):
        registries.posit_latest_url("https://example.org/rstudio.deb")


def _row(name: str, version: str, newest: str) -> outdated.Row:
    place = pins.Place("x/requirements.in", 1, "requirement", f"{name}=={version}")
    pin = pins.Pin(name, version, pins.REQUIREMENT, pins.Source(pins.PYPI, name), (place,))
    return outdated.Row(pin, newest, "" if newest else "cannot reach pypi.org")


def test_rows_say_the_kind_of_bump_and_why_a_pin_is_unknown() -> None:
    rows = [_row("a", "1.2.3", "2.0.0"), _row("b", "1.2.3", "1.3.0"), _row("c", "1.2.3", "1.2.4"),
            _row("d", "1.2.3", "1.2.3"), _row("e", "1.2.3", "")]  # fmt: skip
    assert [r.bump for r in rows] == ["major", "minor", "patch", "current", "unknown here"]
    lines = outdated.render_pins(rows)
    assert lines[0].split() == ["PIN", "PINNED", "NEWEST", "BUMP", "REGISTRY", "WHERE"]
    assert lines[-1] == "e: unknown here: cannot reach pypi.org"


def test_fail_on_security_and_any() -> None:
    fix = security.Fix("libzstd1", "1.5.7+dfsg-1", "1.5.7+dfsg-1+deb13u1")
    lacking = outdated.ImageSecurity("base", "kfnb/base:latest", built=True, fixes=(fix,))
    clean = outdated.ImageSecurity("base", "kfnb/base:latest", built=True)
    absent = outdated.ImageSecurity("jupyter", "kfnb/jupyter:latest", built=False)
    stale, unknown = [_row("a", "1.0", "1.1")], [_row("e", "1.0", "")]
    assert outdated.failures(stale + unknown, [lacking], fail_on="") == []
    assert outdated.failures(stale + unknown, [clean, absent], fail_on="security") == []
    assert outdated.failures([], [lacking], fail_on="security") == ["base lacks security fixes"]
    assert outdated.failures(stale + unknown, [clean], fail_on="any") == [
        "a 1.0 -> 1.1", "e: unknown here"
    ]  # fmt: skip
    blind = outdated.ImageSecurity("base", "r", built=True, problem="cannot read ...")
    assert outdated.failures([], [blind], fail_on="security") == [
        "base: security fixes unknown here"
    ]
    assert (
        "rebuild it (invoke build base --refresh): libzstd1"
        in outdated.render_security([lacking])[0]
    )
    with pytest.raises(UserError, match="--fail-on some: choose one of security, any"):
        outdated.fail_on("some")


def test_pins_of_an_image_are_its_own_and_its_ancestors(repo: Repo) -> None:
    repo.image("base", "debian:trixie-slim")
    repo.write("base/Dockerfile", "ARG BASE_IMG=debian:trixie-slim\nFROM $BASE_IMG\n"
               "ARG KUBECTL_VERSION=1.32.0\n")  # fmt: skip
    repo.image("jupyter", "base")
    repo.write("jupyter/requirements.in", "jupyterlab==4.6.6\n")
    repo.image("pytorch", "jupyter", variant="cpu")
    repo.write("pytorch/requirements-torch.in", "torch==2.11.0\n")
    repo.image("codeserver", "base")
    graph = repo.graph()

    def names(*images: str) -> list[str]:
        return [p.name for p in outdated.pins_of(graph, images)]

    assert names("pytorch.cpu") == ["kubectl", "jupyterlab", "torch"]
    assert names("codeserver") == ["kubectl"]
    assert names("jupyter", "codeserver") == ["kubectl", "jupyterlab"]


@pytest.fixture
def cli_repo(chain: Repo, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.chdir(chain.root)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    return chain


@pytest.mark.parametrize(
    ("given", "error"),
    [
        (("nope",), "error: unknown image 'nope'; valid names: base, codeserver, jupyter, "),
        (("all", "--fail-on", "some"), "error: --fail-on some: choose one of security, any"),
        (("jupyter", "--base", "HEAD"), "error: --base only goes with `affected`"),
    ],
)
def test_outdated_s_bad_input_is_one_line_and_exit_2(
    cli_repo: Repo, given: tuple[str, ...], error: str
) -> None:
    done = run_cli(cli_repo, "outdated", *given)
    assert (done.code, done.stdout) == (2, ""), done.stderr
    assert done.stderr.startswith(error)
    assert len(done.stderr.strip().splitlines()) == 1


def test_outdated_without_names_reads_every_image(cli_repo: Repo) -> None:
    """No NAMES means all: the pin table (this repository has none) is printed, then the
    images' check needs the engine."""
    done = run_cli(cli_repo, "outdated")
    assert done.code == 2
    assert done.stderr.startswith(NO_DAEMON), done.stderr
    assert done.stdout.split() == ["PIN", "PINNED", "NEWEST", "BUMP", "REGISTRY", "WHERE"] + [
        "-" * len(h) for h in ("PIN", "PINNED", "NEWEST", "BUMP", "REGISTRY", "WHERE")
    ]


def test_bump_s_bad_input_is_one_line_and_exit_2(cli_repo: Repo) -> None:
    done = run_cli(cli_repo, "bump", "nope")
    assert (done.code, done.stdout) == (2, "")
    assert done.stderr.strip() == "error: unknown pin 'nope'; pins: (none) (see `invoke outdated`)"
