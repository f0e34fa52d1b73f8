"""What the base image provides to every image: user, environment, tools, home skeleton, size."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from kfimages.settings import Settings
from kfimages.ship import security
from tests.harness.containers import TrackedContainer, TrackedContainers
from tests.harness.images import DerivedImages
from tests.images.base.root_mode import root_mode_image
from tests.images.base.shells import wait_for_command
from tests.images.conftest import ImageUnderTest

BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CONTRACT_ENV = {
    "NB_USER": "jovyan",
    "NB_UID": "1000",
    "NB_GID": "0",
    "HOME": "/home/jovyan",
    "SHELL": "/bin/bash",
    "HOME_TMP": "/tmp_home/jovyan",
    "SSL_CERT_FILE": BUNDLE,
    "REQUESTS_CA_BUNDLE": BUNDLE,
    "PIP_CERT": BUNDLE,
    "NODE_EXTRA_CA_CERTS": BUNDLE,
}


AS_ROOT: dict[str, Any] = {"user": "0", "entrypoint": ["env"]}
"""A command as root, without the init: the image as built refuses to run its init as root
(its s6 folders are jovyan's; base/README.md, "Root mode")."""


def _run(containers: TrackedContainers, script: str, **kwargs: Any) -> str:
    """The stdout of `bash -c script` run as the command of a container (through /init):
    the command's own, never mixed with what the image's services print."""
    return containers.run_to_exit(["bash", "-c", script], timeout=120, **kwargs).stdout


def test_image_config(docker_client: Any, image_ref_under_test: str) -> None:
    config = docker_client.images.get(image_ref_under_test).attrs["Config"]
    assert config["Entrypoint"] == ["/init"]
    assert config["User"] == "1000"
    assert not config.get("Cmd"), "no CMD: the init starts the services"
    env = dict(item.split("=", 1) for item in config["Env"])
    for key, value in CONTRACT_ENV.items():
        assert env.get(key) == value, key
    assert env.get("NB_PREFIX", "").startswith("/")
    assert env.get("LANG", "").lower().endswith((".utf-8", ".utf8"))
    assert env["S6_BEHAVIOUR_IF_STAGE2_FAILS"] == "2"
    assert int(env["S6_CMD_WAIT_FOR_SERVICES_MAXTIME"]) >= 0


def test_size(
    docker_client: Any,
    image_ref_under_test: str,
    image_under_test: ImageUnderTest,
    record_property: Any,
) -> None:
    size_mb = docker_client.images.get(image_ref_under_test).attrs["Size"] / 1e6
    budget = image_under_test.image.config.size_budget_mb
    print(f"{image_ref_under_test}: {size_mb:.1f} MB uncompressed (budget: {budget} MB)")
    record_property("image_size_mb", round(size_mb, 1))
    assert budget is not None, (
        f"{image_under_test.name} has no size budget: set size_budget_mb in "
        f"{image_under_test.image.folder}/image.yaml"
    )
    assert size_mb <= budget, f"{size_mb:.1f} MB is over the size budget of {budget} MB"


@pytest.fixture(scope="module")
def as_root(module_containers: TrackedContainers) -> TrackedContainer:
    """A container as root without the init (AS_ROOT), shared by the tests that only read."""
    return module_containers.run(["sleep", "infinity"], **AS_ROOT)


@pytest.fixture(scope="module")
def as_built(module_containers: TrackedContainers) -> TrackedContainer:
    """A container of the image as built (its init, its user), shared by the tests that only
    read; once its command runs, the init has run every start-up script."""
    c = module_containers.run(["sleep", "infinity"])
    wait_for_command(c)
    return c


def test_no_setuid_or_setgid_files(as_root: TrackedContainer) -> None:
    """No file with the setuid or setgid bit (each is a way to root for the notebook's user);
    directories may be setgid (fix-permissions)."""
    found = as_root.exec("find / -xdev -perm /6000 -type f", timeout=120).stdout
    assert found.split() == [], f"setuid/setgid files:\n{found}"


SECURITY_WINDOW = timedelta(days=14)
"""A fix of the security suite whose changelog entry is older than this at the image's build
must be in the image. The changelog's date (the only date the archive carries: the tracker
and snapshot services are not assumed reachable) is when the fix was prepared, before its
publication in `<suite>-security`, usually by a day, by more under an embargo; 14 days absorb
that and a lagging mirror, and still catch an image whose `apt-get upgrade` layer was
cached weeks before its build. Newer fixes are printed, not judged."""
_CHANGELOG_SCRIPT = r"""set -e
d=$(mktemp -d); cd "$d"
apt-get download -qq -o APT::Sandbox::User=root "$1=$2" >/dev/null 2>&1 || { echo none; exit 0; }
deb=$(ls ./*.deb); p=${1%%:*}
when=""
for f in changelog.Debian.gz changelog.gz; do
  [ -n "$when" ] || when=$(dpkg-deb --fsys-tarfile "$deb" | tar -x -O "./usr/share/doc/$p/$f" \
    2>/dev/null | zcat 2>/dev/null | sed -n 's/^ -- .*>  //p' | head -n 1)
done
link=$(dpkg-deb -c "$deb" | sed -n "s|.* \./usr/share/doc/$p -> ||p" | head -n 1)
cd / && rm -rf "$d"
if [ -n "$when" ]; then echo "date $when"; elif [ -n "$link" ]; then echo "link $link"
else echo none; fi
"""


def changelog_date(c: TrackedContainer, package: str, version: str) -> datetime | None:
    """The date of the newest changelog entry of `package` `version` (downloaded from the
    archive into the container; a package whose doc folder is a link to another binary
    package of its source is dated by that one), or None when it has none."""
    for _ in range(3):  # a link, at most twice
        answer = c.exec(["sh", "-c", _CHANGELOG_SCRIPT, "changelog", package, version]).stdout
        kind, _, rest = answer.strip().partition(" ")
        if kind == "date":
            return parsedate_to_datetime(rest)
        if kind != "link" or "/" in rest:
            return None
        package = rest
        policy = c.exec(["apt-cache", "policy", package]).stdout
        version = next((ln.split()[-1] for ln in policy.splitlines() if "Candidate:" in ln), "")
    return None


def test_security_updates_are_in_the_sources_and_applied(
    containers: TrackedContainers, docker_client: Any, image_ref_under_test: str
) -> None:
    """apt knows `<suite>-security` and `<suite>-updates`, and every fix of the security
    suite whose changelog entry is older than SECURITY_WINDOW at the image's build is in the
    image (needs Debian's archive). The fixes the image lacks are what `invoke outdated` reports
    (kfimages.ship.security: its packages older than the security suite's index); newer ones
    are printed: rebuild with `invoke build --refresh` to take them."""
    c = containers.run(["sleep", "infinity"], **AS_ROOT)  # root without the init (root mode)
    head = c.exec(
        "set -e; . /etc/os-release; echo $VERSION_CODENAME; apt-get update -qq; "
        "apt-cache policy | sed -n 's/.* \\([a-z]*-[a-z]*\\)\\/main .*/\\1/p' | sort -u",
        timeout=300,
    ).stdout
    codename, *suites = head.split()
    assert {f"{codename}-security", f"{codename}-updates"} <= set(suites), head
    built = datetime.fromisoformat(docker_client.images.get(image_ref_under_test).attrs["Created"])
    system = security.read_image_system(image_ref_under_test)
    index = security.IndexCache(security.security_uri(Settings.from_environ()))
    pending = index.fixes(system)
    missed = []
    for fix in pending:
        dated = changelog_date(c, fix.package, fix.fixed)
        print(f"security fix not in the image: {fix} (changelog entry of {dated})")
        if dated is None:
            missed.append(f"{fix.package} {fix.fixed} (no changelog to date it by)")
        elif dated <= built - SECURITY_WINDOW:
            missed.append(f"{fix} of {dated:%F}")
    print(f"image built {built:%F %T}; it lacks {len(pending)} security fixes of the archive now")
    assert not missed, (
        f"security fixes older than {SECURITY_WINDOW.days} days at the build ({built:%F}) are "
        f"not in the image: {'; '.join(missed)}; rebuild it with `invoke build --refresh`"
    )


def test_user_jovyan(containers: TrackedContainers) -> None:
    out = _run(containers, "id -u; id -g; id -Gn; getent passwd jovyan")
    assert "\n1000\n0\n" in f"\n{out}"
    assert "users" in out.split("\n")[2].split()
    assert "jovyan:x:1000:0::/home/jovyan:/bin/bash" in out


def test_random_uid_is_named_for_the_services(containers: TrackedContainers) -> None:
    """OpenShift's random uid has no passwd entry; what runs through with-contenv (services,
    their terminals) sees it as jovyan, also with a read-only root and no capabilities."""
    script = (
        "whoami >/dev/null 2>&1 && echo named || echo unnamed; "
        'with-contenv sh -c \'whoami; getent passwd "$(id -u)"; env -u HOME bash -c "echo ~"\''
    )
    out = _run(
        containers,
        script,
        user="4242:0",
        read_only=True,
        tmpfs={"/tmp": "", "/run": ""},
        cap_drop=["ALL"],
    )
    lines = out.splitlines()
    assert lines[0] == "unnamed", "the command itself keeps the plain environment"
    assert lines[1] == "jovyan"
    assert lines[2] == "jovyan:x:4242:0:jovyan:/home/jovyan:/bin/bash"
    assert lines[3] == "/home/jovyan", out


def test_named_uid_gets_no_nss_wrapper(as_built: TrackedContainer) -> None:
    out = as_built.exec("with-contenv sh -c 'echo \"preload=${LD_PRELOAD:-}\"; id -un'").stdout
    assert out.split() == ["preload=", "jovyan"]


def test_locale_and_tools(as_built: TrackedContainer) -> None:
    out = as_built.exec(
        "set -e; locale 2>&1 >/dev/null | (! grep .) && echo locale-ok; "
        "kubectl version --client; "
        "for t in curl git less tmux unzip nano s6-setuidgid s6-svscan s6-svc execlineb "
        "with-contenv /command/with-contenv /command/s6-setuidgid /run/s6/basedir/bin/halt; "
        "do command -v $t >/dev/null || { echo missing $t; exit 1; }; done; echo tools-ok; "
        "test -s $SSL_CERT_FILE && echo bundle-ok",
    ).stdout
    assert "locale-ok" in out, "locale warnings: the locale of LANG is not generated"
    assert "Client Version: v1." in out
    assert "tools-ok" in out
    assert "bundle-ok" in out


def test_https_trusts_the_platform_ca(
    containers: TrackedContainers, platform_ca: dict[str, dict[str, str]]
) -> None:
    """curl and git in a user's shell verify HTTPS with the system bundle plus the CA the
    platform mounts (here the host's local CAs: this machine reaches PyPI through a
    TLS-intercepting proxy, and no build-time CA is baked into the images)."""
    out = containers.run_to_exit(
        [
            "bash",
            "-lc",
            "curl -sS -o /dev/null -w 'curl %{http_code}\\n' https://pypi.org/simple/pip/; "
            "git ls-remote https://pypi.org/simple/pip/ 2>&1 | head -3; true",
        ],
        timeout=120,
        volumes=platform_ca,
    ).stdout
    assert "curl 200" in out, out
    assert "certificate" not in out.lower(), out
    # git's answer to an HTTP 404 (the URL is no repository): it got through verified TLS.
    # Any other failure (no connection, proxy) also names pypi.org, so look for this line.
    assert "repository 'https://pypi.org/simple/pip/' not found" in out, (
        f"git did not get an HTTP answer from pypi.org:\n{out}"
    )


def _home_listing(container: TrackedContainer) -> tuple[set[str], set[str]]:
    """(top-level names in $HOME_TMP, top-level names in $HOME) inside a running container."""
    skel = container.exec('ls -A "$HOME_TMP"').stdout
    home = container.exec('ls -A "$HOME"').stdout
    return set(skel.split()), set(home.split())


def _wait_home_filled(container: TrackedContainer) -> set[str]:
    def probe() -> set[str] | None:
        skel, home = _home_listing(container)
        return skel if skel and skel <= home else None

    return container.wait_until(probe, timeout=120, message="the skeleton copied into $HOME")


def test_empty_home_volume_gets_skeleton(containers: TrackedContainers, home_volume: str) -> None:
    c = containers.run(volumes={home_volume: {"bind": "/home/jovyan", "mode": "rw"}})
    skel = _wait_home_filled(c)
    print(f"skeleton: {sorted(skel)}")
    assert ".bashrc" in skel
    out = c.exec('touch "$HOME/new-file" && stat -c %g "$HOME/.bashrc"').stdout
    assert out.strip() == "0"


def test_tmpfs_home_random_uid_gets_skeleton(containers: TrackedContainers) -> None:
    c = containers.run(user="4242:0", tmpfs={"/home/jovyan": ""})
    _wait_home_filled(c)
    out = c.exec('stat -c "%u %g %A" "$HOME/.bashrc"').stdout
    owner, group, mode = out.split()
    assert (owner, group, mode[4:6]) == ("4242", "0", "rw")


def test_user_files_in_home_are_not_overwritten(
    containers: TrackedContainers, home_volume: str
) -> None:
    prepare = (
        "echo 'my own bashrc' > /mnt/home/.bashrc && mkdir -p /mnt/home/work && "
        "echo keep > /mnt/home/work/notes.txt && chown -R 1000:0 /mnt/home && chmod 775 /mnt/home"
    )
    containers.run_to_exit(
        ["-c", prepare],
        entrypoint=["bash"],
        user="0",
        volumes={home_volume: {"bind": "/mnt/home", "mode": "rw"}},
    )
    c = containers.run(volumes={home_volume: {"bind": "/home/jovyan", "mode": "rw"}})
    _wait_home_filled(c)
    assert c.read_file("/home/jovyan/.bashrc").strip() == "my own bashrc"
    assert c.read_file("/home/jovyan/work/notes.txt").strip() == "keep"


def test_init_as_root_and_s6_setuidgid(
    containers: TrackedContainers, derived_image: DerivedImages, image_ref_under_test: str
) -> None:
    """An image in root mode runs the init as root; jovyan through s6-setuidgid, and the home
    skeleton is copied as jovyan (more: test_root_mode.py)."""
    out = _run(
        containers,
        'id -u; s6-setuidgid "$NB_USER" id -u; stat -c %u "$HOME/.bashrc"',
        image=root_mode_image(derived_image, image_ref_under_test),
    )
    assert out.split() == ["0", "1000", "1000"]
